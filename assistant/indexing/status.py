"""Index status: which articles the index holds, and which files changed since the last ingest. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from .ingest import IngestReport, is_stale, load_corpus
from .store import DocEntry, read_manifest


@dataclass
class IndexStatus:
    built: bool
    documents: dict[str, DocEntry]  # doc_id -> what the index holds
    pending: list[str]  # doc_ids whose file is new, changed or gone since the last ingest

    def summary(self) -> str:
        if not self.built:
            return "not built yet"
        chunks = sum(d.chunks for d in self.documents.values())
        state = "current" if not self.pending else f"{len(self.pending)} change(s) not indexed yet"
        return f"{state} ({len(self.documents)} articles, {chunks} chunks)"


def index_status(settings: Settings) -> IndexStatus:
    """Compare the corpus folder with the manifest, without writing anything. On a shared index (a Chroma
    server) the documents are the server's, and an article this folder lacks is not pending: an ingest
    would not remove it (ingest.py), nor add back one removed for everyone."""
    manifest = read_manifest(settings)
    if manifest is None:
        return IndexStatus(False, {}, [])
    report = IngestReport()
    docs = load_corpus(settings.corpus_dir, report) if settings.corpus_dir.is_dir() else {}
    unreadable = {Path(p).stem for p in report.skipped}
    stale = is_stale(manifest, settings)
    pending = [
        d
        for d, doc in docs.items()
        if (stale or d not in manifest.documents or doc.content_hash != manifest.documents[d].content_hash)
        and manifest.removed.get(d) != doc.content_hash
    ]
    if not settings.shared_index:
        pending += [d for d in manifest.documents if d not in docs and d not in unreadable]
    return IndexStatus(True, manifest.documents, sorted(pending))
