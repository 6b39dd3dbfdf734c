"""Deterministic checks of one answer against its question: no judge model, so they cannot be fooled."""

from __future__ import annotations

from ..answering.citations import support
from ..results import Answer, Passage
from .questions import EvalQuestion

CITATION_SUPPORT = 0.5  # share of a sentence's content words found in the passage it cites


def fact_present(fact: str | list[str], text: str) -> bool:
    options = fact if isinstance(fact, list) else [fact]
    return any(option.lower() in text.lower() for option in options)


def facts_ok(question: EvalQuestion, text: str) -> bool:
    return all(fact_present(f, text) for f in question.facts)


def retrieval_scores(question: EvalQuestion, passages: list[Passage]) -> dict[str, float]:
    """hit@k, reciprocal rank of the first supporting article, and whether the passages hold the facts."""
    ranks = [i for i, p in enumerate(passages, start=1) if p.doc_id in question.sources]
    text = " ".join(p.text for p in passages)
    return {
        "hit": float(bool(ranks)),
        "rr": 1.0 / ranks[0] if ranks else 0.0,
        "facts_retrieved": float(facts_ok(question, text)),
    }


def read_contexts(answer: Answer) -> list[str]:
    """What the model read, one context per passage: its chosen sentences (a sentence that opens "She…"
    comes with the one before it, so who "she" is is there too), or the whole passages when it read them.
    Faithfulness is judged against this, the context the answer was written from."""
    read = [" ".join(texts) for texts in answer.evidence.values()]
    return read or [p.text for p in answer.passages]


def read_scores(question: EvalQuestion, answer: Answer) -> dict[str, float]:
    """Whether what the model read (its evidence sentences, or the whole passages) holds the facts."""
    return {"facts_read": float(facts_ok(question, " ".join(read_contexts(answer))))}


def claims(text: str) -> str:
    """The answer's own sentences: what the checks note after them (the parts no passage answers) cites
    nothing, and is not counted against its citations."""
    from ..answering.checks import NOTHING_FOR, PART_NOT_ANSWERED

    for note in (PART_NOT_ANSWERED, NOTHING_FOR):
        text = text.split(f" {note} ")[0]
    return text


def citation_scores(answer: Answer) -> dict[str, float]:
    """coverage: share of answer sentences with a marker; precision: share of (sentence, cited passage)
    pairs where the passage supports the sentence (its numbers are there, and most of its words). The
    checks' notes on what the articles do not answer are not the answer's sentences."""
    from ..answering.citations import markers_in, split_sentences

    sentences = [s for s in split_sentences(claims(answer.text)) if s.strip()]
    cited = [s for s in sentences if markers_in(s)]
    pairs = [(s, m) for s in cited for m in markers_in(s)]
    supported = sum(1 for s, m in pairs if support(s, answer.passages[m - 1].text) >= CITATION_SUPPORT)
    return {
        "citation_coverage": len(cited) / len(sentences) if sentences else 0.0,
        "citation_precision": supported / len(pairs) if pairs else 0.0,
    }
