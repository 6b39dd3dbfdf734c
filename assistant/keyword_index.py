"""BM25 over the same chunks as the vector store, through LlamaIndex's BM25Retriever (bm25s)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever


def build_keyword_index(nodes: list[TextNode], path: Path) -> None:
    path.mkdir(parents=True)
    if not nodes:  # bm25s cannot index nothing; an empty folder means "no chunks"
        return
    from llama_index.retrievers.bm25 import BM25Retriever

    BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=1).persist(str(path), show_progress=False)


def load_keyword_index(path: Path) -> BM25Retriever | None:
    if not (path / "retriever.json").exists():
        return None
    from llama_index.retrievers.bm25 import BM25Retriever

    # bm25s warns when k exceeds the corpus; search() clamps k itself.
    logging.getLogger("llama_index.retrievers.bm25.base").setLevel(logging.ERROR)
    return BM25Retriever.from_persist_dir(str(path), show_progress=False)


def keyword_search(retriever: BM25Retriever | None, query: str, k: int) -> list[tuple[str, float]]:
    """(chunk_id, bm25 score) best first; chunks that share no term with the query are left out."""
    if retriever is None:
        return []
    retriever.similarity_top_k = max(1, min(k, len(retriever.corpus)))
    hits = retriever.retrieve(query)
    return [(hit.node.node_id, float(hit.score or 0.0)) for hit in hits if (hit.score or 0.0) > 0.0]
