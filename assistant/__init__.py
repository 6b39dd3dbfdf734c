"""Retrieval-augmented Q&A over a folder of news articles, with every answer cited.

from assistant import Assistant
a = Assistant()            # docs_corpus/ and index/ by default
a.ingest()
print(a.ask("What was the U.S. tariff on Chinese goods after the Geneva talks?").text)
"""

from . import _offline, logs

_offline.apply()  # before any third-party import reads its settings
logs.configure()  # ASSISTANT_LOG_LEVEL

from .api import Assistant  # noqa: E402
from .config import Settings  # noqa: E402
from .errors import (  # noqa: E402
    AssistantError,
    BackendError,
    CorpusError,
    DiskFullError,
    DocumentError,
    IndexBusyError,
    IndexCorruptError,
    IndexFormatError,
    IndexNotFoundError,
    IndexUnavailableError,
    InvalidQuestionError,
    ModelError,
)
from .indexing.ingest import IngestReport  # noqa: E402
from .results import Answer, Citation, Context, Passage, TimelineRow  # noqa: E402

__all__ = [
    "Answer",
    "Assistant",
    "AssistantError",
    "BackendError",
    "Citation",
    "Context",
    "CorpusError",
    "DiskFullError",
    "DocumentError",
    "IndexBusyError",
    "IndexCorruptError",
    "IndexFormatError",
    "IndexNotFoundError",
    "IndexUnavailableError",
    "IngestReport",
    "InvalidQuestionError",
    "ModelError",
    "Passage",
    "Settings",
    "TimelineRow",
]
