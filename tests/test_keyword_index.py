"""The keyword index (indexing/keyword_index.py) against bm25s's own: built from the five articles' chunks it
holds the same terms with the same scores, bit for bit, and finds the same chunks; updated by chunks taken
out and put in, it is the index a rebuild of the texts that leaves would give, and the index it was made
from is unchanged (a replica answers from it meanwhile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CORPUS

QUERIES = [
    "What tariff did the U.S. impose on Chinese goods after the Geneva talks?",
    "Bessent nearly impossible 90-day pause",
    "rare earth magnets export controls",
    "semiconductors exempted smartphones",
    "zzzz qqqq",  # no known term: nothing found
]


def _texts(*skip: str) -> dict[str, str]:
    """chunk id -> text of the five articles' chunks, as ingest makes them (articles in `skip` left out)."""
    from assistant.config import Settings
    from assistant.indexing.chunking import chunk_document
    from assistant.indexing.documents import list_corpus, load_document

    settings = Settings()
    texts = {}
    for path in list_corpus(CORPUS):
        doc = load_document(path)
        if doc.doc_id not in skip:
            for chunk in chunk_document(doc, settings.chunk_words, settings.chunk_overlap_sentences):
                texts[chunk.chunk_id] = chunk.text
    return texts


def _entries(index) -> dict[tuple[str, str], float]:
    """(term, chunk id) -> score of every entry of the index's score matrix."""
    terms = {tid: term for term, tid in index.model.vocab_dict.items()}
    scores = index.model.scores
    out = {}
    for tid in range(len(scores["indptr"]) - 1):
        for at in range(scores["indptr"][tid], scores["indptr"][tid + 1]):
            out[(terms[tid], index.ids[scores["indices"][at]])] = float(scores["data"][at])
    return out


def test_the_index_holds_bm25s_own_scores_and_finds_what_it_finds():
    import bm25s

    from assistant.indexing.keyword_index import KeywordIndex, _stemmer, index_texts, keyword_search

    texts = _texts() | {"stop-words-only:0-9:x": "it is and the of"}  # a chunk with no term at all
    ours = index_texts(texts)
    assert ours is not None
    tokens = bm25s.tokenize(list(texts.values()), stopwords="en", stemmer=_stemmer(), show_progress=False)
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)
    theirs = KeywordIndex(model, list(texts))

    assert set(ours.model.vocab_dict) == set(model.vocab_dict)
    got, want = _entries(ours), _entries(theirs)
    assert len(want) > 2000 and got == want  # the same floats, not close ones
    assert ours.model.scores["num_docs"] == len(texts)
    for key in ("data", "indices", "indptr"):
        assert ours.model.scores[key].dtype == model.scores[key].dtype
    for query in QUERIES:
        assert keyword_search(ours, query, 8) == keyword_search(theirs, query, 8)
    assert keyword_search(ours, QUERIES[0], 8) and not keyword_search(ours, QUERIES[-1], 8)


def test_an_update_gives_the_index_a_rebuild_gives_and_leaves_the_old_one_as_it_was():
    from assistant.indexing.keyword_index import index_texts, keyword_search, updated

    texts = _texts()
    docs = sorted({cid.rsplit(":", 2)[0] for cid in texts})
    old = index_texts(_texts(docs[0]))  # the first article not yet in
    assert old is not None
    kept = {key: old.model.scores[key].copy() for key in ("data", "indices", "indptr")}
    vocab = dict(old.model.vocab_dict)

    # The first article comes in, the second goes, and a new article brings words no chunk had.
    new = {cid: text for cid, text in texts.items() if not cid.startswith(docs[1] + ":")}
    new["valmora:0-120:abc"] = (
        "Valmora dockworkers ended their 12-day strike after a 7.5% raise, the union said."
    )
    removed = set(old.ids) - set(new)
    added = {cid: text for cid, text in new.items() if cid not in old.ids}
    assert removed and len(added) > 2
    got = updated(old, removed, added)
    want = index_texts({cid: new[cid] for cid in [*(c for c in old.ids if c in new), *added]})
    assert got is not None and want is not None
    assert got.ids == want.ids
    assert _entries(got) == _entries(want)
    assert got.lengths is not None and want.lengths is not None
    assert np.array_equal(got.lengths, want.lengths)
    for query in [*QUERIES, "Valmora dockworkers strike"]:
        assert keyword_search(got, query, 8) == keyword_search(want, query, 8)
    assert keyword_search(got, "Valmora dockworkers strike", 1)[0][0] == "valmora:0-120:abc"

    # The index it was made from still answers as before.
    for key, array in kept.items():
        assert np.array_equal(old.model.scores[key], array)
    assert old.model.vocab_dict == vocab
    assert not keyword_search(old, "Valmora dockworkers", 8)

    # Updated again, from the update: the same as a rebuild still.
    again = updated(got, {"valmora:0-120:abc"}, {})
    assert again is not None and _entries(again) == _entries(index_texts({c: new[c] for c in again.ids}))
    # Everything taken out: no index, as for no texts.
    assert updated(got, set(got.ids), {}) is None


def test_only_an_index_built_in_memory_can_be_updated(tmp_path: Path):
    from assistant.indexing.keyword_index import build_keyword_index, load_keyword_index, updated

    build_keyword_index(_texts(), tmp_path / "bm25")
    loaded = load_keyword_index(tmp_path / "bm25")
    assert loaded is not None
    with pytest.raises(ValueError, match="built in memory"):
        updated(loaded, set(), {"x:0-1:y": "text"})
