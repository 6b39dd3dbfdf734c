"""BM25 over the chunks' texts, in bm25s's form: English stop words and Snowball stemming, as LlamaIndex's
BM25Retriever does, bm25s's default scoring (Lucene's BM25, k1 1.5, b 0.75) and its sparse score matrix,
which its `retrieve` searches. Saved as bm25s's arrays and the chunk ids in index order; the retriever also
kept every chunk as JSON (2 MB a thousand chunks, held in memory while serving), which nothing here reads.

The matrix is built here, with numpy, not by `bm25s.BM25.index`: that counts terms in a Python loop a chunk
at a time (55 s of a replica's 93 s at 1,000,000 chunks, docs/benchmarks.md), and it cannot be updated. An
index built in memory keeps each entry's term count and each chunk's length, so `updated` makes the index
of a few changed articles' chunks without reading or tokenizing the others again: a replica's refresh on a
Chroma server (server_store.py). Both give exactly the scores bm25s would (tests/test_keyword_index.py).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import bm25s

IDS = "chunk_ids.json"
_WORDS = re.compile(r"(?u)\b\w\w+\b").findall  # bm25s.tokenize's token_pattern
_TOKENIZE_BATCH = 20_000  # texts tokenized a batch at a time: the term ids of one batch held as Python ints
_SCORE_BLOCK = 65_536  # score matrix entries computed at a time


@dataclass
class KeywordIndex:
    model: bm25s.BM25
    ids: list[str]  # the chunk id of each of the model's documents
    # What `updated` needs (an index built in memory; None for one loaded from files): the term count of
    # each entry of the score matrix, in its order, and each chunk's length in terms.
    counts: np.ndarray | None = None
    lengths: np.ndarray | None = None


def index_texts(texts: dict[str, str]) -> KeywordIndex | None:
    """A keyword index of texts (chunk id -> text), in memory; None for no texts (bm25s cannot index
    nothing)."""
    if not texts:
        return None
    vocab: dict[str, int] = {}
    terms, lengths = _tokenize(list(texts.values()), vocab)
    terms, chunks, counts = _entries(terms, lengths, 0)
    return _scored(list(texts), vocab, _columns(terms, len(vocab)), chunks, counts, lengths)


def updated(index: KeywordIndex, removed: set[str], added: dict[str, str]) -> KeywordIndex | None:
    """The index with the chunks `removed` (ids) taken out and `added` (id -> text) put in: the scores
    `index_texts` gives for the texts that leaves, the kept chunks first in their order. Only the added texts
    are tokenized; `index` itself is not changed (it may be answering a question meanwhile). It must have
    been built in memory (`counts`)."""
    if index.counts is None or index.lengths is None:
        raise ValueError("only a keyword index built in memory can be updated")
    gone = removed | added.keys()
    keep = np.fromiter((cid not in gone for cid in index.ids), dtype=bool, count=len(index.ids))
    ids = [cid for cid, kept in zip(index.ids, keep, strict=True) if kept] + list(added)
    if not ids:
        return None
    vocab = {term: tid for term, tid in index.model.vocab_dict.items() if term}  # a copy: "" is re-added
    indptr, chunks, counts = index.model.scores["indptr"], index.model.scores["indices"], index.counts
    lengths = index.lengths
    if not keep.all():  # the kept chunks' entries, renumbered in order
        dropped = np.flatnonzero(~keep[chunks])
        indptr = indptr - np.searchsorted(dropped, indptr)  # each column's start, less the entries before
        chunks = (np.cumsum(keep) - 1).astype(np.int32)[np.delete(chunks, dropped)]
        counts, lengths = np.delete(counts, dropped), lengths[keep]
    new_terms, new_lengths = _tokenize(list(added.values()), vocab)
    new_terms, new_chunks, new_counts = _entries(new_terms, new_lengths, len(lengths))
    # Each new entry goes at the end of its term's column (its chunk comes after every kept one): the
    # columns stay in chunk order, as a rebuild makes them, with no sort of the kept entries.
    indptr = np.concatenate([indptr, np.full(len(vocab) + 1 - len(indptr), indptr[-1])])  # new terms' columns
    at = indptr[new_terms + 1]
    return _scored(
        ids,
        vocab,
        np.diff(indptr) + _columns(new_terms, len(vocab)),
        np.insert(chunks, at, new_chunks),
        np.insert(counts, at, new_counts),
        np.concatenate([lengths, new_lengths]),
    )


def _tokenize(texts: list[str], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """The texts' terms as `bm25s.tokenize(texts, stopwords="en", stemmer=...)` makes them (lower case,
    words of two or more letters or digits, stop words out, Snowball stems), as ids of `vocab` (a new stem is
    added to it): (every text's term ids one after another, each text's number of terms)."""
    from bm25s.stopwords import STOPWORDS_EN

    stop = frozenset(STOPWORDS_EN)
    lengths = np.zeros(len(texts), dtype=np.int64)
    parts = []
    for start in range(0, len(texts), _TOKENIZE_BATCH):
        words: dict[str, int] = {}  # a word as written -> its place in this batch's `words`
        flat: list[int] = []
        for n, text in enumerate(texts[start : start + _TOKENIZE_BATCH], start):
            ids = [words.setdefault(word, len(words)) for word in _WORDS(text.lower()) if word not in stop]
            lengths[n] = len(ids)
            flat += ids
        stems = _stemmer().stemWords(list(words))
        to_vocab = np.array([vocab.setdefault(stem, len(vocab)) for stem in stems], dtype=np.int32)
        parts.append(to_vocab[np.array(flat, dtype=np.int64)] if flat else np.zeros(0, dtype=np.int32))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32), lengths


def _entries(terms: np.ndarray, lengths: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The score matrix's entries of chunks numbered from `first` (their terms one after another, and each
    one's number of them): (term, chunk, count) of each distinct term of a chunk, in (term, chunk) order."""
    chunks = np.repeat(np.arange(first, first + len(lengths), dtype=np.int64), lengths)
    packed, counts = np.unique((terms.astype(np.int64) << 32) | chunks, return_counts=True)
    return (packed >> 32).astype(np.int32), (packed & 0xFFFFFFFF).astype(np.int32), counts.astype(np.uint32)


def _columns(terms: np.ndarray, size: int) -> np.ndarray:
    """How many entries each of `size` terms has (its column's length: the chunks that hold it)."""
    return np.bincount(terms, minlength=size).astype(np.int64)


def _scored(
    ids: list[str],
    vocab: dict[str, int],
    frequency: np.ndarray,
    chunks: np.ndarray,
    counts: np.ndarray,
    lengths: np.ndarray,
) -> KeywordIndex:
    """A bm25s model of these entries (in (term, chunk) order; `frequency`: how many each term has), its
    scores computed as bm25s.BM25.index computes them: the same float types in the same steps, so the
    same numbers."""
    import bm25s

    model = bm25s.BM25()
    if model.method != "lucene" or model.idf_method != "lucene":
        raise AssertionError(f"bm25s scores with {model.method}, not Lucene's BM25, by default")
    indptr = np.zeros(len(frequency) + 1, dtype=np.int64)
    np.cumsum(frequency, out=indptr[1:])
    n = len(ids)
    with np.errstate(divide="ignore"):
        idf = np.where(frequency > 0, np.log(1 + (n - frequency + 0.5) / (frequency + 0.5)), 0.0)
    # bm25s: idf * tf / (k1 * ((1 - b) + b * length / mean length) + tf), with its idf a float32 and the
    # first term of the sum a float64 per chunk; a block of entries at a time, its arrays held in cache.
    norm = model.k1 * ((1 - model.b) + model.b * lengths / lengths.mean())
    idf_entries = np.repeat(idf.astype(np.float32), frequency)
    data = np.empty(len(chunks), dtype=np.float32)
    for start in range(0, len(chunks), _SCORE_BLOCK):
        block = slice(start, start + _SCORE_BLOCK)
        tf = counts[block].astype(np.float32)
        scores = norm[chunks[block]]
        scores += tf
        np.divide(tf, scores, out=scores)
        scores *= idf_entries[block]
        data[block] = scores
    model.scores = {
        "data": data,
        "indices": chunks.astype(np.int32, copy=False),
        "indptr": indptr,
        "num_docs": n,
    }
    model.nonoccurrence_array = None
    model.vocab_dict = dict(vocab)
    model.vocab_dict.setdefault("", len(model.vocab_dict))  # as bm25s: what a query of no known term finds
    model.unique_token_ids_set = set(model.vocab_dict.values())
    small = counts.dtype if not len(counts) or counts.max() >= 2**16 else np.uint16
    return KeywordIndex(model, ids, counts.astype(small, copy=False), lengths)


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
