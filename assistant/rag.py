"""The RAG flow: prepare_context (condense follow-up → retrieve → decide) and answer_stream (generate → cite).

Data flows one way: question → search query → passages → prompt → text → checked citations → Answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import prompts
from .citations import join_initials, resolve, split_sentences, strip_markers
from .config import Settings
from .evidence import SentenceVectors, extractive_answer, focus_passages, rank_sentences, select_evidence
from .grounding import Grounds, drop_ungrounded
from .llms.factory import backend_errors
from .results import Answer, Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM

    from .retrieval import HybridRetriever

NOT_COVERED = (
    "The articles do not cover this question. The closest passages are listed, but they do not answer it."
)
MODEL_REFUSAL = re.compile(
    r"\b(articles?|passages?|sources?|context)\s+(do|does)\s*(not|n't)\s+"
    r"(answer|contain|mention|say|cover|provide|include|specify|state|address)",
    re.I,
)
REFUSAL_WORDS = 8  # "No, the articles do not answer this question."
HISTORY_CHARS = 600  # per turn: keeps long chats from growing the prompt
# With sentence evidence, sentences are chosen from this many times top_k passages: the sentence that
# answers is often in a passage ranked just below the top few (measured in README, "Speed").
EVIDENCE_POOL = 2
# Capitalised words that are not names: a question about "May" needs no passage saying "May".
NOT_NAMES = frozenset(
    "january february march april may june july august september october november december monday "
    "tuesday wednesday thursday friday saturday sunday".split()
)


@dataclass
class Context:
    """What retrieval found for a question, ready to show before the answer is generated."""

    question: str
    search_query: str
    passages: list[Passage]
    covered: bool  # False: the evidence is too weak, the model will not be called
    timings: dict[str, float] = field(default_factory=dict)
    missing_names: list[str] = field(default_factory=list)  # names in the question no passage mentions
    # What the model reads: passage index -> its chosen sentences; empty: the whole passages.
    evidence: dict[int, list[str]] = field(default_factory=dict)


def missing_names(question: str, passages: list[Passage]) -> list[str]:
    """Capitalised words of the question (names, places) that none of the passages mention.

    A question about "Brazilian coffee" over passages that never say "Brazil" cannot be answered from
    them, however similar the rest of the wording is; small models answer such questions anyway.
    Words are compared by their first five letters, so "Brazilian" matches "Brazil".
    """
    evidence = " ".join(p.text + " " + p.title for p in passages).lower()
    words = re.findall(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-zA-Z]+)", question.strip())
    return [w for w in dict.fromkeys(words) if w.lower() not in NOT_NAMES and w.lower()[:5] not in evidence]


def answers_nothing(raw: str, text: str, citations: list, made_up: list[str]) -> bool:
    """The model's reply, its ungrounded sentences dropped (`text`), answers nothing: it is empty, a
    refusal with no citation, only short refusals ("The articles do not answer this question [1]."; a
    longer sentence, "… do not give the date, but …", may answer in part), or nothing cited is left."""
    if not text or made_up and not citations:
        return True
    if not MODEL_REFUSAL.search(raw):
        return False
    return not citations or all(
        MODEL_REFUSAL.search(part) and len(strip_markers(part).split()) <= REFUSAL_WORDS
        for part in split_sentences(text)
    )


class RagPipeline:
    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        embed_model: BaseEmbedding,
        llm: LLM | None,
        model: str,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.embed_model = embed_model
        self.llm = llm
        self.model = model
        self.sentence_vectors = SentenceVectors(embed_model)

    def prepare_context(
        self, question: str, history: list[dict] | None = None, k: int | None = None
    ) -> Context:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        search_query = self.standalone_question(question, history or [])
        timings["condense"] = time.perf_counter() - started
        t = time.perf_counter()
        k = k or self.settings.top_k
        budget = self.settings.evidence_words
        candidates = self.retriever.retrieve(search_query, k * EVIDENCE_POOL if budget else k)
        timings["retrieval"] = time.perf_counter() - t
        best = max((p.score for p in candidates), default=0.0)
        passages, evidence = candidates, {}
        if budget and candidates:
            t = time.perf_counter()
            ranked = rank_sentences(search_query, candidates, self.embed_model, self.sentence_vectors)
            passages, evidence = focus_passages(candidates, select_evidence(ranked, budget, search_query), k)
            # A short question ("Who is Kevin Hassett?") can match one sentence well and its chunk poorly.
            best = max([best] + [e.score for e in ranked])
            timings["evidence"] = time.perf_counter() - t
        missing = missing_names(search_query, candidates)
        covered = best >= self.settings.abstain_below and not missing
        return Context(question, search_query, passages, covered, timings, missing, evidence)

    def standalone_question(self, question: str, history: list[dict]) -> str:
        """A follow-up ("and what did China do?") rewritten to stand alone, from the recent turns."""
        turns = [
            t for t in history if t.get("role") in ("user", "assistant") and str(t.get("content", "")).strip()
        ]
        turns = turns[-self.settings.history_turns :]
        if not turns:
            return question
        if self.llm is None:  # no model to rewrite with: search on the last question and this one together
            last_user = next((str(t["content"]) for t in reversed(turns) if t["role"] == "user"), "")
            return f"{last_user[:HISTORY_CHARS]} {question}".strip()
        from llama_index.core.base.llms.types import ChatMessage

        transcript = "\n".join(f"{t['role']}: {str(t['content'])[:HISTORY_CHARS]}" for t in turns)
        prompt = prompts.load("condense").format(history=transcript, question=question)
        with backend_errors(self.settings):
            reply = (
                self.llm.chat([ChatMessage(role="user", content=prompt)], max_tokens=60).message.content or ""
            )
        rewritten = reply.strip().strip('"').splitlines()[0].strip() if reply.strip() else ""
        return join_initials(rewritten, f"{transcript} {question}") or question

    def answer_stream(self, context: Context) -> Iterator[str | Answer]:
        """Text deltas as they are generated, then the final Answer with checked citations."""
        timings = dict(context.timings)
        if not context.covered or not context.passages:
            text = NOT_COVERED
            if context.missing_names:
                text += f" (They never mention {', '.join(context.missing_names)}.)"
            yield text
            yield self._answer(context, text, [], True, timings)
            return
        started = time.perf_counter()
        if self.llm is None:
            raw = extractive_answer(
                context.question, context.passages, self.embed_model, self.sentence_vectors
            )
            timings["generation"] = time.perf_counter() - started
            yield raw
        else:
            raw = ""
            first = None
            with backend_errors(self.settings):
                warm_fixed_prompt(self.llm)  # milliseconds unless no earlier process saved it
                for chunk in self.llm.stream_chat(self.messages(context)):
                    delta = chunk.delta or ""
                    if delta and first is None:
                        first = time.perf_counter()
                        # Counted from the question, as the user waits: search and evidence included.
                        timings["first_token"] = first - started + sum(context.timings.values())
                    raw += delta
                    yield delta
            timings["generation"] = time.perf_counter() - started
        # The model may read titles too (whole-passage prompts): a name from a title is grounded.
        asked = f"{context.question} {context.search_query}"
        sources = [f"{p.title} {p.text}" for p in context.passages]
        grounds = Grounds(sources, asked)
        reply = join_initials(raw, " ".join(sources))
        grounded, made_up = drop_ungrounded(reply, grounds, len(context.passages))
        text, citations = resolve(grounded, context.passages)
        if answers_nothing(raw, text, citations, made_up):
            # A refusal that repeats the question's "2018" is a refusal, not a made-up answer.
            note = f" (The model's answer named {', '.join(made_up)}, which no passage states.)"
            named = made_up and not MODEL_REFUSAL.search(raw)
            yield self._answer(context, NOT_COVERED + (note if named else ""), [], True, timings, made_up)
            return
        yield self._answer(context, text, citations, False, timings, made_up)

    def answer(self, context: Context) -> Answer:
        final = None
        for event in self.answer_stream(context):
            final = event
        assert isinstance(final, Answer)
        return final

    def messages(self, context: Context) -> list:
        from llama_index.core.base.llms.types import ChatMessage

        if context.evidence:
            # About 90 words of sentences; article titles would add a third again to what the model reads
            # (the main cost of an answer) and did not make answers more accurate (README, "Speed").
            numbered = "\n".join(f"[{i + 1}] {' … '.join(texts)}" for i, texts in context.evidence.items())
        else:  # whole passages, as a hosted model can afford; the titles help the model place them
            numbered = "\n\n".join(
                f"[{i + 1}] ({p.title}) {' '.join(p.text.split())}" for i, p in enumerate(context.passages)
            )
        user = prompts.load("answer_user").format(passages=numbered, question=context.question)
        return [
            ChatMessage(role="system", content=prompts.load("answer_system")),
            ChatMessage(role="user", content=user),
        ]

    def _answer(
        self,
        context: Context,
        text: str,
        citations: list,
        abstained: bool,
        timings: dict,
        unsupported: list[str] | None = None,
    ) -> Answer:
        timings["total"] = sum(
            v for k, v in timings.items() if k in ("condense", "retrieval", "evidence", "generation")
        )
        return Answer(
            text=text,
            citations=citations,
            abstained=abstained,
            passages=context.passages,
            question=context.question,
            search_query=context.search_query,
            model=self.model if not abstained or context.covered else "none (not covered)",
            timings={k: round(v, 4) for k, v in timings.items()},
            evidence={i + 1: texts for i, texts in context.evidence.items()},
            unsupported=unsupported or [],
        )


def warm_fixed_prompt(llm: LLM) -> str | None:
    """Have the local model hold the evaluation of the fixed start of every answer prompt (the system
    prompt and the user message up to the passages), which answers reuse: evaluated once, then kept on
    disk for later processes. Called before each answer, as a follow-up's rewriting overwrites it."""
    if not hasattr(llm, "warm_prefix"):
        return None  # a hosted or served model: nothing to warm here
    from llama_index.core.base.llms.types import ChatMessage

    from .llms.local import chatml

    fixed_user = prompts.load("answer_user").split("{passages}")[0]
    prompt = chatml(
        [
            ChatMessage(role="system", content=prompts.load("answer_system")),
            ChatMessage(role="user", content=fixed_user),
        ]
    )
    # Cut where the passages would start: the user message must stay open, as in a real prompt.
    return llm.warm_prefix(prompt[: prompt.rindex("<|im_end|>")])
