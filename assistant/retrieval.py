"""Hybrid retrieval: dense (Chroma, cosine) and BM25 ranked lists fused by reciprocal rank fusion."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .index_store import IndexStore
from .keyword_index import keyword_search, load_keyword_index
from .results import Passage

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import BaseNode

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
        from .errors import IndexCorruptError

        if not store.bm25_current():
            raise IndexCorruptError(
                f"the keyword index in {store.bm25_dir} does not match the vector store "
                "(an ingest was interrupted?); run `assistant ingest` to repair it"
            )
        self.store = store
        self.embed_model = embed_model
        self.bm25 = load_keyword_index(store.bm25_dir)
        self.size = store.collection.count()

    def retrieve(self, query: str, k: int) -> list[Passage]:
        if self.size == 0:
            return []
        from llama_index.core.vector_stores.types import VectorStoreQuery

        query_vector = self.embed_model.get_query_embedding(query)
        n = min(self.size, max(k * CANDIDATES_PER_RESULT, 20))
        dense = self.store.vector_store.query(
            VectorStoreQuery(query_embedding=query_vector, similarity_top_k=n)
        )
        nodes: dict[str, BaseNode] = {node.node_id: node for node in dense.nodes or []}
        # Chroma's wrapper reports exp(-distance); in cosine space distance = 1 - cosine.
        cosine = {
            nid: 1.0 + math.log(max(s, 1e-12))
            for nid, s in zip(dense.ids or [], dense.similarities or [], strict=True)
        }
        keyword = keyword_search(self.bm25, query, n)
        fused = reciprocal_rank_fusion([list(cosine), [cid for cid, _ in keyword]])[:k]

        missing = [cid for cid, _ in fused if cid not in nodes]
        if missing:
            self._fetch(missing, query_vector, nodes, cosine)
        passages = []
        for cid, _ in fused:
            node = nodes.get(cid)
            if node is None:  # in BM25 but gone from Chroma: skip rather than show a stale passage
                continue
            meta = node.metadata
            passages.append(
                Passage(
                    doc_id=str(meta["doc_id"]),
                    title=str(meta["title"]),
                    text=node.get_content(),
                    score=round(cosine.get(cid, 0.0), 4),
                    start=int(meta["start"]),
                    end=int(meta["end"]),
                    chunk_id=cid,
                    source=str(meta.get("source", "")),
                )
            )
        return passages

    def _fetch(self, ids: list[str], query_vector: list[float], nodes: dict, cosine: dict) -> None:
        """Load chunks that only BM25 found, and their cosine similarity to the query."""
        got = self.store.collection.get(ids=ids, include=["embeddings"])
        for cid, vector in zip(got["ids"], got["embeddings"], strict=True):
            cosine[cid] = _cosine(query_vector, list(vector))
        for node in self.store.vector_store.get_nodes(node_ids=ids):
            nodes[node.node_id] = node


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
