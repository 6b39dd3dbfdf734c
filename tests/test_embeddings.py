"""The embedding model in plain torch against sentence-transformers, the reference implementation."""

import numpy as np
from sentence_transformers import SentenceTransformer

from assistant.models.embeddings import embedding_model_path, get_embedding_model

TEXTS = [
    "China's commerce ministry said it had not conducted any consultations or negotiations on tariffs.",
    "  What did Bessent say about the 90-day deals?  ",  # ragged whitespace is stripped by both
    "",
    "Geneva",
    "tariff " * 400,  # longer than 256 tokens: both truncate
]


def test_vectors_match_sentence_transformers():
    ours = np.array(get_embedding_model().get_text_embedding_batch(TEXTS))
    reference = SentenceTransformer(embedding_model_path(), device="cpu").encode(
        TEXTS, normalize_embeddings=True, batch_size=16
    )
    assert ours.shape == (len(TEXTS), 384)
    assert np.abs(ours - reference).max() < 1e-5
    query = np.array(get_embedding_model().get_query_embedding(TEXTS[1]))
    assert np.abs(query - reference[1]).max() < 1e-5
