"""all-MiniLM-L6-v2 in plain torch: the BERT encoder, mean pooling over real tokens, L2 normalisation.

This is what sentence-transformers computes for this model (its modules.json: Transformer → Pooling
(mean) → Normalize, max_seq_length 256), read straight from the packaged model.safetensors and
tokenizer.json, so no process imports sentence-transformers (and through it transformers and scikit-learn:
seconds of every start, docs/design.md). tests/test_embeddings.py checks the vectors
against sentence-transformers itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length
BATCH = 16  # texts per forward pass (the fastest on 2 cores: docs/design.md)


class MiniLM:
    def __init__(self, folder: Path) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.weights: dict[str, Any] = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # each pass pads its own texts, in embed()
        self.torch = torch

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors in the order of texts. Passes of BATCH texts of similar length: padded to the longest of
        the pass, the texts in corpus order carried 21 % padding tokens (chunks of 15 to 133 tokens), sorted
        1 %, and embedding is 20-30 % faster."""
        ids = [e.ids for e in self.tokenizer.encode_batch([t.strip() for t in texts])]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        vectors: list[list[float]] = [[] for _ in ids]
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            width = max(len(ids[i]) for i in batch)
            padded = self.torch.tensor([ids[i] + [0] * (width - len(ids[i])) for i in batch])
            mask = self.torch.tensor([[1] * len(ids[i]) + [0] * (width - len(ids[i])) for i in batch])
            with self.torch.inference_mode():
                pooled = self._pool(self.hidden(padded, mask), mask)
            for i, vector in zip(batch, pooled, strict=True):
                vectors[i] = vector
        return vectors

    def hidden(self, ids: Any, mask: Any) -> Any:
        """The encoder's last hidden states, (batch, tokens, 384), for token ids and their mask."""
        torch, w = self.torch, self.weights
        F = torch.nn.functional
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        keep = mask[:, None, None, :].bool()  # (batch, 1, 1, tokens): padding is never attended to
        for n in range(self.layers):
            p = f"encoder.layer.{n}."
            q, k, v = (
                self._heads(self._linear(x, p + f"attention.self.{m}")) for m in ("query", "key", "value")
            )
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            context = context.transpose(1, 2).reshape(x.shape)
            x = self._norm(
                x + self._linear(context, p + "attention.output.dense"), p + "attention.output.LayerNorm"
            )
            hidden = F.gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(x + self._linear(hidden, p + "output.dense"), p + "output.LayerNorm")
        return x

    def _pool(self, x: Any, mask: Any) -> list[list[float]]:
        weights = mask[:, :, None].to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return self.torch.nn.functional.normalize(pooled, p=2, dim=1).tolist()

    def _linear(self, x: Any, name: str) -> Any:
        return self.torch.nn.functional.linear(
            x, self.weights[name + ".weight"], self.weights[name + ".bias"]
        )

    def _norm(self, x: Any, name: str) -> Any:
        w = self.weights
        return self.torch.nn.functional.layer_norm(
            x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], self.eps
        )

    def _heads(self, x: Any) -> Any:
        batch, tokens, width = x.shape
        return x.view(batch, tokens, self.heads, width // self.heads).transpose(1, 2)


class MiniLMEmbedding(BaseEmbedding):
    """The LlamaIndex face of assistant.minilm. LlamaIndex hands over up to 1,024 texts a call, so that
    MiniLM.embed can sort them by length into its passes."""

    _model: MiniLM = PrivateAttr()

    def __init__(self, folder: Path) -> None:
        super().__init__(model_name="all-MiniLM-L6-v2", embed_batch_size=1024)
        self._model = MiniLM(folder)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._model.embed(texts)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._model.embed([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._model.embed([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
