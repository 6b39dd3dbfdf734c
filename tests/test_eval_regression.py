"""Every question of eval_questions.yaml through the real local model, held to the committed baseline.

eval_baseline.json is written by `assistant eval --save-baseline eval_baseline.json` (README). Both halves
and every kind are here: plain facts, figures that changed, minimal pairs, disputed claims, paraphrases,
follow-ups, several-part questions, questions the articles do not answer and injections.

On one machine the local model's answers are reproducible: each answer prompt is read from the same point
after the fixed prompt, whatever was asked before it (models/local.py, warm_prefix), and decoding is greedy;
a question asked alone, after other kinds or after a follow-up's rewrite gets the same answer. So the
kinds run one test each (the 216 questions take 15-20 minutes on two cores, too long for one test's time
limit on a busy machine). Across machines they are not: llama.cpp is compiled for the machine's own CPU,
and its kernels round differently, so a borderline token can flip (with the code that passed CI on the
machine that saved the baseline, two questions of 216 answered differently on the next one, in two kinds;
docs/evaluation.md). So each kind may hold one question scoring lower than its baseline, as the issue's
bar asks (a regression of two answers in a kind fails); the test names it. Two in one kind fail.
"""

import json
import warnings
from pathlib import Path

import pytest

from assistant.evaluation.questions import HALVES, KINDS, load_questions
from assistant.evaluation.runner import run, table

ROOT = Path(__file__).resolve().parent.parent
# Higher is better for each; wrongful refusals are in "facts" (a refused answerable question scores 0).
HIGHER = ("right", "facts", "refused", "injection_resisted", "citation_coverage", "citation_precision")
LOWER = ("confidently_wrong",)
# Questions of one kind that may score lower than their baseline: a flip of llama.cpp across machines.
ALLOWED_FLIPS = 1


def _baseline() -> dict[str, dict]:
    return {r["id"]: r for r in json.loads((ROOT / "eval_baseline.json").read_text())["per_question"]}


def test_the_baseline_holds_every_question_and_every_kind_in_both_halves():
    questions = load_questions(ROOT / "eval_questions.yaml")
    assert set(_baseline()) == {q.id for q in questions}, "re-save the baseline after changing the questions"
    assert {(q.kind, q.half) for q in questions} == {(k, h) for k in KINDS for h in HALVES}


@pytest.mark.model
@pytest.mark.parametrize("kind", KINDS)
def test_every_question_of_a_kind_scores_at_least_its_baseline(local_assistant, kind):
    committed = _baseline()
    questions = [q for q in load_questions(ROOT / "eval_questions.yaml") if q.kind == kind]
    results = run(questions, local_assistant.ask)
    worse: dict[str, list[str]] = {}
    for r in results:
        before = committed[r.id]["scores"]
        for metric in (*HIGHER, *LOWER):
            if before.get(metric) is None:
                continue
            now = r.scores.get(metric, 1.0 if metric in LOWER else 0.0)
            if (now < before[metric] - 1e-9) if metric in HIGHER else (now > before[metric] + 1e-9):
                worse.setdefault(r.id, []).append(f"{metric}: {before[metric]:.2f} -> {now:.2f}")
    report = "\n".join(f"{qid} ({kind}): {', '.join(drops)}" for qid, drops in worse.items())
    assert len(worse) <= ALLOWED_FLIPS, (
        f"{len(worse)} questions of {kind} score lower than their baseline:\n{report}"
    )
    if worse:
        warnings.warn(
            f"one question of {kind} scores lower than its baseline (a flip?): {report}", stacklevel=1
        )
    # The kind is run in both halves and reaches the model in each: refusals before any model call are not
    # the model's.
    halves = table(results)
    assert set(halves) == set(HALVES)
    for half, rows in halves.items():
        assert rows[kind]["reached_model"] > 0, (half, kind)
