"""The index store: what ingest and retrieval need of an index backend, and the manifest it keeps.

A backend holds, for every chunk, its vector, its text and what cites it (doc_id, title, source, offsets),
plus a manifest: per document its content hash, chunk count, title, source, when it was indexed, its
published date, outlet and author, and which article it is a copy of (if any); for the
whole index its format, the chunking fingerprint and a revision that is bumped before every change. Ingest
writes through `add` / `delete` / `save_manifest`; retrieval reads through `query` / `get` and the keyword
index, which the backend keeps current with the revision (`revision`). Keyword search is always ours
(bm25s): Chroma's own open-source builds have none (docs/design.md).

`open_store`, `updating` and `read_manifest` choose the backend from the settings: the embedded one
(`embedded_store.EmbeddedStore`: Chroma on disk, a SQLite chunk table, BM25 files), or with `chroma_url` a
Chroma server shared by any number of processes and machines (`server_store.ServerStore`).
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorruptError

if TYPE_CHECKING:
    from ..config import Settings
    from .chunking import Chunk
    from .keyword_index import KeywordIndex

# The index format. 2: a chunk's text in its Chroma row's metadata, not a Chroma document; 3: texts and
# citation metadata in the chunk table, Chroma rows hold the vector and doc_id only.
MANIFEST_VERSION = 3


@dataclass
class DocEntry:
    content_hash: str
    chunks: int
    title: str
    source: str
    indexed_at: float
    # What the article says of itself (indexing/article_meta.py); None when it does not say. Manifests
    # written before these existed load with None.
    published: str | None = None
    outlet: str | None = None
    author: str | None = None
    # For a copy of another article's story (indexing/copies.py): the doc_id of the copy retrieval shows
    # instead; None for every other article. Manifests written before copies were found load with None.
    copy_of: str | None = None


@dataclass
class Manifest:
    fingerprint: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, DocEntry] = field(default_factory=dict)
    revision: int = 0
    version: int = MANIFEST_VERSION
    copy_detector: int = 0  # which copies.DETECTOR set the documents' copy_of (0: none yet)
    # On a shared index (a Chroma server): the articles removed for everyone, doc_id -> the content hash
    # removed, which an ingest from a corpus folder does not add back (an upload does). Embedded: empty.
    removed: dict[str, str] = field(default_factory=dict)

    def copies_of(self) -> dict[str, list[str]]:
        """For each article shown in place of copies: their doc_ids."""
        copies: dict[str, list[str]] = {}
        for doc_id, entry in sorted(self.documents.items()):
            if entry.copy_of is not None:
                copies.setdefault(entry.copy_of, []).append(doc_id)
        return copies

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            docs = {k: DocEntry(**v) for k, v in raw["documents"].items()}
            removed = {str(k): str(v) for k, v in raw.get("removed", {}).items()}
            return cls(
                raw["fingerprint"],
                docs,
                int(raw["revision"]),
                int(raw["version"]),
                copy_detector=int(raw.get("copy_detector", 0)),
                removed=removed,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"the index manifest {path} is unreadable ({exc.__class__.__name__}); "
                "run `assistant ingest` to rebuild the index"
            ) from None

    def save(self, path: Path) -> None:
        """Atomically (write, fsync, rename): an interrupted save leaves the old manifest or the new one."""
        tmp = path.with_suffix(".json.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


class StoreClosedError(Exception):
    """The store was closed under a query (the index was reopened at a newer revision): ask the new one."""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the store gives it back: its text, what cites it, and its vector."""

    chunk_id: str
    text: str
    doc_id: str
    title: str
    source: str
    start: int
    end: int
    vector: list[float]

    @classmethod
    def of(cls, chunk_id: str, text: str, meta: dict[str, Any], vector: Any) -> StoredChunk:
        """From a stored text, its citation metadata (chunking.Chunk.metadata) and its vector."""
        return cls(
            chunk_id=chunk_id,
            text=text,
            doc_id=str(meta["doc_id"]),
            title=str(meta["title"]),
            source=str(meta.get("source", "")),
            start=int(meta["start"]),
            end=int(meta["end"]),
            vector=list(vector),
        )


class IndexStore(ABC):
    """An index backend. Documents are written whole: `delete` their chunks, then `add` the new ones."""

    manifest: Manifest
    where: str  # where the index is, for messages: "in index/", "on the Chroma server at http://..."

    @property
    def revision(self) -> int:
        """Bumped (and saved) before every change: a keyword index built at another revision is stale."""
        return self.manifest.revision

    @abstractmethod
    def save_manifest(self) -> None: ...

    # Whether a second store of the same index can be opened while this one still answers. A Chroma server's
    # stores are views over HTTP: yes. An embedded folder's Chroma client is one per folder in a process, so
    # the old store must be closed before the new one opens.
    opens_beside: bool = False

    @abstractmethod
    def outdated(self) -> bool:
        """Whether another process has since finished a change of the index (a newer revision, its keyword
        index built): this store still shows the old one, and a reader should open the index again."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the vector store. A query after it raises StoreClosedError; the texts stay readable."""

    @abstractmethod
    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Store the chunks with their vectors (the same order)."""

    @abstractmethod
    def delete(self, doc_ids: list[str]) -> None:
        """Every chunk of these documents."""

    @abstractmethod
    def query(self, vector: list[float], n: int, doc_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, cosine) of the n chunks nearest to vector, best first (of the articles `doc_ids` only,
        when given)."""

    @abstractmethod
    def get(self, ids: list[str]) -> dict[str, StoredChunk]:
        """The chunks with these ids that the store holds whole (text and vector)."""

    @abstractmethod
    def size(self) -> int:
        """How many chunks the store holds."""

    @abstractmethod
    def chunk_counts(self) -> dict[str, int | None]:
        """Chunks per doc_id as the store holds them (the truth the manifest is checked against); None for a
        document the store holds in part (a write was interrupted)."""

    @abstractmethod
    def texts(self) -> dict[str, str]:
        """Every chunk's text by id, in the order they were written (what the keyword index is built from)."""

    @abstractmethod
    def keyword_index_current(self) -> bool:
        """Whether the keyword index was built from the chunks as they are now (this revision)."""

    @abstractmethod
    def rebuild_keyword_index(self) -> None: ...

    @abstractmethod
    def keyword_index(self) -> KeywordIndex | None:
        """The current keyword index (None: no chunks); IndexCorruptError if it is stale or unreadable."""

    def article_texts(self) -> dict[str, str]:
        """Every article's text as its chunks hold it, chunks in order (overlapping sentences repeated)."""
        parts: dict[str, list[tuple[int, str]]] = {}
        for chunk_id, text in self.texts().items():
            doc, span, _ = chunk_id.rsplit(":", 2)  # "<doc_id>:<start>-<end>:<digest>[@<version>]"
            parts.setdefault(doc, []).append((int(span.split("-")[0]), text))
        return {doc: "\n".join(t for _, t in sorted(p)) for doc, p in parts.items()}

    def replace(self, chunks_by_doc: dict[str, list[Chunk]], vectors: list[list[float]]) -> None:
        """Delete every chunk of these documents, then add the new ones (vectors in the same order)."""
        self.delete(list(chunks_by_doc))
        self.add([chunk for chunks in chunks_by_doc.values() for chunk in chunks], vectors)


def doc_of(chunk_id: str) -> str:
    """The doc_id a chunk id begins with: "<doc_id>:<start>-<end>:<digest>[@<version>]"."""
    return chunk_id.rsplit(":", 2)[0]


def read_manifest(settings: Settings) -> Manifest | None:
    """The index's manifest without opening the rest of it; None when no index has been built."""
    if settings.shared_index:
        from .server_store import ServerStore

        return ServerStore.read_manifest(settings)
    from .embedded_store import EmbeddedStore

    return EmbeddedStore.read_manifest(settings.index_dir)


def open_store(settings: Settings, before: IndexStore | None = None) -> IndexStore:
    """The index for reading; IndexNotFoundError / IndexCorruptError (IndexFormatError) say what is wrong,
    IndexUnavailableError that its Chroma server cannot be reached. `before`: this process's store of the
    index's revision before, still answering, which a Chroma server's new store is updated from."""
    if settings.shared_index:
        from .server_store import ServerStore

        return ServerStore.open(settings, before)
    from .embedded_store import EmbeddedStore

    return EmbeddedStore.open(settings.index_dir)


@contextmanager
def updating(settings: Settings, before: IndexStore | None = None) -> Iterator[tuple[IndexStore, str | None]]:
    """The index for ingest, with this process its only writer for the block, closed after: (store, a note
    saying what was done to open it, or None).

    Embedded: the `flock` of writer_lock.py, the index created when missing, a damaged one moved aside and
    rebuilt, one in another format rebuilt in place. On a Chroma server: the writer lease of lease.py, and
    what a writer that died left half-written taken out first (server_store.py). Either waits up to
    `settings.write_wait` seconds for another writer, then raises IndexBusyError with nothing changed.
    `before`: as for open_store (a Chroma server's writer reads the texts of the articles changed since)."""
    if settings.shared_index:
        from .server_store import ServerStore

        with ServerStore.updating(settings, before) as server_store:
            yield server_store, None
        return
    from .embedded_store import EmbeddedStore
    from .writer_lock import writer_lock

    with writer_lock(settings.index_dir, settings.write_wait):
        store, note = EmbeddedStore.open_for_update(settings.index_dir)
        try:
            yield store, note
        finally:
            store.close()
