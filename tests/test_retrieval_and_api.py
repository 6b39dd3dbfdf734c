"""Hybrid retrieval and the extractive (no-model) answer path on the real index."""

from pathlib import Path

import pytest

from assistant import Answer, InvalidQuestionError
from assistant.answering.citations import strip_markers
from assistant.answering.retrieval import reciprocal_rank_fusion
from assistant.indexing.documents import load_document
from tests.conftest import GENEVA


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert [item for item, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def test_retrieve_returns_documented_fields(extractive_assistant):
    passages = extractive_assistant.retrieve(GENEVA, k=5)
    assert len(passages) == 5
    assert {"03-china-us-trade-talks-hit-a-roadblock", "05-us-china-talks-lose-momentum-after-geneva"} & {
        p.doc_id for p in passages
    }
    for p in passages:
        assert p.title and p.text and 0 <= p.start < p.end and -1.0 <= p.score <= 1.0
        # A passage is the article's own text at its offsets, and names the file and chunk it came from.
        doc = load_document(Path(p.source))
        assert doc.doc_id == p.doc_id and doc.title == p.title and doc.text[p.start : p.end] == p.text
        assert p.chunk_id.startswith(f"{p.doc_id}:{p.start}-{p.end}:")
    assert len(extractive_assistant.retrieve(GENEVA, k=2)) == 2


def test_keyword_side_finds_exact_rare_terms(extractive_assistant):
    # "Yuyuantantian" is a rare name the embedding model knows nothing about; BM25 finds it.
    top = extractive_assistant.retrieve("Yuyuantantian", k=1)[0]
    assert "Yuyuantantian" in top.text


def test_every_passage_carries_its_cosine_to_the_question(extractive_assistant, monkeypatch):
    import numpy as np

    retriever = extractive_assistant.pipeline.retriever
    nearest = retriever.store.query
    # As in a large index, where a chunk BM25 finds may rank far down the dense list: read only its top 2.
    monkeypatch.setattr(retriever.store, "query", lambda vector, n, doc_ids=None: nearest(vector, 2, doc_ids))
    passages = retriever.retrieve(GENEVA, 5)
    vector = np.array(retriever.embed_model.get_query_embedding(GENEVA))
    dense = {chunk_id for chunk_id, _ in nearest(vector, 2)}
    assert len(passages) == 5 and len({p.chunk_id for p in passages} - dense) >= 3  # found by BM25 alone
    stored = retriever.store.get([p.chunk_id for p in passages])
    for p in passages:
        chunk = np.array(stored[p.chunk_id].vector)
        cosine = float(vector @ chunk / np.linalg.norm(vector) / np.linalg.norm(chunk))
        assert p.score == pytest.approx(cosine, abs=1e-4)


def test_extractive_answer_quotes_cited_sentences(extractive_assistant):
    answer = extractive_assistant.ask("Who is Greta Peisch?")
    assert isinstance(answer, Answer) and not answer.abstained
    assert "Wiley Rein" in answer.text
    assert answer.citations
    for citation in answer.citations:
        passage = answer.passages[citation.marker - 1]
        assert (citation.doc_id, citation.text, citation.start) == (
            passage.doc_id,
            passage.text,
            passage.start,
        )
        for sentence in citation.sentences:
            assert sentence.rstrip(".") in " ".join(passage.text.split())
    assert set(answer.timings) >= {"retrieval", "generation", "total"}


def test_off_topic_question_is_refused_with_the_closest_passages(extractive_assistant):
    answer = extractive_assistant.ask("What is a good recipe for banana bread?")
    assert answer.abstained and answer.citations == []
    assert "do not cover" in answer.text
    assert len(answer.passages) == extractive_assistant.settings.top_k
    assert answer.passages[0].score < extractive_assistant.settings.abstain_below


def test_stream_yields_text_then_the_answer(extractive_assistant):
    # The extractive mode writes its answer in one piece (streams of many deltas: test_local_model,
    # test_openai_backend): the text first, then the checked Answer built from it.
    events = list(extractive_assistant.stream("How many written proposals had the administration received?"))
    assert len(events) == 2
    text, answer = events
    assert isinstance(text, str) and isinstance(answer, Answer)
    assert "18 written proposals" in text and "18" in answer.text
    assert strip_markers(answer.text) == strip_markers(text)


def test_follow_up_uses_the_conversation_for_retrieval(extractive_assistant):
    history = [
        {"role": "user", "content": "Which U.S. goods did China exempt from its 125% tariffs?"},
        {
            "role": "assistant",
            "content": "Ethane, some semiconductor products and certain pharmaceuticals [1].",
        },
    ]
    answer = extractive_assistant.ask("Why did it do that?", history=history)
    assert "exempt" in answer.search_query
    assert any(p.doc_id == "04-trump-administration-reaches-out-to-beijing" for p in answer.passages)


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 100_000])
def test_bad_questions_raise_a_documented_error(extractive_assistant, question):
    with pytest.raises(InvalidQuestionError, match="empty|characters long"):
        extractive_assistant.ask(question)
