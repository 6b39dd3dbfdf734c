"""The embedded index backend: Chroma on disk (vectors), the chunk table (texts), BM25 files, a manifest.

Layout under index_dir:
    chroma/         chromadb.PersistentClient, collection "articles", cosine space; a row per chunk: its
                    vector, and its doc_id as metadata
    chunks.sqlite3  a row per chunk: its text and what cites it (chunk_table)
    bm25/           the keyword index, rebuilt from the chunk table whenever the chunks change
    manifest.json   see store.Manifest
Every write of the manifest is atomic, so an interrupted ingest leaves either the old or the new entry, and
the next ingest compares the per-document counts of Chroma and the chunk table with it to repair.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IndexCorruptError, IndexFormatError, IndexNotFoundError
from .chunk_table import ChunkTable
from .store import MANIFEST_VERSION, IndexStore, Manifest, StoreClosedError, StoredChunk

if TYPE_CHECKING:
    from .chunking import Chunk
    from .keyword_index import KeywordIndex

COLLECTION = "articles"
PAGE = 5000  # chunks per Chroma get() or add()


class EmbeddedStore(IndexStore):
    def __init__(self, index_dir: Path, manifest: Manifest) -> None:
        self.index_dir = index_dir
        self.where = f"in {index_dir}/"
        self.manifest = manifest
        self._client: Any = None
        self._collection: Any = None
        self._closed = False
        # Chroma calls and close() take turns: a query never runs on a client being closed.
        self._chroma_lock = threading.RLock()
        self.table = ChunkTable(index_dir / "chunks.sqlite3")
        self._manifest_seen = _stat(index_dir / "manifest.json")

    # --- opening -------------------------------------------------------------------------------------

    @staticmethod
    def read_manifest(index_dir: Path) -> Manifest | None:
        path = index_dir / "manifest.json"
        return Manifest.load(path) if path.exists() else None

    @classmethod
    def open(cls, index_dir: Path) -> EmbeddedStore:
        """Open an existing index for reading; raises IndexNotFoundError / IndexCorruptError."""
        manifest_path = index_dir / "manifest.json"
        if not manifest_path.exists():
            raise IndexNotFoundError(f"no index at {index_dir}/: build it with `assistant ingest`")
        seen = _stat(manifest_path)  # before reading it: a save in between is seen as a change
        store = cls(index_dir, Manifest.load(manifest_path))
        store._manifest_seen = seen
        if store.manifest.version != MANIFEST_VERSION:
            raise IndexFormatError(
                f"the index in {index_dir}/ was built by another version of the assistant "
                f"(format {store.manifest.version}, this one reads {MANIFEST_VERSION}); "
                "run `assistant ingest` to rebuild it"
            )
        store.collection  # noqa: B018 - fail now, with a clear message, if Chroma cannot open
        store.table.check()
        return store

    @classmethod
    def open_for_update(cls, index_dir: Path) -> tuple[EmbeddedStore, str | None]:
        """Open or create; a corrupt index is moved aside and rebuilt, one in another format is rebuilt in
        place. Returns (store, note)."""
        note = None
        if (index_dir / "manifest.json").exists():
            try:
                return cls.open(index_dir), None
            except IndexFormatError:  # an empty manifest: every document is indexed again, old rows replaced
                # The old keyword index goes: its revision could match the new manifest's.
                shutil.rmtree(index_dir / "bm25", ignore_errors=True)
                note = f"the index in {index_dir}/ was built by another version of the assistant: rebuilt it"
            except IndexCorruptError as exc:
                aside = index_dir.with_name(f"{index_dir.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
                _forget_chroma_clients()  # chromadb caches one client per path, holding the old files open
                shutil.move(str(index_dir), str(aside))
                note = f"{exc}; moved it to {aside} and rebuilt"
        elif index_dir.exists() and any(index_dir.iterdir()) and not (index_dir / "chroma").exists():
            raise IndexCorruptError(f"{index_dir}/ exists and is not an index; choose another --index folder")
        index_dir.mkdir(parents=True, exist_ok=True)
        store = cls(index_dir, Manifest())
        store.collection  # noqa: B018
        store.table.create()
        return store, note

    @property
    def collection(self) -> Any:
        with self._chroma_lock:
            if self._closed:
                raise StoreClosedError(str(self.index_dir))
            if self._collection is None:
                import chromadb

                try:
                    self._client = chromadb.PersistentClient(
                        path=str(self.index_dir / "chroma"),
                        settings=chroma_settings().model_copy(),  # a copy: the client writes its path in it
                    )
                    self._collection = self._client.get_or_create_collection(
                        COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
                    )
                    self._collection.count()
                except Exception as exc:  # chromadb raises many kinds for a damaged folder
                    raise IndexCorruptError(
                        f"the vector store in {self.index_dir}/chroma cannot be opened "
                        f"({exc.__class__.__name__}: "
                        f"{str(exc)[:200]}); run `assistant ingest` to rebuild the index"
                    ) from None
            return self._collection

    def close(self) -> None:
        """Chroma keeps one client per folder in a process and its vector index in memory: a process that
        goes on reading after another one wrote must close every client of the folder, so the next one
        reads the files afresh (docs/design.md, "Several processes, one index")."""
        with self._chroma_lock:
            self._closed = True
            if self._client is not None:
                self._client.close()
            self._client = self._collection = None

    def outdated(self) -> bool:
        """The manifest changed on disk (a stat, nothing read while it has not), to a newer revision whose
        keyword index is built (the last step of an ingest: one still running is not waited for)."""
        seen = _stat(self.index_dir / "manifest.json")
        if seen == self._manifest_seen:
            return False
        on_disk = self.read_manifest(self.index_dir)
        if on_disk is None or on_disk.revision == self.revision:
            self._manifest_seen = seen
            return False
        return self._keyword_index_revision() == on_disk.revision

    # --- writing -------------------------------------------------------------------------------------

    def save_manifest(self) -> None:
        self.manifest.save(self.index_dir / "manifest.json")
        self._manifest_seen = _stat(self.index_dir / "manifest.json")

    def chunk_counts(self) -> dict[str, int | None]:
        """None where Chroma and the chunk table disagree (a write was interrupted between them)."""
        vectors: dict[str, int] = {}
        for page in self._pages(["metadatas"]):
            for meta in page["metadatas"] or []:
                doc_id = str(meta.get("doc_id"))
                vectors[doc_id] = vectors.get(doc_id, 0) + 1
        texts = self.table.counts()
        return {d: (n if texts.get(d) == n else None) for d, n in vectors.items()} | {
            d: None for d in texts if d not in vectors
        }

    def _pages(self, include: list[str]) -> Iterator[dict[str, Any]]:
        """Every chunk in pages: one get() of all of them fails in SQLite ("too many SQL variables")
        somewhere below 100,000 chunks."""
        for offset in itertools.count(0, PAGE):
            page = self.collection.get(include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page

    def delete(self, doc_ids: list[str]) -> None:
        self.collection.delete(where={"doc_id": {"$in": doc_ids}})
        self.table.delete_documents(doc_ids)

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        self.table.add([(chunk.chunk_id, chunk.text, chunk.metadata()) for chunk in chunks])
        for start in range(0, len(chunks), PAGE):
            page = chunks[start : start + PAGE]
            self.collection.add(
                ids=[chunk.chunk_id for chunk in page],
                embeddings=vectors[start : start + PAGE],
                metadatas=[{"doc_id": chunk.doc_id} for chunk in page],
            )

    # --- reading -------------------------------------------------------------------------------------

    def query(self, vector: list[float], n: int, doc_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """Ids and distances only: with the candidates' texts and metadata the query takes several times as
        long (docs/design.md). `doc_ids`: Chroma filters on the chunks' doc_id metadata."""
        where: Any = {"doc_id": {"$in": sorted(doc_ids)}} if doc_ids else None
        with self._chroma_lock:
            found = self.collection.query(
                query_embeddings=[vector], n_results=n, where=where, include=["distances"]
            )
        # In cosine space Chroma's distance is 1 - cosine.
        return [(cid, 1.0 - dist) for cid, dist in zip(found["ids"][0], found["distances"][0], strict=True)]

    def get(self, ids: list[str]) -> dict[str, StoredChunk]:
        """Both stores must hold a chunk: its text and metadata from the table, its vector from Chroma."""
        rows = self.table.get(ids)
        if not rows:
            return {}
        with self._chroma_lock:
            got = self.collection.get(ids=list(rows), include=["embeddings"])
        return {
            cid: StoredChunk.of(cid, *rows[cid], vector)
            for cid, vector in zip(got["ids"], got["embeddings"], strict=True)
        }

    def size(self) -> int:
        return int(self.collection.count())

    def texts(self) -> dict[str, str]:
        return self.table.texts()

    # --- keyword index -------------------------------------------------------------------------------

    @property
    def bm25_dir(self) -> Path:
        return self.index_dir / "bm25"

    def keyword_index_current(self) -> bool:
        """Built from the chunks as they are now (the manifest's revision), in this format."""
        from .keyword_index import is_keyword_index

        return self._keyword_index_revision() == self.revision and is_keyword_index(self.bm25_dir)

    def _keyword_index_revision(self) -> int | None:
        """The revision the keyword index on disk was built at (None: none, or unreadable)."""
        try:
            return int((self.bm25_dir / "revision").read_text())
        except (OSError, ValueError):
            return None

    def rebuild_keyword_index(self) -> None:
        from .keyword_index import build_keyword_index

        tmp = self.index_dir / "bm25.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        build_keyword_index(self.texts(), tmp)
        (tmp / "revision").write_text(str(self.revision))
        old = self.index_dir / "bm25.old"
        shutil.rmtree(old, ignore_errors=True)
        if self.bm25_dir.exists():
            os.replace(self.bm25_dir, old)
        os.replace(tmp, self.bm25_dir)
        shutil.rmtree(old, ignore_errors=True)

    def keyword_index(self) -> KeywordIndex | None:
        from .keyword_index import load_keyword_index

        if not self.keyword_index_current():
            raise IndexCorruptError(
                f"the keyword index in {self.bm25_dir} does not match the vector store "
                "(an ingest was interrupted?); run `assistant ingest` to repair it"
            )
        try:
            return load_keyword_index(self.bm25_dir)
        except (OSError, ValueError) as exc:  # bm25s's files damaged (its revision and ids are in place)
            raise IndexCorruptError(
                f"the keyword index in {self.bm25_dir} cannot be read ({exc.__class__.__name__}); "
                "delete that folder and run `assistant ingest` to rebuild it"
            ) from None


def _stat(path: Path) -> tuple[int, int, int] | None:
    """What tells a replaced file from the one read before (saves are write-and-rename: a new inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@functools.cache
def chroma_settings() -> Any:
    """Built once: pydantic-settings reading the environment is a measurable part of every client."""
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def _forget_chroma_clients() -> None:
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
