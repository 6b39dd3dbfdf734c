"""Hybrid retrieval: dense (Chroma, cosine) and BM25 ranked lists fused by reciprocal rank fusion."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..indexing.keyword_index import keyword_search
from ..indexing.store import IndexStore, doc_of
from ..results import Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

RRF_K = 60  # the constant from Cormack et al.; dampens the weight of top ranks
CANDIDATES_PER_RESULT = 4


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of 1 / (k + rank). Best first, ties by first seen."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class HybridRetriever:
    def __init__(self, store: IndexStore, embed_model: BaseEmbedding) -> None:
        self.store = store
        self.embed_model = embed_model
        self.bm25 = store.keyword_index()  # IndexCorruptError if it does not match the chunks
        self.size = store.size()
        self._articles: dict[str, str] | None = None

    def article_text(self, doc_id: str) -> str:
        """The article's text as its chunks hold it, in order ("" for an unknown id): read from the index
        once, the first time it is asked for."""
        if self._articles is None:
            self._articles = self.store.article_texts()
        return self._articles.get(doc_id, "")

    def retrieve(self, query: str, k: int, doc_ids: set[str] | None = None) -> list[Passage]:
        """The k best passages for the query, of the articles `doc_ids` when given. Of the copies of one
        story only the one the manifest shows is searched; its passages name the others (`also_in`)."""
        articles = self.store.manifest.documents
        hidden = {d for d, entry in articles.items() if entry.copy_of in articles}
        if hidden:
            doc_ids = (set(articles) if doc_ids is None else doc_ids) - hidden
        if self.size == 0 or doc_ids is not None and not doc_ids:
            return []
        query_vector = self.embed_model.get_query_embedding(query)
        n = min(self.size, max(k * CANDIDATES_PER_RESULT, 20))
        cosine = dict(self.store.query(query_vector, n, doc_ids))
        if doc_ids is None:
            keyword = keyword_search(self.bm25, query, n)
        else:  # BM25 has no filter: rank every chunk, keep the articles' best n
            ranked = keyword_search(self.bm25, query, self.size)
            keyword = [(cid, s) for cid, s in ranked if doc_of(cid) in doc_ids][:n]
        fused = [cid for cid, _ in reciprocal_rank_fusion([list(cosine), [cid for cid, _ in keyword]])[:k]]
        # Only the k chosen are read; one that BM25 alone found gets its cosine from its vector.
        chunks = self.store.get(fused)
        copies = self.store.manifest.copies_of() if hidden else {}
        passages = []
        for cid in fused:
            if cid not in chunks:  # in BM25 but gone from the index: skip rather than show a stale passage
                continue
            chunk = chunks[cid]
            article = articles.get(chunk.doc_id)
            passages.append(
                Passage(
                    doc_id=chunk.doc_id,
                    title=chunk.title,
                    text=chunk.text,
                    score=round(cosine[cid] if cid in cosine else _cosine(query_vector, chunk.vector), 4),
                    start=chunk.start,
                    end=chunk.end,
                    chunk_id=cid,
                    source=chunk.source,
                    published=article.published if article else None,
                    outlet=article.outlet if article else None,
                    author=article.author if article else None,
                    also_in=tuple(copies.get(chunk.doc_id, ())),
                )
            )
        return passages


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
