"""Incremental ingest: corpus folder → documents → chunks → embeddings → the index store.

Unchanged documents (same content hash, same chunking, same chunk count in every part of the store)
cost nothing: no embedding model is even loaded. Documents are replaced whole (delete, then add), a group
at a time, and recorded in the manifest right after, so an interruption leaves at most one group to
repair next run. A full disk is not a crash: the group held in part is taken out again and the keyword
index rebuilt, so readers go on with what was written before (see `_after_full_disk`).

Which articles the index holds: embedded, the corpus folder's (a file gone from it is taken out). On a
shared index (a Chroma server), the server's: an ingest adds and updates the articles of its folder and
never removes one its folder lacks, since other replicas' folders hold other articles; an article goes only
when it is removed on purpose (`removing`), and then for everyone: the same content is not added back from
any folder, only by an upload (`uploaded`).
"""

from __future__ import annotations

import errno
import logging
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..errors import AssistantError, CorpusError, DiskFullError, DocumentError
from ..models.embeddings import EMBED_MODEL_NAME
from . import copies
from .chunking import Chunk, chunk_document
from .documents import Document, list_corpus, load_document
from .store import MANIFEST_VERSION, DocEntry, IndexStore, Manifest, updating

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]  # (chunks embedded so far, total)
# Chunks embedded in one call. The model sorts a call's texts by length into passes of 16: a larger group
# pads less (docs/design.md) but moves the progress bar less often.
EMBED_GROUP = 512


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # path -> reason
    chunks: int = 0  # chunks in the index after the run
    embedded: int = 0  # chunks embedded in this run
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)  # doc_ids of the articles a link brought (add_url)

    def summary(self) -> str:
        return (
            f"added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
            f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}; "
            f"{self.chunks} chunks in the index ({self.embedded} embedded) in {self.seconds:.1f} s"
        )


def fingerprint(settings: Settings) -> dict[str, object]:
    """What, if changed, makes every stored chunk stale."""
    return {
        "chunk_words": settings.chunk_words,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences,
        "embed_model": EMBED_MODEL_NAME,
        "chunker": 2,
    }


def is_stale(manifest: Manifest, settings: Settings) -> bool:
    """Every stored chunk must be indexed again: written in another format or with other chunking."""
    return manifest.version != MANIFEST_VERSION or manifest.fingerprint != fingerprint(settings)


def ingest(
    settings: Settings,
    progress: bool | ProgressCallback = False,
    removing: Collection[str] = (),
    uploaded: Collection[str] = (),
    before: IndexStore | None = None,
) -> IngestReport:
    """Bring the index in line with the corpus folder. On a shared index, `removing` are articles taken
    out for everyone and `uploaded` articles added even if they were removed so before (see above), and
    `before` is this process's store of an earlier revision, whose texts the writer keeps for the articles
    that have not changed since (it reads every article's text to find copies)."""
    started = time.perf_counter()
    corpus_dir = settings.corpus_dir
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir}/ does not exist")
    # The corpus is read while this process is the only writer: a file another writer added while this one
    # waited is indexed, not taken for one that was removed.
    with updating(settings, before) as (store, note):
        report = IngestReport()
        docs = load_corpus(corpus_dir, report)
        try:
            _update(store, docs, settings, progress, report, removing, uploaded)
        except Exception as exc:
            if not _disk_full(exc):
                raise
            raise _after_full_disk(store, docs, settings, exc) from None
    if note:
        report.notes.insert(0, note)
    report.seconds = time.perf_counter() - started
    log.info("ingest of %s/: %s", corpus_dir, report.summary())
    return report


def _update(
    store: IndexStore,
    docs: dict[str, Document],
    settings: Settings,
    progress: bool | ProgressCallback,
    report: IngestReport,
    removing: Collection[str] = (),
    uploaded: Collection[str] = (),
) -> None:
    """Bring the store in line with the documents (this process the only writer)."""
    corpus_dir = settings.corpus_dir
    manifest = store.manifest
    shared = settings.shared_index
    for doc_id in removing:
        docs.pop(doc_id, None)
    if not docs and not manifest.documents:
        raise CorpusError(
            f"no readable documents in {corpus_dir}/"
            + (f" ({len(report.skipped)} skipped: see messages above)" if report.skipped else "")
        )
    stale = is_stale(manifest, settings)
    if stale and manifest.documents:
        if shared:  # the other replicas' articles cannot be re-indexed from this folder
            raise AssistantError(
                f"the index {store.where} was built with other chunking settings ({manifest.fingerprint}; "
                f"this process has {fingerprint(settings)}): every process sharing it must use the same"
            )
        report.notes.append("chunking settings changed: re-indexing every document")
    if shared:
        held_back = sorted(
            d for d, doc in docs.items() if manifest.removed.get(d) == doc.content_hash and d not in uploaded
        )
        for doc_id in held_back:
            del docs[doc_id]
        if held_back:
            report.notes.append(
                f"{len(held_back)} article(s) in {corpus_dir}/ were removed from the shared index for "
                f"everyone and are not added back (upload one to add it again): {', '.join(held_back)}"
            )
    manifest.fingerprint = fingerprint(settings)
    counts = store.chunk_counts()

    todo: list[tuple[Document, list[Chunk]]] = []
    for doc in docs.values():
        entry = manifest.documents.get(doc.doc_id)
        if (
            entry
            and not stale
            and entry.content_hash == doc.content_hash
            and counts.get(doc.doc_id) == entry.chunks
        ):
            report.unchanged.append(doc.doc_id)
            continue
        (report.updated if entry else report.added).append(doc.doc_id)
        chunks = chunk_document(doc, settings.chunk_words, settings.chunk_overlap_sentences)
        todo.append((doc, chunks))

    if shared:  # the server's articles are everyone's: only a removal on purpose takes one out
        removed = sorted(set(removing) & set(manifest.documents))
    else:  # a file that still exists but cannot be read keeps its chunks: nothing is lost to bad input
        kept = set(docs) | {Path(p).stem for p in report.skipped}
        removed = sorted(set(manifest.documents) - kept)
    orphans = sorted(set(counts) - set(manifest.documents) - {doc.doc_id for doc, _ in todo})
    # Copies are found again whenever an article comes, changes or goes (or another detector marked them).
    regroup = bool(removed or todo) or manifest.copy_detector != copies.DETECTOR
    changed = bool(orphans) or regroup
    if changed:
        # Bump the revision before touching anything, so an interrupted run leaves BM25 marked stale.
        manifest.revision += 1
        store.save_manifest()
    # Orphans: chunks of a document an interrupted run never recorded.
    if removed or orphans:
        store.delete(removed + orphans)
    for doc_id in removed:
        entry = manifest.documents.pop(doc_id)
        if shared:  # for everyone: no folder brings this content back
            manifest.removed[doc_id] = entry.content_hash
        report.removed.append(doc_id)
    if todo:
        total = sum(len(chunks) for _, chunks in todo)
        _index_documents(store, todo, total, progress, report)
    if regroup:
        texts = {d: doc.text for d, doc in docs.items()}
        if shared:  # the other replicas' articles are compared as the server holds them
            texts = store.article_texts() | texts
        _mark_copies(manifest, texts, {doc.doc_id for doc, _ in todo}, report)
    store.save_manifest()
    if not store.keyword_index_current():
        store.rebuild_keyword_index()
    report.chunks = sum(e.chunks for e in manifest.documents.values())


def _mark_copies(manifest: Manifest, texts: dict[str, str], new: set[str], report: IngestReport) -> None:
    """Find the copies of one story among the indexed articles (copies.py), from their texts; a note for
    each group holding an article of this run."""
    started = time.perf_counter()
    groups = copies.mark_copies(manifest.documents, texts)
    manifest.copy_detector = copies.DETECTOR
    log.debug("copies among %d articles found in %.2f s", len(texts), time.perf_counter() - started)
    for first, *others in groups:
        if new.intersection([first, *others]):
            report.notes.append(f"copies of one story: {first} is shown, also in {', '.join(others)}")


# How a full disk reads where it is not an OSError: SQLite's words (the chunk table's AssistantError, Chroma's
# own SQLite) and the Rust layer's under Chroma ("No space left on device (os error 28)").
_DISK_FULL_WORDS = ("no space left on device", "disk is full", "disk quota exceeded", "os error 28")


def _disk_full(exc: BaseException) -> bool:
    """Whether a write failed for want of room (ENOSPC, or a quota: EDQUOT)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return any(words in text for words in _DISK_FULL_WORDS)


def _after_full_disk(
    store: IndexStore, docs: dict[str, Document], settings: Settings, exc: Exception
) -> DiskFullError:
    """The disk filled up mid-ingest. An article held in part (in one store only, or with fewer chunks
    than the manifest says) would be answered from in part, and the revision bumped before writing would
    keep every reader out until the next ingest: so take such articles out of both stores and the
    manifest, and rebuild the keyword index at this revision, which lets readers in again with the
    articles written before. If even that finds no room, the index is left as any interrupted ingest
    leaves it (readers are told to run `assistant ingest`). Returns the error to raise, for a person."""
    manifest = store.manifest
    usable = "the index is usable meanwhile, without them"
    try:
        counts = store.chunk_counts()
        partial = sorted(
            d
            for d, n in counts.items()
            if n is None or d not in manifest.documents or manifest.documents[d].chunks != n
        )
        if partial:
            store.delete(partial)
        # A replaced article's old chunks are gone with its new ones: its entry goes too.
        for doc_id in [*partial, *(d for d in manifest.documents if d not in counts)]:
            manifest.documents.pop(doc_id, None)
        store.save_manifest()
        store.rebuild_keyword_index()
    except Exception as again:  # no room even for that
        log.warning(
            "could not settle the index in %s/ after the disk filled up: %s", settings.index_dir, again
        )
        usable = "the index cannot be read until then"
    missing = sorted(
        d for d, doc in docs.items()
        if d not in manifest.documents or manifest.documents[d].content_hash != doc.content_hash
    )  # fmt: skip
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return DiskFullError(
        f"the disk is full ({str(exc)[:200]}) while writing the index in {settings.index_dir}/; "
        f"not indexed: {shown or 'none'}; {usable}: free some space and run `assistant ingest` again"
    )


def load_corpus(corpus_dir: Path, report: IngestReport) -> dict[str, Document]:
    docs: dict[str, Document] = {}
    for path in list_corpus(corpus_dir):
        try:
            doc = load_document(path)
        except DocumentError as exc:
            report.skipped[str(path)] = str(exc)
            continue
        except OSError as exc:
            report.skipped[str(path)] = f"{path}: cannot read ({exc.strerror})"
            continue
        if doc.doc_id in docs:
            report.skipped[str(path)] = f"{path}: another file already has the name {doc.doc_id!r}"
            continue
        docs[doc.doc_id] = doc
    return docs


def embedded_text(chunk: Chunk) -> str:
    """What the embedding model reads for a chunk: its text alone (titles and offsets are for citing)."""
    return chunk.text


def _index_documents(
    store: IndexStore,
    todo: list[tuple[Document, list[Chunk]]],
    total: int,
    progress: bool | ProgressCallback,
    report: IngestReport,
) -> None:
    from ..models import embeddings

    model = embeddings.get_embedding_model()
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="chunk", desc="Indexing", file=sys.stderr, dynamic_ncols=True)

    def write(group: list[tuple[Document, list[Chunk]]], vectors: list[list[float]]) -> None:
        store.replace({doc.doc_id: chunks for doc, chunks in group}, vectors)
        for doc, chunks in group:
            store.manifest.documents[doc.doc_id] = DocEntry(
                content_hash=doc.content_hash,
                chunks=len(chunks),
                title=doc.title,
                source=doc.source,
                indexed_at=time.time(),
                published=doc.published,
                outlet=doc.outlet,
                author=doc.author,
            )
            store.manifest.removed.pop(doc.doc_id, None)  # added again on purpose, or a new version
        store.save_manifest()
        report.embedded += len(vectors)
        if bar is not None:
            bar.update(len(vectors))
        elif callable(progress):
            progress(report.embedded, total)

    # Documents are embedded and written in groups of ≥ EMBED_GROUP chunks: one model call, one delete and
    # one add a group (a call per short article made small, slow batches, each with Chroma's fixed cost),
    # and the group is recorded in the manifest as soon as it lands.
    group: list[tuple[Document, list[Chunk]]] = []
    try:
        for n, (doc, chunks) in enumerate(todo):
            group.append((doc, chunks))
            if sum(len(chunks) for _, chunks in group) < EMBED_GROUP and n < len(todo) - 1:
                continue
            texts = [embedded_text(chunk) for _, chunks in group for chunk in chunks]
            started = time.perf_counter()
            vectors = model.get_text_embedding_batch(texts)
            log.debug("embedded %d chunks of %d documents in %.2f s", len(texts), len(group),
                      time.perf_counter() - started)  # fmt: skip
            write(group, vectors)
            group = []
    finally:
        if bar is not None:
            bar.close()
