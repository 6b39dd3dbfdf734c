"""The on-disk index: Chroma (vectors), the chunk table (texts), BM25 beside them, and a manifest.

Layout under index_dir:
    chroma/         chromadb.PersistentClient, collection "articles", cosine space; a row per chunk: its
                    vector, and its doc_id as metadata
    chunks.sqlite3  a row per chunk: its text and what cites it (assistant.chunk_table)
    bm25/           the keyword index, rebuilt from the chunk table whenever the chunks change
    manifest.json   per document: content hash, chunk count, title, source, when indexed; plus the
                    format version, the chunking fingerprint and a revision that the BM25 index must match
Every write of the manifest is atomic (write, fsync, rename), so an interrupted ingest leaves either
the old or the new entry, and the next ingest compares the per-document counts of Chroma and the chunk
table with it to repair.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chunk_table import ChunkTable
from .errors import IndexCorruptError, IndexFormatError, IndexNotFoundError

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode

COLLECTION = "articles"
PAGE = 5000  # chunks per Chroma get() or add()
# 2: a chunk's text in its Chroma row's metadata, not a Chroma document; 3: in the chunk table
MANIFEST_VERSION = 3


@dataclass
class DocEntry:
    content_hash: str
    chunks: int
    title: str
    source: str
    indexed_at: float


@dataclass
class Manifest:
    fingerprint: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, DocEntry] = field(default_factory=dict)
    revision: int = 0
    version: int = MANIFEST_VERSION

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            docs = {k: DocEntry(**v) for k, v in raw["documents"].items()}
            return cls(raw["fingerprint"], docs, int(raw["revision"]), int(raw["version"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(
                f"the index manifest {path} is unreadable ({exc.__class__.__name__}); "
                "run `assistant ingest` to rebuild the index"
            ) from None

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


class IndexStore:
    def __init__(self, index_dir: Path, manifest: Manifest) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self._collection: Any = None
        self.table = ChunkTable(index_dir / "chunks.sqlite3")

    # --- opening -------------------------------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: Path) -> IndexStore:
        """Open an existing index for reading; raises IndexNotFoundError / IndexCorruptError."""
        manifest_path = index_dir / "manifest.json"
        if not manifest_path.exists():
            raise IndexNotFoundError(f"no index at {index_dir}/: build it with `assistant ingest`")
        store = cls(index_dir, Manifest.load(manifest_path))
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
    def open_for_update(cls, index_dir: Path) -> tuple[IndexStore, str | None]:
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
        if self._collection is None:
            import chromadb

            try:
                client = chromadb.PersistentClient(
                    path=str(self.index_dir / "chroma"),
                    settings=_chroma_settings().model_copy(),  # a copy: the client writes its path in it
                )
                self._collection = client.get_or_create_collection(
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

    # --- writing -------------------------------------------------------------------------------------

    def save_manifest(self) -> None:
        self.manifest.save(self.index_dir / "manifest.json")

    def chunk_counts(self) -> dict[str, int | None]:
        """Chunks per doc_id as the index holds them (the truth the manifest is checked against); None where
        Chroma and the chunk table disagree (a write was interrupted between them)."""
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

    def delete_documents(self, doc_ids: list[str]) -> None:
        self.collection.delete(where={"doc_id": {"$in": doc_ids}})
        self.table.delete_documents(doc_ids)

    def replace_documents(self, nodes_by_doc: dict[str, list[TextNode]]) -> None:
        """Delete every chunk of these documents, then add the new ones (each node carries its embedding)."""
        self.delete_documents(list(nodes_by_doc))
        self.add([node for doc_nodes in nodes_by_doc.values() for node in doc_nodes])

    def add(self, nodes: list[TextNode]) -> None:
        self.table.add([(node.node_id, node.text, node.metadata) for node in nodes])
        for start in range(0, len(nodes), PAGE):
            page = nodes[start : start + PAGE]
            self.collection.add(
                ids=[node.node_id for node in page],
                embeddings=[node.embedding for node in page],
                metadatas=[{"doc_id": node.metadata["doc_id"]} for node in page],
            )

    # --- reading -------------------------------------------------------------------------------------

    def nearest(self, vector: list[float], n: int) -> list[tuple[str, float]]:
        """(chunk_id, cosine) of the n chunks nearest to vector, best first. Ids and distances only:
        with the candidates' texts and metadata the same query took ≈ 13 ms at 10,000 chunks, not 1.5 ms."""
        found = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        # In cosine space Chroma's distance is 1 - cosine.
        return [(cid, 1.0 - dist) for cid, dist in zip(found["ids"][0], found["distances"][0], strict=True)]

    def chunks(self, ids: list[str]) -> dict[str, tuple[TextNode, list[float]]]:
        """The chunks with these ids that both Chroma and the chunk table hold, each with its vector."""
        rows = self.table.get(ids)
        if not rows:
            return {}
        got = self.collection.get(ids=list(rows), include=["embeddings"])
        return {
            cid: (chunk_node(cid, *rows[cid]), list(vector))
            for cid, vector in zip(got["ids"], got["embeddings"], strict=True)
        }

    # --- keyword index -------------------------------------------------------------------------------

    @property
    def bm25_dir(self) -> Path:
        return self.index_dir / "bm25"

    def bm25_current(self) -> bool:
        """Built from the chunks as they are now (the manifest's revision), in this format."""
        from .keyword_index import is_keyword_index

        try:
            revision = int((self.bm25_dir / "revision").read_text())
        except (OSError, ValueError):
            return False
        return revision == self.manifest.revision and is_keyword_index(self.bm25_dir)

    def rebuild_bm25(self) -> None:
        from .keyword_index import build_keyword_index

        tmp = self.index_dir / "bm25.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        build_keyword_index(self.table.texts(), tmp)
        (tmp / "revision").write_text(str(self.manifest.revision))
        old = self.index_dir / "bm25.old"
        shutil.rmtree(old, ignore_errors=True)
        if self.bm25_dir.exists():
            os.replace(self.bm25_dir, old)
        os.replace(tmp, self.bm25_dir)
        shutil.rmtree(old, ignore_errors=True)


def chunk_node(chunk_id: str, text: str, metadata: dict[str, Any]) -> TextNode:
    """A chunk as a LlamaIndex node. Its metadata (doc_id, title, offsets, ...) is for citing, not for
    reading: none of it goes into the text that is embedded, keyword-indexed or shown to a model."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    node = TextNode(id_=chunk_id, text=text, metadata=metadata)
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=str(metadata["doc_id"]))
    node.excluded_embed_metadata_keys = list(metadata)
    node.excluded_llm_metadata_keys = list(metadata)
    return node


@functools.cache
def _chroma_settings() -> Any:
    """Built once: pydantic-settings reading the environment took 5-8 ms of every client."""
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False)


def _forget_chroma_clients() -> None:
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
