"""The evaluation suite's own parts: question file, deterministic metrics, reports, and the local judge."""

import json
import math
from pathlib import Path

import pytest

from assistant.errors import AssistantError
from assistant.evaluation.command import _bars, select
from assistant.evaluation.metrics import citation_scores, facts_ok, read_contexts, retrieval_scores
from assistant.evaluation.questions import EvalQuestion, load_questions
from assistant.evaluation.report import write_reports
from assistant.evaluation.runner import aggregate, percentile, score_answer
from assistant.results import Answer, Passage

ROOT = Path(__file__).resolve().parent.parent
GENEVA_TEXT = "Tariffs on Chinese goods were decreased from 145% to 30% after the Geneva talks."


def _answer(text: str, abstained: bool = False) -> Answer:
    passages = [
        Passage("03-x", "T", "Bessent spoke to Fox News.", 0.5, 0, 9),
        Passage("05-y", "T", GENEVA_TEXT, 0.6, 0, 9),
    ]
    return Answer(text, [], abstained, passages, "q", "q", "m", {"total": 1.0, "retrieval": 0.02})


def test_questions_file_covers_every_kind_and_names_real_articles():
    questions = load_questions(ROOT / "eval_questions.yaml")
    assert len(questions) >= 40 and len({q.id for q in questions}) == len(questions)
    assert {q.kind for q in questions} == {
        "single",
        "multi",
        "changed",
        "contradiction",
        "unanswerable",
        "injection",
    }
    articles = {p.stem for p in (ROOT / "docs_corpus").iterdir()}
    for q in questions:
        assert set(q.sources) <= articles, q.id
        assert bool(q.facts) == q.answerable, q.id


def test_bad_questions_file_is_a_clear_error(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("- id: x\n  kind: riddle\n  question: a\n  answer: b\n")
    with pytest.raises(AssistantError, match="unknown kind 'riddle'"):
        load_questions(path)


def test_select_by_kind_id_and_limit():
    qs = [EvalQuestion(str(i), k, "q", "a") for i, k in enumerate(["single", "injection", "single"])]
    assert [q.id for q in select(qs, ("single",), None)] == ["0", "2"]
    assert [q.id for q in select(qs, ("1",), None)] == ["1"]
    assert [q.id for q in select(qs, (), 2)] == ["0", "1"]


def test_deterministic_metrics():
    q = EvalQuestion("q01", "changed", "?", "a", facts=["145%", ["30%", "thirty"]], sources=["05-y"])
    assert facts_ok(q, "from 145% to 30%") and not facts_ok(q, "145% only")
    assert retrieval_scores(q, _answer("").passages) == {"hit": 1.0, "rr": 0.5, "facts_retrieved": 1.0}
    cites = citation_scores(_answer("Tariffs fell from 145% to 30% [2]. Bessent spoke [2]. No marker here."))
    assert cites == {"citation_coverage": pytest.approx(2 / 3), "citation_precision": 0.5}


def test_the_judge_reads_what_the_model_read():
    whole = _answer("Tariffs fell [2].")
    assert read_contexts(whole) == ["Bessent spoke to Fox News.", GENEVA_TEXT]  # it read whole passages
    chosen = _answer("Tariffs fell [1].")
    chosen.evidence = {2: ["Tariffs were cut.", "They fell to 30%."]}
    q = EvalQuestion("q", "single", "?", "a", facts=["30%"], sources=["05-y"])
    result = score_answer(q, chosen, 0.1)
    assert result.contexts == ["Tariffs were cut. They fell to 30%."]
    assert result.passages == ["Bessent spoke to Fox News.", GENEVA_TEXT]  # context precision and recall
    assert result.scores["facts_read"] == 1.0


def test_refusals_and_injections_are_scored_by_kind():
    unanswerable = EvalQuestion("u", "unanswerable", "?", "a")
    injection = EvalQuestion("i", "injection", "?", "a", forbidden=["HACKED"])
    assert score_answer(unanswerable, _answer("no", abstained=True), 0.1).scores == {"refused": 1.0}
    assert score_answer(injection, _answer("HACKED"), 0.1).scores == {"injection_resisted": 0.0}
    assert score_answer(injection, _answer("The tariff fell [2]."), 0.1).scores == {"injection_resisted": 1.0}


def test_reports_are_written_with_bars_computed_from_the_scores(tmp_path):
    q = EvalQuestion("q01", "single", "?", "a", facts=["30%"], sources=["05-y"])
    right = score_answer(q, _answer("Tariffs fell to 30% [2]."), 1.5)
    wrong = score_answer(q, _answer("Tariffs fell to 25% [2]."), 2.5)
    right.scores["ragas_faithfulness"] = math.nan  # the judge failed on it
    summary = aggregate([right, wrong])
    assert summary["facts"] == 0.5 and summary["citation_coverage"] == 1.0
    ours = {"aggregate": summary, "per_question": [right.to_dict(), wrong.to_dict()]}
    assert percentile([1, 2, 3, 4], 50) == 2.5
    peer = score_answer(q, _answer("No idea."), 9.0)
    report: dict = {"questions": 2, "model": "m", "seconds": 1.0, "ours": ours,
              "peer": {"name": "peer", "aggregate": aggregate([peer, peer])}}  # fmt: skip
    report["bars"] = _bars(report)
    verdicts = {b["bar"]: b["pass"] for b in report["bars"]}
    assert verdicts == {"required-fact accuracy: ours > peer": True, "required-fact accuracy >= 0.85": False,
                        "retrieval hit@k: ours > peer": False}  # fmt: skip
    write_reports(report, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["ours"]["per_question"][0]["scores"]["ragas_faithfulness"] is None  # JSON has no NaN
    text = (tmp_path / "report.md").read_text()
    assert "FAIL required-fact accuracy >= 0.85: ours 0.500" in text
    assert "PASS required-fact accuracy: ours > peer: ours 0.500, peer 0.000" in text
    assert "| q01 | single | 0.000 |" in text  # the wrong answer's row
    assert (tmp_path / "scores.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.model
def test_local_judge_tells_a_planted_faithful_answer_from_an_unfaithful_one(tmp_path):
    """The real judge: llama-cpp-python's server on 127.0.0.1 with the packaged model, through ragas."""
    from assistant import Settings
    from assistant.evaluation.judge import REQUESTS, open_judge
    from assistant.evaluation.judge_check import PLANTED

    faithful = next(p for p in PLANTED if p.name == "faithful: Geneva figures")
    unfaithful = next(p for p in PLANTED if p.name == "unfaithful: wrong number")
    with open_judge(Settings.from_env(), "local", tmp_path / "cache") as judge:
        good = judge.score(faithful.sample, ("faithfulness",))["faithfulness"]
        bad = judge.score(unfaithful.sample, ("faithfulness",))["faithfulness"]
    assert good >= 0.5 > bad, judge.errors
    assert REQUESTS["schema_constrained"] > 0  # the server was handed the JSON schema
