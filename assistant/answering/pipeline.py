"""The answering flow, one way: question → search query → passages → evidence → covered? → reply → checks.

`prepare_context` rewrites a follow-up (generation), retrieves (retrieval), picks the sentences the model
reads (evidence) and decides whether the passages cover the question (coverage); `answer_stream` has the
generator write a reply, streams it, and turns it into the Answer the checks allow (checks).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from ..config import Settings
from ..results import Answer, Citation, Context, SentenceCheck
from .checks import check_reply
from .citations import append_marker, cite
from .coverage import NOT_COVERED, missing_names, refusal_text
from .dates import AskedTime, DateRange
from .evidence import SentenceVectors, focus_passages, rank_sentences, select_evidence
from .generation import Generator
from .support import Checker, Lexicon
from .timeline import asked_quantity, timeline_rows, timeline_text

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from .retrieval import HybridRetriever

log = logging.getLogger(__name__)

# With sentence evidence, sentences are chosen from this many times top_k passages: the sentence that
# answers is often in a passage ranked just below the top few (docs/design.md).
EVIDENCE_POOL = 2
# The stages whose seconds add up to an answer's total (first_token lies inside them).
STAGES = ("condense", "retrieval", "evidence", "generation", "checks")
# A timeline question reads this many passages for its rows.
TIMELINE_POOL = 24
# The answer's `model` when a timeline is quoted from the reports: no model wrote it.
TIMELINE_MODEL = "none (a timeline quoted from the reports)"


class RagPipeline:
    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        embed_model: BaseEmbedding,
        sentence_vectors: SentenceVectors,
        generator: Generator,
        model: str,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.embed_model = embed_model
        self.sentence_vectors = sentence_vectors
        self.generator = generator
        self.model = model
        self.checker = Checker(Lexicon(embed_model, retriever.bm25), retriever.article_text)

    def prepare_context(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        k: int | None = None,
        dates: DateRange | None = None,
    ) -> Context:
        """What retrieval finds for the question (a follow-up rewritten first), among the articles
        published inside `dates` when given."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        search_query = self.standalone_question(question, history or [])
        timings["condense"] = time.perf_counter() - started
        if search_query != question:
            log.debug("condense %.2f s: searching for %r", timings["condense"], search_query)
        t = time.perf_counter()
        k = k or self.settings.top_k
        budget = self.settings.evidence_words
        articles = self.retriever.store.manifest.documents
        allowed = dates.doc_ids(articles) if dates else None
        note = dates.note(articles) if dates else ""
        asked = AskedTime.of(search_query) if not dates else None
        if asked and any(entry.published for entry in articles.values()):
            # "What was the rate in April 2026?": what the reports said by then.
            allowed = asked.doc_ids(articles, self.retriever.article_text) or None
            note = asked.note(len(allowed), articles) if allowed else ""
        as_of = asked.until if asked and allowed else None
        candidates = self.retriever.retrieve(search_query, k * EVIDENCE_POOL if budget else k, allowed)
        timings["retrieval"] = time.perf_counter() - t
        log.debug(
            "retrieval %.3f s: %d passages %s",
            timings["retrieval"],
            len(candidates),
            [(p.chunk_id, p.score) for p in candidates],
        )
        best = max((p.score for p in candidates), default=0.0)
        passages, evidence = candidates, dict[int, list[str]]()
        if budget and candidates:
            t = time.perf_counter()
            ranked = rank_sentences(search_query, candidates, self.embed_model, self.sentence_vectors)
            passages, evidence = focus_passages(candidates, select_evidence(ranked, budget, search_query), k)
            # A short question ("Who is Kevin Hassett?") can match one sentence well and its chunk poorly.
            best = max([best] + [e.score for e in ranked])
            timings["evidence"] = time.perf_counter() - t
            log.debug(
                "evidence %.3f s: %d sentences, %d words, from passages %s",
                timings["evidence"],
                sum(len(texts) for texts in evidence.values()),
                sum(len(text.split()) for texts in evidence.values() for text in texts),
                [i + 1 for i in evidence],
            )
        missing = missing_names(search_query, candidates)
        covered = best >= self.settings.abstain_below and not missing
        log.debug(
            "coverage: %s (best cosine %.3f, threshold %.2f%s)",
            "covered" if covered else "not covered",
            best,
            self.settings.abstain_below,
            f", names no passage mentions: {missing}" if missing else "",
        )
        rows = []
        if covered and asked_quantity(search_query):
            # A timeline is quoted from the reports, not written: it reads more of them (no model reads
            # these), and its passages are the rows' (no evidence).
            t = time.perf_counter()
            pool = self.retriever.retrieve(search_query, max(k, TIMELINE_POOL), allowed)
            rows = timeline_rows(search_query, pool, self.checker, self.retriever.article_text)
            if rows:
                cited = list(dict.fromkeys(r.marker for r in rows))
                passages, evidence = [pool[m - 1] for m in cited], {}
                rows = [replace(r, marker=cited.index(r.marker) + 1) for r in rows]
            timings["retrieval"] += time.perf_counter() - t
        return Context(
            question, search_query, passages, covered, timings, missing, evidence, note, rows, as_of
        )

    def standalone_question(self, question: str, history: list[dict[str, str]]) -> str:
        """A follow-up ("and what did China do?") rewritten to stand alone, from the recent messages."""
        # A refusal says nothing the rewrite could use, and the model reads it as the topic ("Is that still
        # the rate?" after one became "Is the tariff still the same?", without it "… as before the Geneva
        # talks?").
        turns = [
            t
            for t in history
            if t.get("role") in ("user", "assistant")
            and str(t.get("content", "")).strip()
            and not (t.get("role") == "assistant" and str(t.get("content")).startswith(NOT_COVERED))
        ]
        turns = turns[-self.settings.history_turns :]
        return self.generator.condense(question, turns) if turns else question

    def answer_stream(self, context: Context) -> Iterator[str | Answer]:
        """Text deltas as they are generated, then the final Answer with checked citations."""
        timings = dict(context.timings)
        if not context.covered or not context.passages:
            text = refusal_text(context.missing_names)
            yield text
            yield self._answer(context, text, [], True, timings)
            return
        if context.timeline:
            text = timeline_text(context.timeline)
            yield text
            sentences = [(append_marker(r.text, [r.marker]), [r.marker]) for r in context.timeline]
            _, citations = cite(sentences, context.passages)
            answer = self._answer(context, text, citations, False, timings, model=TIMELINE_MODEL)
            answer.timeline = context.timeline
            answer.sentences = [
                SentenceCheck(s, tuple(m), "supported", f"quoted from passage [{m[0]}]") for s, m in sentences
            ]
            yield answer
            return
        started = time.perf_counter()
        raw = ""
        for delta in self.generator.stream(context):
            if delta and "first_token" not in timings:
                # Counted from the question, as the user waits: search and evidence included.
                timings["first_token"] = time.perf_counter() - started + sum(context.timings.values())
            raw += delta
            yield delta
        timings["generation"] = time.perf_counter() - started
        log.debug("generation %.2f s (first text at %.2f s): %r", timings["generation"],
                  timings.get("first_token", 0.0), raw)  # fmt: skip
        started = time.perf_counter()
        checked = check_reply(raw, context, self.checker)
        timings["checks"] = time.perf_counter() - started
        log.debug(
            "checks %.3f s: %s; left out sentences naming %s; citations %s; sentences %s",
            timings["checks"],
            "refused" if checked.refused else "answered",
            checked.unsupported,
            [c.marker for c in checked.citations],
            [(s.status, s.reason, s.text) for s in checked.sentences],
        )
        if checked.refused:
            text = refusal_text([])
            if checked.named:
                named = ", ".join(checked.unsupported)
                text += f" (The model's answer named {named}, which no passage states.)"
            answer = self._answer(context, text, [], True, timings, checked.unsupported)
        else:
            answer = self._answer(
                context, checked.text, checked.citations, False, timings, checked.unsupported
            )
        answer.sentences = checked.sentences
        answer.unanswered = checked.unanswered
        answer.differ = checked.differ
        yield answer

    def _answer(
        self,
        context: Context,
        text: str,
        citations: list[Citation],
        abstained: bool,
        timings: dict[str, float],
        unsupported: list[str] | None = None,
        model: str | None = None,
    ) -> Answer:
        timings["total"] = sum(v for k, v in timings.items() if k in STAGES)
        return Answer(
            text=text,
            citations=citations,
            abstained=abstained,
            passages=context.passages,
            question=context.question,
            search_query=context.search_query,
            model=model or (self.model if not abstained or context.covered else "none (not covered)"),
            timings={k: round(v, 4) for k, v in timings.items()},
            evidence={i + 1: texts for i, texts in context.evidence.items()},
            unsupported=unsupported or [],
            dates_note=context.dates_note,
        )
