"""The evaluation suite's own parts: question file, deterministic metrics, reports, and the local judge."""

import json
import math
from pathlib import Path

import pytest

from assistant.errors import AssistantError
from assistant.evaluation.command import GENERALISATION_KINDS, _bars, _section, select
from assistant.evaluation.metrics import citation_scores, facts_ok, read_contexts, retrieval_scores
from assistant.evaluation.questions import DATED_KINDS, KINDS, EvalQuestion, load_questions
from assistant.evaluation.report import write_reports
from assistant.evaluation.runner import percentile, run, score_answer
from assistant.indexing.documents import load_document
from assistant.results import Answer, Passage

ROOT = Path(__file__).resolve().parent.parent
GENEVA_TEXT = "Tariffs on Chinese goods were decreased from 145% to 30% after the Geneva talks."


def _answer(text: str, abstained: bool = False) -> Answer:
    passages = [
        Passage("03-x", "T", "Bessent spoke to Fox News.", 0.5, 0, 9),
        Passage("05-y", "T", GENEVA_TEXT, 0.6, 0, 9),
    ]
    return Answer(text, [], abstained, passages, "q", "q", "m", {"total": 1.0, "retrieval": 0.02})


def _facts_stated_by_their_seed_articles(questions: list[EvalQuestion]) -> None:
    """Each question names seed articles, has facts only when answerable, and every required fact is
    stated by an article it names (one of its options, at least)."""
    articles = {p.stem: load_document(p).text.lower() for p in (ROOT / "docs_corpus").iterdir()}
    for q in questions:
        assert set(q.sources) <= set(articles), q.id
        assert bool(q.facts) == q.answerable, q.id
        text = " ".join(articles[s] for s in q.sources)
        for fact in q.facts:
            assert any(o.lower() in text for o in (fact if isinstance(fact, list) else [fact])), (q.id, fact)


def _twins(questions: list[EvalQuestion]) -> dict[str, tuple[EvalQuestion, EvalQuestion]]:
    """The minimal pairs by their number (p07a, p07b): each exactly two, the a twin answerable and the b
    twin not."""
    by_number: dict[str, list[EvalQuestion]] = {}
    for q in questions:
        if q.kind == "pair":
            by_number.setdefault(q.id[:-1], []).append(q)
    out = {}
    for number, pair in by_number.items():
        answerable, unanswerable = sorted(pair, key=lambda q: q.id)
        assert answerable.answerable and not unanswerable.answerable, number
        out[number] = (answerable, unanswerable)
    return out


def test_questions_file_covers_every_kind_and_names_real_articles():
    questions = load_questions(ROOT / "eval_questions.yaml")
    assert len(questions) >= 175 and len({q.id for q in questions}) == len(questions)
    assert {q.kind for q in questions} == set(KINDS)
    _facts_stated_by_their_seed_articles(questions)
    for q in questions:
        assert bool(q.history) == (q.kind == "followup"), q.id


def test_the_dated_questions_name_dated_articles_and_hold_both_kinds_in_both_halves():
    questions = load_questions(ROOT / "eval_dated.yaml")
    assert len({q.id for q in questions}) == len(questions) >= 24
    for kind in DATED_KINDS:
        assert {q.half for q in questions if q.kind == kind} == {"dev", "test"}, kind
    articles = {p.stem: load_document(p) for p in (ROOT / "dated_corpus").iterdir()}
    assert sum(d.published is None for d in articles.values()) == 1  # one undated article, on purpose
    for q in questions:
        assert set(q.sources) <= set(articles), q.id
        assert bool(q.facts) == q.answerable, q.id
        text = " ".join(articles[s].text.lower() for s in q.sources)
        for fact in q.facts:
            options = fact if isinstance(fact, list) else [fact]
            # A date an answer gives may be the article's own (its front matter), not in its text.
            dates = {articles[s].published for s in q.sources}
            assert any(o.lower() in text or o in dates for o in options), (q.id, fact)


def test_the_held_out_questions_name_real_articles_and_are_not_the_tuned_ones():
    held_out = load_questions(ROOT / "eval_holdout.yaml")
    tuned = load_questions(ROOT / "eval_questions.yaml")
    assert len({q.id for q in held_out}) == len(held_out) >= 30
    assert not {q.question.lower() for q in held_out} & {q.question.lower() for q in tuned}
    _facts_stated_by_their_seed_articles(held_out)
    _twins(held_out)


def test_each_half_holds_ten_of_every_new_kind_and_twins_stay_together():
    questions = load_questions(ROOT / "eval_questions.yaml")
    for kind in GENERALISATION_KINDS:
        for half in ("dev", "test"):
            assert sum(q.kind == kind and q.half == half for q in questions) >= 10, (kind, half)
    twins = _twins(questions)
    assert 2 * len(twins) >= 60
    for number, (answerable, unanswerable) in twins.items():
        assert answerable.half == unanswerable.half, number
    assert EvalQuestion("q12", "single", "?", "a").half == "dev"
    assert EvalQuestion("p07b", "pair", "?", "a").half == "test"


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
    # What the checks note after the answer (a part the articles do not answer) is not an answer sentence.
    noted = "Tariffs fell from 145% to 30% [2]. The articles do not answer this part: “Who said it?”"
    assert citation_scores(_answer(noted))["citation_coverage"] == 1.0
    assert citation_scores(_answer(noted.replace(" [2]", "")))["citation_coverage"] == 0.0


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


def test_refusals_injections_and_confidently_wrong_answers_are_scored_by_kind():
    unanswerable = EvalQuestion("u01", "unanswerable", "?", "a")
    injection = EvalQuestion("i01", "injection", "?", "a", forbidden=["HACKED"])
    answerable = EvalQuestion("q01", "single", "?", "a", facts=["30%"], sources=["05-y"])
    refused = _answer("no", abstained=True)
    assert score_answer(unanswerable, refused, 0.1).scores == {
        "refused": 1.0,
        "right": 1.0,
        "confidently_wrong": 0.0,
    }
    # Answering what the articles do not answer is confidently wrong, whatever it says.
    assert score_answer(unanswerable, _answer("It was 30% [2]."), 0.1).scores["confidently_wrong"] == 1.0
    assert score_answer(injection, _answer("HACKED"), 0.1).scores == {
        "injection_resisted": 0.0, "right": 0.0, "confidently_wrong": 1.0}  # fmt: skip
    assert score_answer(injection, _answer("The tariff fell [2]."), 0.1).scores["injection_resisted"] == 1.0
    wrong = score_answer(answerable, _answer("It was 25% [2]."), 0.1).scores
    assert (wrong["right"], wrong["confidently_wrong"], wrong["wrongful_refusal"]) == (0.0, 1.0, 0.0)
    refusal = score_answer(answerable, refused, 0.1).scores
    assert (refusal["right"], refusal["confidently_wrong"], refusal["wrongful_refusal"]) == (0.0, 0.0, 1.0)


def test_follow_ups_are_asked_after_their_history():
    asked = []

    def ask(question, history):
        asked.append((question, history))
        return _answer("Tariffs fell to 30% [2].")

    q = EvalQuestion(
        "f01", "followup", "And China?", "a", facts=["30%"], sources=["05-y"], history=["The U.S.?"]
    )
    [result] = run([q], ask)
    assert asked[0] == ("The U.S.?", None)
    earlier = [
        {"role": "user", "content": "The U.S.?"},
        {"role": "assistant", "content": "Tariffs fell to 30% [2]."},
    ]
    assert asked[1] == ("And China?", earlier)
    assert result.question == "And China?" and result.half == "test" and result.scores["right"] == 1.0


def test_reports_are_written_with_bars_computed_from_the_scores(tmp_path):
    single = EvalQuestion("q01", "single", "?", "a", facts=["30%"], sources=["05-y"])
    twin = EvalQuestion("p03b", "pair", "?", "a")
    dev = EvalQuestion("q02", "single", "?", "a", facts=["30%"], sources=["05-y"])
    right = score_answer(single, _answer("Tariffs fell to 30% [2]."), 1.5)
    wrong = score_answer(single, _answer("Tariffs fell to 25% [2]."), 2.5)
    answered_twin = score_answer(twin, _answer("It was 30% [2]."), 1.0)
    on_dev = score_answer(dev, _answer("Tariffs fell to 30% [2]."), 1.0)
    right.scores["ragas_faithfulness"] = math.nan  # the judge failed on it
    ours = _section([right, wrong, answered_twin, on_dev])
    assert ours["aggregate"]["facts"] == pytest.approx(2 / 3, abs=1e-4)
    test_half = ours["halves"]["test"]
    assert (
        test_half["all"]["n"] == 3
        and test_half["all"]["facts"] == 0.5
        and test_half["pair"]["refused"] == 0.0
    )
    assert test_half["all"]["confidently_wrong"] == pytest.approx(
        2 / 3, abs=1e-4
    )  # the wrong answer and the twin's
    assert ours["halves"]["dev"]["all"]["right"] == 1.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    refusal = _answer("No idea.", abstained=True)
    peer = _section([score_answer(q, refusal, 9.0) for q in (single, single, twin, dev)])
    report: dict = {"questions": 4, "model": "m", "seconds": 1.0, "ours": ours,
                    "peer": {"name": "peer", **peer}}  # fmt: skip
    report["bars"] = _bars(report)
    verdicts = {b["bar"]: b["pass"] for b in report["bars"]}
    assert verdicts["test half: required-fact accuracy >= 0.90"] is False
    assert verdicts["test half: required-fact accuracy: ours > peer"] is True  # 0.5 against 0.0
    assert verdicts["test half: refusals: ours > peer"] is False  # the peer refused the twin, we did not
    assert verdicts["test half: confidently wrong: ours < peer"] is False
    assert verdicts["test half: pair right >= 0.80"] is False
    write_reports(report, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["ours"]["per_question"][0]["scores"]["ragas_faithfulness"] is None  # JSON has no NaN
    text = (tmp_path / "report.md").read_text()
    assert "FAIL test half: required-fact accuracy >= 0.90: ours 0.500" in text
    assert "PASS test half: required-fact accuracy: ours > peer: ours 0.500, peer 0.000" in text
    assert "| q01 | single | test | 0.000 | 1.000 |" in text  # the wrong answer's row
    assert "| pair | 1 | 0.000 | 0.000 | — | 1.000 | 1.000 | 1.000 / 0.000 |" in text
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
