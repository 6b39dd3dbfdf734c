"""The public Python API, ``Assistant`` (README, "Python API"). Other tools depend on it: keep it stable.

It wires the two pipelines together: `ingest` (indexing/) writes the index; `prepare_context` and
`answer_stream` (answering/pipeline.py) read it and answer. Models and the index are opened on first use."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .answering.dates import DateRange
from .config import Settings
from .errors import CorpusError, InvalidQuestionError
from .indexing.ingest import IngestReport, ProgressCallback, ingest
from .indexing.status import IndexStatus, index_status
from .indexing.store import DocEntry, IndexStore, StoreClosedError, read_manifest
from .results import Answer, Context, Passage
from .text import normalise

When = str | dt.date | None  # a date-range end: an ISO date string (YYYY-MM-DD) or a date

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .answering.evidence import SentenceVectors
    from .answering.generation import Generator
    from .answering.pipeline import RagPipeline
    from .indexing.fetch import AddressPolicy


class Assistant:
    """Question answering over a folder of articles, with cited answers.

    Every argument is optional; unset ones come from ASSISTANT_* environment variables, then defaults.
    Models and the index are opened on first use and kept for the life of the object.
    """

    def __init__(
        self,
        corpus_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        llm: str | None = None,
        top_k: int | None = None,
        settings: Settings | None = None,
        **overrides: object,
    ) -> None:
        base = dict(corpus_dir=corpus_dir, index_dir=index_dir, llm=llm, top_k=top_k, **overrides)
        self.settings = settings or Settings.from_env(**base)
        self._pipeline: RagPipeline | None = None
        self._generator: Generator | None = None
        self._reopening: threading.Thread | None = None  # a newer revision being opened beside this one
        # The store of the revision before, closed by this process's own change: on a Chroma server the
        # next store is updated from it (its texts and keyword index) instead of reading every row again.
        self._closed: IndexStore | None = None
        self._lock = threading.Lock()
        self._llm_lock = threading.Lock()

    # --- corpus --------------------------------------------------------------------------------------

    def ingest(self, progress: bool | ProgressCallback = False) -> IngestReport:
        """Bring the index up to date with the corpus folder (incremental). Raises CorpusError. On a shared
        index (chroma_url) it adds and updates this folder's articles and removes none."""
        return self._ingest(progress)

    def _ingest(
        self, progress: bool | ProgressCallback, removing: Sequence[str] = (), uploaded: Sequence[str] = ()
    ) -> IngestReport:
        with self._lock:
            before = self._pipeline.retriever.store if self._pipeline is not None else self._closed
            report = ingest(self.settings, progress, removing, uploaded, before)
            self._close_pipeline(keep=True)  # reopen the index on the next question
        return report

    def status(self) -> IndexStatus:
        """Which articles the index holds, and whether the corpus folder has changed since."""
        return index_status(self.settings)

    def add_files(
        self, paths: Sequence[str | Path], progress: bool | ProgressCallback = False
    ) -> IngestReport:
        """Copy readable files into the corpus folder and index them; rejected ones are in report.skipped.
        On a shared index an article removed for everyone before is added again."""
        from .indexing.corpus_folder import add_files

        added, rejected = add_files(self.settings.corpus_dir, [Path(p) for p in paths])
        report = self._ingest(progress, uploaded=added)
        report.skipped.update(rejected)
        return report

    def add_url(
        self,
        url: str,
        progress: bool | ProgressCallback = False,
        addresses: AddressPolicy | None = None,
    ) -> IngestReport:
        """Fetch an article page, or every item of an RSS/Atom feed (at most feed_max_items), into the
        corpus folder as Markdown with its date, outlet, author, title and URL in front matter, and index
        it; `report.fetched` names the articles written, `report.skipped` the feed items that could not be
        added and why. Any address may be fetched unless `addresses` (a fetch.AddressPolicy: what the
        server uses) says otherwise. `progress`: True for bars on stderr, or a callable given (pages fetched,
        pages) while a feed is fetched, then (chunks embedded, chunks) as ingest gives it. Raises
        BadUrlError, AddressRefusedError, FetchError; nothing is added then."""
        from .indexing.fetch import ANY_ADDRESS
        from .indexing.links import fetch_into_corpus

        bar = None
        if progress is True:
            from tqdm import tqdm

            bar = tqdm(unit="page", desc="Fetching", file=sys.stderr, dynamic_ncols=True)

        def fetching(done: int, total: int) -> None:  # pages of a feed fetched so far, of all
            if bar is not None:
                bar.total = total
                bar.update(done - bar.n)
            elif callable(progress):
                progress(done, total)

        try:
            fetched = fetch_into_corpus(url, self.settings, addresses or ANY_ADDRESS, fetching)
        finally:
            if bar is not None:
                bar.close()
        report = self.ingest(progress=progress)
        report.fetched = fetched.doc_ids
        report.skipped.update(fetched.skipped)
        report.notes = fetched.notes + report.notes
        return report

    def articles(self) -> dict[str, DocEntry]:
        """The indexed articles by doc_id, as the index's manifest holds them (title, published, outlet,
        author, copy_of, ...), without looking at the corpus folder; empty before the first ingest."""
        manifest = read_manifest(self.settings)
        return manifest.documents if manifest else {}

    def remove_document(self, doc_id: str, progress: bool | ProgressCallback = False) -> IngestReport:
        """Take an article out of the corpus (its file moves to <corpus>/.removed/) and out of the index. On
        a shared index it goes for everyone, whichever replica's folder it came from."""
        from .indexing.corpus_folder import remove_document
        from .indexing.store import read_manifest

        if not remove_document(self.settings.corpus_dir, doc_id):
            manifest = read_manifest(self.settings) if self.settings.shared_index else None
            if manifest is None or doc_id not in manifest.documents:
                where = " nor in the shared index" if self.settings.shared_index else ""
                raise CorpusError(f"no article {doc_id!r} in {self.settings.corpus_dir}/{where}")
        return self._ingest(progress, removing=[doc_id])

    # --- questions -----------------------------------------------------------------------------------

    def retrieve(
        self, question: str, k: int | None = None, since: When = None, until: When = None
    ) -> list[Passage]:
        """The k passages (default top_k) that best match the question, best first; with `since` and/or
        `until` (ISO date strings or dates, both ends included), of the articles published in that range
        only (undated ones left out)."""
        question = self._check(question)
        dates = DateRange.of(since, until)
        try:
            return self._retrieve(question, k or self.settings.top_k, dates)
        except StoreClosedError:  # the index was reopened under this question: ask the new one
            return self._retrieve(question, k or self.settings.top_k, dates)

    def _retrieve(self, question: str, k: int, dates: DateRange | None) -> list[Passage]:
        retriever = self.pipeline.retriever
        return retriever.retrieve(
            question, k, dates.doc_ids(retriever.store.manifest.documents) if dates else None
        )

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        since: When = None,
        until: When = None,
    ) -> Answer:
        """Answer a question; history is the previous turns as [{"role": ..., "content": ...}]; since/until
        as for retrieve (the answer's `dates_note` says what the range left out)."""
        final = None
        for event in self.stream(question, history, since, until):
            final = event
        assert isinstance(final, Answer)
        return final

    def stream(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        since: When = None,
        until: When = None,
    ) -> Iterator[str | Answer]:
        """Yield text deltas (str) as the answer is generated, then the final Answer."""
        return self.answer_stream(self.prepare_context(question, history, since, until))

    def prepare_context(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        since: When = None,
        until: When = None,
    ) -> Context:
        """Retrieval only: the passages an answer would stand on, and whether they cover the question."""
        question = self._check(question)
        dates = DateRange.of(since, until)
        history = [
            {"role": str(turn.get("role", "")), "content": normalise(str(turn.get("content") or ""))}
            for turn in history or []
        ]
        try:
            return self.pipeline.prepare_context(question, history, dates=dates)
        except StoreClosedError:  # the index was reopened under this question: ask the new one
            return self.pipeline.prepare_context(question, history, dates=dates)

    def answer_stream(self, context: Context) -> Iterator[str | Answer]:
        """The answer to a prepared context: text deltas (str) as it is generated, then the final Answer.
        The chat shows the context's passages first, then streams this."""
        return self.pipeline.answer_stream(context)

    def warm_up(self) -> None:
        """Open the index, load the models and have the model hold the fixed prompt now, not on the first
        question."""
        self.warm_up_model()
        self.open_index()

    def open_index(self) -> None:
        """Open the index and load the embedding model now; raises what opening them raises
        (IndexNotFoundError, IndexCorruptError, ModelError)."""
        self.pipeline  # noqa: B018

    def warm_up_model(self) -> None:
        """Load the answering model and have it hold the fixed start of the answer prompt (a cached prefix
        after): loaded from the state an earlier process saved, or read and saved for the next one.

        llama.cpp does this in C without the GIL, so `serve` runs it in a thread beside Gradio's import.
        """
        if self.settings.llm != "extractive":
            self._get_generator(None).warm_up()

    @property
    def model(self) -> str:
        """Who answers, for people: "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (local, llama.cpp)", ..."""
        from .models.llm import describe

        return describe(self.settings)

    # --- internals -----------------------------------------------------------------------------------

    @property
    def pipeline(self) -> RagPipeline:
        """The answering pipeline over the open index (an internal: tests and the bench look inside it; tools
        should use the methods above). Reopened when another process (`assistant ingest`, another chat
        server's upload) has finished changing the index: the next question sees the new articles. On a
        Chroma server the new revision is opened in a thread beside the old one, which goes on answering
        until it is ready; a question waits for it at most `refresh_wait` seconds."""
        with self._lock:
            if self._pipeline is not None and self._reopening is None:
                store = self._pipeline.retriever.store
                if store.outdated():
                    log.info("the index %s changed: reopening it", store.where)
                    if store.opens_beside:
                        self._reopening = threading.Thread(
                            target=self._reopen_beside, name="reopen-index", daemon=True
                        )
                        self._reopening.start()
                    else:
                        self._close_pipeline()
            reopening = self._reopening
        if reopening is not None:
            reopening.join(self.settings.refresh_wait)
        with self._lock:
            if self._pipeline is None:
                before, self._closed = self._closed, None
                self._pipeline = self._open_pipeline(before)
            return self._pipeline

    def _open_pipeline(self, before: IndexStore | None = None) -> RagPipeline:
        from .answering.evidence import SentenceVectors
        from .answering.pipeline import RagPipeline
        from .answering.retrieval import HybridRetriever
        from .indexing.store import open_store
        from .models.embeddings import get_embedding_model

        store = open_store(self.settings, before)
        embed_model = get_embedding_model()
        vectors = SentenceVectors(embed_model)
        return RagPipeline(
            self.settings,
            HybridRetriever(store, embed_model),
            embed_model,
            vectors,
            self._get_generator(vectors),
            self.model,
        )

    def _reopen_beside(self) -> None:
        """Open the index's newer revision while the old pipeline answers, then put it in its place (a
        question on its way to the old store is asked again: StoreClosedError). If it cannot be opened,
        the old one stays and the next question tries again."""
        started = time.perf_counter()
        with self._lock:
            before = self._pipeline.retriever.store if self._pipeline is not None else None
        try:
            fresh = self._open_pipeline(before)
        except Exception as exc:  # the server went away, the index was dropped: said by the next question
            log.warning("reopening the index failed (%s): answering from the revision before", exc)
            with self._lock:
                if self._reopening is threading.current_thread():
                    self._reopening = None
            return
        with self._lock:
            if self._reopening is not threading.current_thread():  # this process changed the index since
                fresh.retriever.store.close()
                return
            self._close_pipeline()
            self._pipeline = fresh
        log.info("the index reopened at its new revision in %.1f s", time.perf_counter() - started)

    def _close_pipeline(self, keep: bool = False) -> None:
        """Forget the pipeline and close its store (a query already on its way to it is asked again), and
        any revision being opened beside it. `keep`: the closed store is what the next one of a Chroma
        server is updated from (`_closed`)."""
        self._reopening = None
        if self._pipeline is not None:
            store = self._pipeline.retriever.store
            store.close()
            self._closed = store if store.opens_beside else None
            self._pipeline = None
        if not keep:
            self._closed = None

    def _get_generator(self, sentence_vectors: SentenceVectors | None) -> Generator:
        """Built once, safe from two threads (serve warms the model beside opening the index). The
        extractive one reads the pipeline's sentence vectors, so it is built with the pipeline."""
        with self._llm_lock:
            if self._generator is None:
                from .answering.generation import build_generator

                self._generator = build_generator(self.settings, sentence_vectors)
            return self._generator

    def _check(self, question: str) -> str:
        if not isinstance(question, str) or not normalise(question):
            raise InvalidQuestionError("the question is empty")
        # Normalised as the articles are (full-width letters, invisible and control characters, a lone
        # surrogate that no encoding can carry), on one line.
        question = " ".join(normalise(question).split())
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuestionError(
                f"the question is {len(question):,} characters long; the limit is "
                f"{self.settings.max_question_chars:,} (ASSISTANT_MAX_QUESTION_CHARS)"
            )
        return question
