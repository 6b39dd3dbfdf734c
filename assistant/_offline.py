"""Switch off every outbound call the stack makes on its own.

Imported first by the package, before any third-party import: several libraries read these variables
once, at import time. A user who has a network may override any of them in the environment.
"""

import importlib.util
import os
from pathlib import Path

_SWITCHES = {
    "HF_HUB_OFFLINE": "1",  # sentence-transformers / transformers would ask the hub for model files
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",  # Gradio's version check and analytics
    "ANONYMIZED_TELEMETRY": "False",  # Chroma's posthog telemetry
    "RAGAS_DO_NOT_TRACK": "true",  # ragas posts analytics on every LLM call
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def _tiktoken_cache() -> str | None:
    """llama-index-core ships the tiktoken BPE files; without this tiktoken downloads them."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    return str(folder) if folder.is_dir() else None


def apply() -> None:
    for name, value in _SWITCHES.items():
        os.environ.setdefault(name, value)
    cache = _tiktoken_cache()
    if cache:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", cache)
