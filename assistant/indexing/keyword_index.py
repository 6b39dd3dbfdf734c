"""BM25 over the chunks' texts, with bm25s: English stop words and Snowball stemming, as LlamaIndex's
BM25Retriever does. Saved as bm25s's arrays and the chunk ids in index order; the retriever also kept
every chunk as JSON (2 MB a thousand chunks, held in memory while serving), which nothing here reads."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import bm25s

IDS = "chunk_ids.json"


@dataclass
class KeywordIndex:
    model: bm25s.BM25
    ids: list[str]  # the chunk id of each of the model's documents


def index_texts(texts: dict[str, str]) -> KeywordIndex | None:
    """A keyword index of texts (chunk id -> text), in memory; None for no texts (bm25s cannot index
    nothing)."""
    if not texts:
        return None
    import bm25s

    tokens = bm25s.tokenize(list(texts.values()), stopwords="en", stemmer=_stemmer(), show_progress=False)
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    return KeywordIndex(model, list(texts))


def build_keyword_index(texts: dict[str, str], path: Path) -> None:
    """Index texts (chunk id -> text) into the new folder path; the ids file is written last."""
    path.mkdir(parents=True)
    index = index_texts(texts)
    if index is not None:  # an empty list of ids means "no chunks"
        index.model.save(str(path))
    (path / IDS).write_text(json.dumps(list(texts)), encoding="utf-8")


def is_keyword_index(path: Path) -> bool:
    """Whether path holds a keyword index in this format (the ids file is written last)."""
    return (path / IDS).is_file()


def load_keyword_index(path: Path) -> KeywordIndex | None:
    """The index in path (see is_keyword_index), or None if it holds no chunks."""
    ids = json.loads((path / IDS).read_text(encoding="utf-8"))
    if not ids:
        return None
    import bm25s

    return KeywordIndex(bm25s.BM25.load(str(path)), ids)


def keyword_search(index: KeywordIndex | None, query: str, k: int) -> list[tuple[str, float]]:
    """(chunk_id, bm25 score) best first; chunks that share no term with the query are left out."""
    if index is None:
        return []
    import bm25s

    tokens = bm25s.tokenize(query, stemmer=_stemmer(), show_progress=False)
    found, scores = index.model.retrieve(tokens, k=max(1, min(k, len(index.ids))), show_progress=False)
    return [(index.ids[int(i)], float(s)) for i, s in zip(found[0], scores[0], strict=True) if s > 0.0]


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def document_frequency(index: KeywordIndex | None, word: str) -> int:
    """How many chunks hold the word (by its Snowball stem, as the index counts it); 0 when none does."""
    if index is None:
        return 0
    token = index.model.vocab_dict.get(_stemmer().stemWord(word.lower()))
    indptr = index.model.scores["indptr"]
    if token is None or token + 1 >= len(indptr):
        return 0
    return int(indptr[token + 1] - indptr[token])


def chunk_count(index: KeywordIndex | None) -> int:
    return len(index.ids) if index is not None else 0
