"""Sentence-level evidence: the sentences of the retrieved passages ranked by similarity to the question.

Used twice: to give the model only the few sentences that answer (what it reads is the main cost of an
answer, and small models are misled by neighbouring figures), and, with no model, as the answer itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .chunking import sentences
from .citations import append_marker
from .results import Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

MIN_WORDS = 4


@dataclass(frozen=True)
class Evidence:
    score: float  # cosine similarity to the question
    passage: int  # index into the passages list
    position: int  # character offset inside the passage
    text: str


def rank_sentences(question: str, passages: list[Passage], embed_model: BaseEmbedding) -> list[Evidence]:
    """Every sentence of the passages (each once: overlapping chunks repeat some), best first."""
    found: dict[str, tuple[int, int]] = {}
    for i, passage in enumerate(passages):
        for span in sentences(passage.text):
            text = passage.text[span.start : span.end].strip()
            if len(text.split()) >= MIN_WORDS:
                found.setdefault(text, (i, span.start))
    if not found:
        return []
    texts = list(found)
    query = embed_model.get_query_embedding(question)
    vectors = embed_model.get_text_embedding_batch(texts)
    # The vectors are normalised, so the dot product is the cosine similarity.
    scored = [
        Evidence(sum(a * b for a, b in zip(query, vector, strict=True)), *found[text], text)
        for text, vector in zip(texts, vectors, strict=True)
    ]
    return sorted(scored, key=lambda e: -e.score)


def extractive_answer(
    question: str, passages: list[Passage], embed_model: BaseEmbedding, limit: int = 2
) -> str:
    """The best sentences, quoted with the marker of the passage each comes from."""
    best = rank_sentences(question, passages, embed_model)[:limit]
    return " ".join(append_marker(e.text, [e.passage + 1]) for e in best)


def evidence_by_passage(
    question: str, passages: list[Passage], embed_model: BaseEmbedding, limit: int
) -> dict[int, list[str]]:
    """The limit best sentences, grouped by passage index and kept in reading order within each."""
    chosen = sorted(
        rank_sentences(question, passages, embed_model)[:limit], key=lambda e: (e.passage, e.position)
    )
    grouped: dict[int, list[str]] = {}
    for e in chosen:
        grouped.setdefault(e.passage, []).append(e.text)
    return grouped
