"""The public Python API, ``Assistant`` (README, "Python API"). Other tools depend on it: keep it stable."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .errors import InvalidQuestionError
from .ingest import IndexStatus, IngestReport, ProgressCallback, index_status, ingest
from .results import Answer, Passage

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

    from .rag import Context, RagPipeline


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
        self._llm: object = None
        self._lock = threading.Lock()
        self._llm_lock = threading.Lock()

    # --- corpus --------------------------------------------------------------------------------------

    def ingest(self, progress: bool | ProgressCallback = False) -> IngestReport:
        """Bring the index up to date with the corpus folder (incremental). Raises CorpusError."""
        with self._lock:
            report = ingest(self.settings, progress=progress)
            self._pipeline = None  # reopen the index on the next question
        return report

    def status(self) -> IndexStatus:
        """Which articles the index holds, and whether the corpus folder has changed since."""
        return index_status(self.settings)

    def add_files(self, paths: list[str | Path], progress: bool | ProgressCallback = False) -> IngestReport:
        """Copy readable files into the corpus folder and index them; rejected ones are in report.skipped."""
        from .corpus_admin import add_files

        _, rejected = add_files(self.settings.corpus_dir, [Path(p) for p in paths])
        report = self.ingest(progress=progress)
        report.skipped.update(rejected)
        return report

    def remove_document(self, doc_id: str, progress: bool | ProgressCallback = False) -> IngestReport:
        """Take an article out of the corpus (its file moves to <corpus>/.removed/) and out of the index."""
        from .corpus_admin import remove_document
        from .errors import CorpusError

        if not remove_document(self.settings.corpus_dir, doc_id):
            raise CorpusError(f"no article {doc_id!r} in {self.settings.corpus_dir}/")
        return self.ingest(progress=progress)

    # --- questions -----------------------------------------------------------------------------------

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The k passages (default top_k) that best match the question, best first."""
        question = self._check(question)
        return self.pipeline.retriever.retrieve(question, k or self.settings.top_k)

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        """Answer a question; history is the previous turns as [{"role": ..., "content": ...}]."""
        final = None
        for event in self.stream(question, history):
            final = event
        assert isinstance(final, Answer)
        return final

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[str | Answer]:
        """Yield text deltas (str) as the answer is generated, then the final Answer."""
        context = self.prepare_context(question, history)
        return self.pipeline.answer_stream(context)

    def prepare_context(self, question: str, history: list[dict] | None = None) -> Context:
        """Retrieval only: the passages an answer would stand on, and whether they cover the question."""
        question = self._check(question)
        return self.pipeline.prepare_context(question, history)

    def warm_up(self) -> None:
        """Open the index, load the models and have the model hold the fixed prompt now, not on the first
        question."""
        self.warm_up_model()
        self.pipeline  # noqa: B018 - the embedding model and the index

    def warm_up_model(self) -> None:
        """Load the answering model and have it hold the fixed start of the answer prompt (a cached prefix
        after): loaded from the state an earlier process saved, or read and saved for the next one.

        llama.cpp does this in C without the GIL, so `serve` runs it in a thread beside Gradio's import.
        """
        from .rag import warm_fixed_prompt

        llm = self._answering_llm()
        if llm is not None:
            warm_fixed_prompt(llm)

    @property
    def model(self) -> str:
        from .llms.factory import describe

        return describe(self.settings)

    # --- internals -----------------------------------------------------------------------------------

    @property
    def pipeline(self) -> RagPipeline:
        with self._lock:
            if self._pipeline is None:
                from .embeddings import get_embedding_model
                from .index_store import IndexStore
                from .rag import RagPipeline
                from .retrieval import HybridRetriever

                store = IndexStore.open(self.settings.index_dir)
                embed_model = get_embedding_model()
                self._pipeline = RagPipeline(
                    self.settings,
                    HybridRetriever(store, embed_model),
                    embed_model,
                    self._answering_llm(),
                    self.model,
                )
            return self._pipeline

    def _answering_llm(self) -> LLM | None:
        """Built once (None for the extractive mode); safe to call from two threads."""
        with self._llm_lock:
            if self._llm is None:
                from .llms.factory import build_llm

                self._llm = build_llm(self.settings) or False
            return self._llm or None

    def _check(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuestionError("the question is empty")
        question = " ".join(question.split())
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuestionError(
                f"the question is {len(question):,} characters long; the limit is "
                f"{self.settings.max_question_chars:,} (ASSISTANT_MAX_QUESTION_CHARS)"
            )
        return question
