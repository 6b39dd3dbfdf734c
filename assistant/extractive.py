"""The no-model answer: the sentences of the retrieved passages that best match the question, quoted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .chunking import sentences
from .citations import append_marker
from .results import Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

MIN_WORDS = 5


def extractive_answer(
    question: str, passages: list[Passage], embed_model: BaseEmbedding, limit: int = 2
) -> str:
    candidates: dict[str, int] = {}  # sentence -> first passage holding it (overlapping chunks repeat some)
    for i, passage in enumerate(passages):
        for span in sentences(passage.text):
            text = passage.text[span.start : span.end].strip()
            if len(text.split()) >= MIN_WORDS:
                candidates.setdefault(text, i)
    if not candidates:
        return ""
    texts = list(candidates)
    query = embed_model.get_query_embedding(question)
    vectors = embed_model.get_text_embedding_batch(texts)
    # Vectors are normalised, so the dot product is the cosine similarity.
    ranked = sorted(
        range(len(texts)), key=lambda j: -sum(a * b for a, b in zip(query, vectors[j], strict=True))
    )
    return " ".join(append_marker(texts[j], [candidates[texts[j]] + 1]) for j in ranked[:limit])
