"""The index on a Chroma server (`chroma run`, ASSISTANT_CHROMA_URL), shared by any number of processes on
any machines: everything an app process needs is on the server, nothing of the index on its disk.

Two collections:
    assistant_chunks  a row per chunk: its vector, its text (the row's document) and what cites it (doc_id,
                      title, source, start, end), with `version`: the digest of its document's chunk ids,
                      which also ends the row's id ("<chunk id>@<version>")
    assistant_state   records, with a 1-d placeholder vector: "index" (format, chunking fingerprint,
                      revision, done, done_by), "doc:<doc_id>" (the manifest's DocEntry and the version of
                      its chunks), "gone:<doc_id>" (an article removed for everyone: its content hash) and
                      "lease" (lease.py)

Consistency without transactions (docs/design.md, "A shared index on a Chroma server"):
- One writer at a time: the writer lease (lease.py). Everything below holds with the lease alone, and its
  writes are idempotent besides: two writers of the same article write the same ids.
- A document is written as a whole new chunk set (upsert), then its record, then the rows of its old set
  are deleted; a removal deletes the record first, then the rows. So a record always names a complete set,
  and rows that no record names (a document half-written, or an old set not yet deleted) are what a writer
  that died left: readers never use them, and the next writer deletes them before anything else.
- The revision is bumped before a change and `done` set to it after (with `done_by`, unique to that change).
  A reader builds its keyword index (bm25s, in memory) from the rows its records name when it opens the
  store, queries only those, and opens again when `done` has moved (`outdated`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, chroma_address
from ..errors import AssistantError, IndexFormatError, IndexNotFoundError, IndexUnavailableError
from .lease import WriterLease
from .store import MANIFEST_VERSION, DocEntry, IndexStore, Manifest, StoreClosedError, StoredChunk, doc_of

if TYPE_CHECKING:
    from .chunking import Chunk
    from .keyword_index import KeywordIndex

log = logging.getLogger(__name__)

CHUNKS = "assistant_chunks"
STATE = "assistant_state"
FORMAT = 1  # how the server's records and rows are laid out; another one is refused, never rebuilt
PAGE = 5000  # rows per get() (the server takes at most 5,461 a call)
WRITE_BATCH = 500  # most rows an upsert (with vectors as JSON, about 2 MB a request)
WRITE_SECONDS = 1.0  # what an upsert of chunk rows should take: the lease's beats wait behind it (lease.py)
LEAST_BATCH = 25  # fewest rows an upsert, however slow the server
DOCS_A_CALL = 100  # doc_ids in one get()'s `$in` filter
CONNECT_TIMEOUT = 5.0  # seconds; chromadb's own HTTP client waits for ever
_INDEX, _DOC, _GONE = "index", "doc:", "gone:"


class ChromaServer:
    """The index's two collections on one Chroma server. Every failure to reach it, or of a request, is an
    IndexUnavailableError naming the server (`calling`)."""

    def __init__(self, settings: Settings, create: bool) -> None:
        assert settings.chroma_url is not None
        self.url = settings.chroma_url.strip().rstrip("/")
        self.batch = WRITE_BATCH  # rows the next upsert of chunk rows (put_rows)
        self.where = f"on the Chroma server at {self.url}"
        with self.calling():
            client = _client(self.url, settings.request_timeout)
            if create:
                self.chunks = client.get_or_create_collection(
                    CHUNKS, metadata={"hnsw:space": "cosine"}, embedding_function=None
                )
                self.state = client.get_or_create_collection(STATE, embedding_function=None)
                return
            from chromadb.errors import NotFoundError

            try:
                self.chunks = client.get_collection(CHUNKS, embedding_function=None)
                self.state = client.get_collection(STATE, embedding_function=None)
            except NotFoundError:
                raise IndexNotFoundError(
                    f"no index {self.where}: build it with `assistant ingest --chroma-url {self.url}`"
                ) from None

    @contextmanager
    def calling(self) -> Iterator[None]:
        """Turn what the server or the way to it fails with into an IndexUnavailableError (one line)."""
        import httpx
        from chromadb.errors import ChromaError

        try:
            yield
        except (AssistantError, StoreClosedError):
            raise
        except Exception as exc:
            # chromadb raises a bare Exception for an answer that is not its JSON; other kinds that are not
            # about the server (a TypeError, ...) are bugs, and stay so.
            if type(exc) is not Exception and not isinstance(
                exc, httpx.HTTPError | ChromaError | OSError | ValueError
            ):
                raise
            said = " ".join(str(exc).split())[:200]
            if isinstance(exc, httpx.TransportError | OSError) or "Could not connect" in said:
                raise IndexUnavailableError(
                    f"the Chroma server at {self.url} cannot be reached ({exc.__class__.__name__}: {said}); "
                    "is it running? (ASSISTANT_CHROMA_URL)"
                ) from None
            raise IndexUnavailableError(
                f"the Chroma server at {self.url} failed a request ({exc.__class__.__name__}: {said})"
            ) from None

    # --- records ---------------------------------------------------------------------------------------

    def record(self, key: str) -> dict[str, Any] | None:
        with self.calling():
            got = self.state.get(ids=[key], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else None

    def records(self) -> dict[str, dict[str, Any]]:
        return {rid: dict(meta) for rid, meta in self.rows(self.state, ["metadatas"])}

    def put(self, records: dict[str, dict[str, Any]]) -> None:
        items = list(records.items())
        for start in range(0, len(items), WRITE_BATCH):
            batch = items[start : start + WRITE_BATCH]
            with self.calling():
                self.state.upsert(
                    ids=[key for key, _ in batch],
                    embeddings=[[1.0]] * len(batch),
                    metadatas=[meta for _, meta in batch],
                )

    def drop(self, keys: list[str]) -> None:
        for start in range(0, len(keys), WRITE_BATCH):
            with self.calling():
                self.state.delete(ids=keys[start : start + WRITE_BATCH])

    # --- chunk rows ------------------------------------------------------------------------------------

    def rows(self, collection: Any, include: list[str], where: Any = None) -> Iterator[tuple[str, Any]]:
        """(id, what `include` asks for: one item, or a tuple of them) of every row (that `where` lets
        through), a page at a time."""
        for offset in itertools.count(0, PAGE):
            with self.calling():
                page = collection.get(where=where, include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            columns = [page[name] for name in include]
            yield from zip(page["ids"], columns[0] if len(columns) == 1 else zip(*columns, strict=True),
                           strict=True)  # fmt: skip

    def put_rows(
        self, ids: list[str], vectors: list[list[float]], metas: list[dict], texts: list[str]
    ) -> None:
        """Upsert rows, as many a call as the server stores in about WRITE_SECONDS: an upsert's time grows
        with the index (0.2 s for 500 rows into a small one, 2-4 s for 1,000 into 900,000 rows), and the
        lease's beats wait behind it, so the size follows the last call's time."""
        start = 0
        while start < len(ids):
            end = start + self.batch
            began = time.monotonic()
            with self.calling():
                self.chunks.upsert(
                    ids=ids[start:end], embeddings=vectors[start:end], metadatas=metas[start:end],
                    documents=texts[start:end],
                )  # fmt: skip
            self.batch = next_batch(min(end, len(ids)) - start, time.monotonic() - began, self.batch)
            start = end

    def drop_rows(self, ids: list[str]) -> None:
        for start in range(0, len(ids), WRITE_BATCH):
            with self.calling():
                self.chunks.delete(ids=ids[start : start + WRITE_BATCH])

    def rows_of(self, doc_ids: list[str], include: list[str]) -> Iterator[tuple[str, Any]]:
        """`rows` of the chunks of these documents, whatever their version."""
        for start in range(0, len(doc_ids), DOCS_A_CALL):
            where = {"doc_id": {"$in": doc_ids[start : start + DOCS_A_CALL]}}
            yield from self.rows(self.chunks, include, where)

    def row_ids(self, doc_ids: list[str]) -> list[str]:
        """The ids of every row of these documents, whatever their version."""
        if not doc_ids:
            return []
        with self.calling():
            return list(self.chunks.get(where={"doc_id": {"$in": doc_ids}}, include=[])["ids"])


def next_batch(rows: int, seconds: float, batch: int) -> int:
    """The rows of the next upsert, after one of `rows` took `seconds` (`batch` asked for): sized to take
    WRITE_SECONDS at that pace, between LEAST_BATCH and WRITE_BATCH, growing at most twofold a call."""
    if rows < batch and seconds <= WRITE_SECONDS:
        return batch  # a short last call says little about a full one
    pace = rows / max(seconds, 1e-3)
    return max(LEAST_BATCH, min(WRITE_BATCH, 2 * batch, int(pace * WRITE_SECONDS)))


class ServerStore(IndexStore):
    """An index on a Chroma server. Readers come from `open`, the one writer from `updating`."""

    opens_beside = True

    def __init__(
        self, server: ChromaServer, state: dict[str, dict[str, Any]], lease: WriterLease | None = None
    ) -> None:
        self.server = server
        self.where = server.where
        self._lease = lease
        self.manifest, self._versions = _manifest(state)
        index = state.get(_INDEX) or {}
        self._mark = (int(index.get("done", 0)), str(index.get("done_by", "")))  # the change last finished
        self._written = {key: meta for key, meta in state.items() if key.startswith((_DOC, _GONE))}
        self._stale: list[str] = []  # rows of replaced chunk sets: deleted once the new records are written
        self._texts: dict[str, str] | None = None  # what this reader uses: the rows its records name
        self._keywords: KeywordIndex | None = None
        self._before: ServerStore | None = None  # see `open`; let go of once this store's are built
        self._closed = False
        self._lock = threading.Lock()

    # --- opening -------------------------------------------------------------------------------------

    @staticmethod
    def read_manifest(settings: Settings) -> Manifest | None:
        try:
            state = ChromaServer(settings, create=False).records()
        except IndexNotFoundError:
            return None
        return _manifest(state)[0] if _INDEX in state else None

    @classmethod
    def open(cls, settings: Settings, before: IndexStore | None = None) -> ServerStore:
        """The index for reading. `before`: this process's store of an earlier revision of the same index,
        whose texts and keyword index the new one updates by the articles that changed, instead of reading
        every row again (a replica's refresh: docs/design.md)."""
        server = ChromaServer(settings, create=False)
        state = server.records()
        if _INDEX not in state:
            raise IndexNotFoundError(f"no index {server.where}: build it with `assistant ingest`")
        _check_format(server, state[_INDEX])
        store = cls(server, state)
        store._follow(before)
        return store

    @classmethod
    @contextmanager
    def updating(cls, settings: Settings, before: IndexStore | None = None) -> Iterator[ServerStore]:
        """The index for ingest, under the writer lease, with what a writer that died left taken out.
        `before`: as for `open` (the writer's texts, read to find copies, are updated from it)."""
        server = ChromaServer(settings, create=True)
        lease = WriterLease(server)
        lease.acquire(settings.write_wait)
        try:
            state = server.records()
            if _INDEX in state:
                _check_format(server, state[_INDEX])
            store = cls(server, state, lease)
            store._follow(before)
            store._sweep()
            try:
                yield store
            finally:
                store.close()
        finally:
            lease.release()

    def _follow(self, before: IndexStore | None) -> None:
        """Take `before` as the store this one's texts and keyword index are updated from, when it is one
        of the same server's (another kind of store, or another server's, is not)."""
        if isinstance(before, ServerStore) and before.server.url == self.server.url:
            self._before = before

    def _sweep(self) -> None:
        """Delete the rows no record names: a document half-written, or an old chunk set not yet deleted, by
        a writer that died. Readers never used them, so nothing they see changes. Only after a change that
        did not finish (`done` behind the revision): one that finished deleted its old sets itself, and
        reading every row's metadata takes a writer minutes at a million chunks."""
        if self.keyword_index_current():
            return
        orphans = [rid for rid, meta in self.server.rows(self.server.chunks, ["metadatas"])
                   if self._versions.get(str(meta.get("doc_id"))) != meta.get("version")]  # fmt: skip
        if orphans:
            log.info("taking out %d chunks left half-written %s", len(orphans), self.where)
            self._writer().drop_rows(orphans)

    def close(self) -> None:
        """Queries after it raise StoreClosedError; the texts stay readable. The server's client stays open
        for the next store of this process."""
        with self._lock:
            self._closed = True

    def outdated(self) -> bool:
        """Another process has finished a change since this store was opened (`done` moved); one still
        under way (revision ahead of done), or a writer that died mid-way, keeps the old view."""
        index = self.server.record(_INDEX)
        if index is None:  # the server's index is gone: opening again says so
            return True
        mark = (int(index.get("done", 0)), str(index.get("done_by", "")))
        return mark != self._mark and mark[0] == int(index.get("revision", 0))

    # --- writing (under the lease) -------------------------------------------------------------------

    def _writer(self) -> ChromaServer:
        """The server, for a write: IndexBusyError if this process does not (or no longer) hold the lease."""
        if self._lease is None:
            raise AssertionError("a store opened for reading was asked to write")
        self._lease.check()
        return self.server

    def save_manifest(self) -> None:
        """The index record and every record that changed; then the rows of replaced chunk sets."""
        want = {_DOC + d: _doc_record(e, self._versions[d]) for d, e in self.manifest.documents.items()}
        want |= {_GONE + d: {"content_hash": h} for d, h in self.manifest.removed.items()}
        changed = {key: meta for key, meta in want.items() if self._written.get(key) != meta}
        server = self._writer()
        server.put(changed | {_INDEX: self._index_record()})
        server.drop([key for key in self._written if key not in want])
        self._written = want
        if self._stale:
            self._writer().drop_rows(self._stale)
            self._stale = []

    def _index_record(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "fingerprint": json.dumps(self.manifest.fingerprint, sort_keys=True),
            "revision": self.manifest.revision,
            "copy_detector": self.manifest.copy_detector,
            "done": self._mark[0],
            "done_by": self._mark[1],
        }

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Whole documents: each one's chunks are one set, its version the digest of their ids."""
        versions = _versions(chunks)
        self._writer().put_rows(
            [_row_id(chunk, versions[chunk.doc_id]) for chunk in chunks],
            vectors,
            [chunk.metadata() | {"version": versions[chunk.doc_id]} for chunk in chunks],
            [chunk.text for chunk in chunks],
        )
        self._versions.update(versions)

    def replace(self, chunks_by_doc: dict[str, list[Chunk]], vectors: list[list[float]]) -> None:
        """The new sets first; the old rows go once the new records are written (save_manifest)."""
        old = self.server.row_ids(list(chunks_by_doc))
        chunks = [chunk for doc_chunks in chunks_by_doc.values() for chunk in doc_chunks]
        self.add(chunks, vectors)
        new = {_row_id(chunk, self._versions[chunk.doc_id]) for chunk in chunks}
        self._stale += [rid for rid in old if rid not in new]

    def delete(self, doc_ids: list[str]) -> None:
        """The records first, then the rows: a writer dying between leaves rows that the next one sweeps."""
        server = self._writer()
        server.drop([_DOC + d for d in doc_ids])
        for doc_id in doc_ids:
            self._written.pop(_DOC + doc_id, None)
            self._versions.pop(doc_id, None)
        server.drop_rows(server.row_ids(doc_ids))

    def chunk_counts(self) -> dict[str, int | None]:
        """Rows per document of the set its record names (rows of no record were swept on opening). While
        every change has finished (`done` is the revision) the records say it: a record is written after
        all the rows of its set, and its set's rows are deleted only after it. Otherwise (a change under
        way, or one that did not finish) the rows are counted."""
        if self.keyword_index_current():
            return {doc_id: entry.chunks for doc_id, entry in self.manifest.documents.items()}
        counts: dict[str, int | None] = {}
        for _, meta in self.server.rows(self.server.chunks, ["metadatas"]):
            doc_id = str(meta.get("doc_id"))
            if self._versions.get(doc_id) == meta.get("version"):
                counts[doc_id] = (counts.get(doc_id) or 0) + 1
        return counts

    def keyword_index_current(self) -> bool:
        """Whether the last change (this revision) is published as finished (`done`)."""
        return self._mark[0] == self.revision

    def rebuild_keyword_index(self) -> None:
        """Publish the change as finished: `done` set to the revision. Every process builds its own keyword
        index from the server's texts; this tells the readers to build theirs again."""
        holder = self._lease.holder if self._lease else ""
        self._mark = (self.revision, f"{holder} r{self.revision}")
        self._writer().put({_INDEX: self._index_record()})
        with self._lock:
            self._texts = self._keywords = None

    # --- reading -------------------------------------------------------------------------------------

    def texts(self) -> dict[str, str]:
        """The text of every row the records name, read from the server once (this store's view): all of
        them, or with a store `before` that has read its own, only the rows of the articles whose version
        changed."""
        with self._lock:
            if self._texts is None:
                before = self._before
                if before is None or before._texts is None:
                    self._texts = self._rows_of(None)
                else:
                    same = {d for d, v in self._versions.items() if before._versions.get(d) == v}
                    kept = {rid: text for rid, text in before._texts.items() if doc_of(rid) in same}
                    self._texts = kept | self._rows_of([d for d in self._versions if d not in same])
            return self._texts

    def keyword_index(self) -> KeywordIndex | None:
        """Built in memory from `texts`, once a store: with a store `before`, its keyword index updated by
        the chunks taken out and put in (keyword_index.updated: the same scores)."""
        from .keyword_index import index_texts, updated

        texts = self.texts()
        with self._lock:
            before, self._before = self._before, None
            if self._keywords is None and texts:
                old = before._keywords if before is not None else None
                seen = before._texts if before is not None else None  # what `old` was built from
                if old is not None and old.counts is not None and seen is not None:
                    added = {rid: text for rid, text in texts.items() if rid not in seen}
                    self._keywords = updated(old, seen.keys() - texts.keys(), added)
                else:
                    self._keywords = index_texts(texts)
            return self._keywords

    def _rows_of(self, doc_ids: list[str] | None) -> dict[str, str]:
        """The texts of the rows the records name: of every document (None), or of these."""
        if doc_ids is None:
            rows = self.server.rows(self.server.chunks, ["documents", "metadatas"])
        else:
            rows = self.server.rows_of(doc_ids, ["documents", "metadatas"])
        return {rid: text for rid, (text, meta) in rows
                if self._versions.get(str(meta.get("doc_id"))) == meta.get("version")}  # fmt: skip

    def size(self) -> int:
        return len(self.texts())

    def query(self, vector: list[float], n: int, doc_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """The nearest rows of this store's view (a row written since, or left half-written, is not one)."""
        where: Any = {"doc_id": {"$in": sorted(doc_ids)}} if doc_ids else None
        texts = self.texts()
        with self._lock:
            if self._closed:
                raise StoreClosedError(self.where)
        with self.server.calling():
            found = self.server.chunks.query(
                query_embeddings=[vector], n_results=n, where=where, include=["distances"]
            )
        # In cosine space Chroma's distance is 1 - cosine.
        return [
            (rid, 1.0 - dist)
            for rid, dist in zip(found["ids"][0], found["distances"][0], strict=True)
            if rid in texts
        ]

    def get(self, ids: list[str]) -> dict[str, StoredChunk]:
        with self._lock:
            if self._closed:
                raise StoreClosedError(self.where)
        if not ids:
            return {}
        with self.server.calling():
            got = self.server.chunks.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        return {
            rid: StoredChunk.of(rid, text, meta, vector)
            for rid, text, meta, vector in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        }


def _versions(chunks: list[Chunk]) -> dict[str, str]:
    """doc_id -> the digest of its chunks' ids (which carry their offsets and text digests): the same
    article chunked the same way has the same version on every machine."""
    ids: dict[str, list[str]] = {}
    for chunk in chunks:
        ids.setdefault(chunk.doc_id, []).append(chunk.chunk_id)
    return {d: hashlib.sha256("\n".join(chunk_ids).encode()).hexdigest()[:12] for d, chunk_ids in ids.items()}


def _row_id(chunk: Chunk, version: str) -> str:
    """A chunk's id with its set's version: "<doc_id>:<start>-<end>:<digest>@<version>" (retrieval reads
    the doc_id and offsets from the front)."""
    return f"{chunk.chunk_id}@{version}"


def _doc_record(entry: DocEntry, version: str) -> dict[str, Any]:
    """Chroma's metadata holds no None: a field the article does not state is left out."""
    return {k: v for k, v in asdict(entry).items() if v is not None} | {"version": version}


def _manifest(state: dict[str, dict[str, Any]]) -> tuple[Manifest, dict[str, str]]:
    """The manifest the records make, and each document's version."""
    index = state.get(_INDEX) or {}
    names = {f.name for f in fields(DocEntry)}
    documents: dict[str, DocEntry] = {}
    versions: dict[str, str] = {}
    removed: dict[str, str] = {}
    for key, meta in state.items():
        if key.startswith(_DOC):
            doc_id = key[len(_DOC) :]
            documents[doc_id] = DocEntry(**{k: v for k, v in meta.items() if k in names})
            versions[doc_id] = str(meta.get("version"))
        elif key.startswith(_GONE):
            removed[key[len(_GONE) :]] = str(meta.get("content_hash"))
    fingerprint = json.loads(str(index.get("fingerprint", "{}")))
    manifest = Manifest(
        fingerprint,
        documents,
        int(index.get("revision", 0)),
        MANIFEST_VERSION,
        copy_detector=int(index.get("copy_detector", 0)),
        removed=removed,
    )
    return manifest, versions


def _check_format(server: ChromaServer, index: dict[str, Any]) -> None:
    found = int(index.get("format", 0))
    if found != FORMAT:
        raise IndexFormatError(
            f"the index {server.where} was written by another version of the assistant (format {found}, "
            f"this one reads {FORMAT}); it is not rebuilt by itself, since its articles come from many "
            f"folders: start the server on an empty --path and ingest every replica's articles again"
        )


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _client(url: str, timeout: float) -> Any:
    """One chromadb client per server and process, made on first use (not kept when the server cannot be
    reached, so the next call tries again)."""
    with _clients_lock:
        if url not in _clients:
            import chromadb
            import httpx

            from .embedded_store import chroma_settings

            host, port, https = chroma_address(url)
            # A bounded first look: chromadb's client would wait for ever on a server that accepts and hangs.
            httpx.get(f"{url}/api/v2/heartbeat", timeout=CONNECT_TIMEOUT).raise_for_status()
            client = chromadb.HttpClient(
                host=host, port=port, ssl=https, settings=chroma_settings().model_copy()
            )
            client._server._session.timeout = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
            _clients[url] = client
        return _clients[url]


def start_chroma_run(path: Path, port: int, log: Path, timeout: float) -> subprocess.Popen[bytes]:
    """`chroma run --path path --host 127.0.0.1 --port port`, the chromadb package's own server as
    docs/deploy.md starts it (telemetry off), its output appended to `log`, once it answers its heartbeat:
    the tests and the bench start theirs here. RuntimeError with the log's end when it has not answered
    within `timeout` seconds (the process is stopped)."""
    import httpx

    from ..models.model_server import stop

    chroma = Path(sys.executable).parent / "chroma"
    where = ["--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("a") as out:
        proc = subprocess.Popen(
            [str(chroma), "run", *where], stdout=out, stderr=subprocess.STDOUT,
            env=os.environ | {"ANONYMIZED_TELEMETRY": "False"},
        )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"chroma run did not answer its heartbeat: {log.read_text()[-2000:]}")
