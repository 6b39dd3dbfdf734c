"""The peer baseline: a plain LlamaIndex pipeline over the same articles, same embedding model, same LLM.

VectorStoreIndex with its default chunking (SentenceSplitter, 1024 tokens) in memory, and
`as_query_engine()` with its defaults (top-2, the default QA prompt). No hybrid search, no abstention, no
citation checking: what a first LlamaIndex tutorial builds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..answering.checks import MODEL_REFUSAL
from ..results import Answer, Passage

if TYPE_CHECKING:
    from pathlib import Path

    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import LLM


class PeerPipeline:
    name = "plain LlamaIndex (VectorStoreIndex defaults, as_query_engine())"

    def __init__(self, corpus_dir: Path, embed_model: BaseEmbedding, llm: LLM) -> None:
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
        from llama_index.core.query_engine import RetrieverQueryEngine

        documents = SimpleDirectoryReader(str(corpus_dir), required_exts=[".md", ".txt"]).load_data()
        index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
        engine = index.as_query_engine(llm=llm)
        assert isinstance(engine, RetrieverQueryEngine)  # what as_query_engine() builds
        self.engine = engine
        self.model = getattr(llm.metadata, "model_name", "llm")

    def chunks_for(self, question: str) -> tuple[str, ...]:
        """The ids of the chunks its prompt will hold, in prompt order."""
        return tuple(n.node.node_id for n in self.engine.retriever.retrieve(question))

    def ask(self, question: str) -> Answer:
        started = time.perf_counter()
        response = self.engine.query(question)
        seconds = time.perf_counter() - started
        text = str(response).strip()
        passages = [
            Passage(
                doc_id=str(n.node.metadata.get("file_name", "")).rsplit(".", 1)[0],
                title=str(n.node.metadata.get("file_name", "")),
                text=n.node.get_content(),
                score=float(n.score or 0.0),
                start=int(getattr(n.node, "start_char_idx", None) or 0),
                end=int(getattr(n.node, "end_char_idx", None) or 0),
            )
            for n in response.source_nodes
        ]
        return Answer(
            text=text,
            citations=[],
            abstained=bool(MODEL_REFUSAL.search(text)) or "not mention" in text.lower(),
            passages=passages,
            question=question,
            search_query=question,
            model=self.model,
            timings={"total": round(seconds, 3)},
        )
