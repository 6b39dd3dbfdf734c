"""Every question of eval_questions.yaml through the real local model, held to the committed baseline.

eval_baseline.json is written by `assistant eval --save-baseline eval_baseline.json` (README). Both halves
and every kind are here: plain facts, figures that changed, minimal pairs, disputed claims, paraphrases,
follow-ups, several-part questions, questions the articles do not answer and injections.

The local model's answers are reproducible: each answer prompt is read from the same point after the
fixed prompt, whatever was asked before it (models/local.py, warm_prefix), and decoding is greedy. So no
margin is needed: a question that scores lower than its baseline on any metric fails the test (one real
regression is enough, let alone two in a kind), and so does a question that a change newly answers wrongly.

One test a kind: the 216 questions take 15-20 minutes on two cores, too long for one test's time limit on
a busy machine; since answers do not depend on what was asked before, the split changes no answer.
"""

import json
from pathlib import Path

import pytest

from assistant.evaluation.questions import HALVES, KINDS, load_questions
from assistant.evaluation.runner import run, table

ROOT = Path(__file__).resolve().parent.parent
# Higher is better for each; wrongful refusals are in "facts" (a refused answerable question scores 0).
HIGHER = ("right", "facts", "refused", "injection_resisted", "citation_coverage", "citation_precision")
LOWER = ("confidently_wrong",)


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
    worse = []
    for r in results:
        before = committed[r.id]["scores"]
        for metric in (*HIGHER, *LOWER):
            if before.get(metric) is None:
                continue
            now = r.scores.get(metric, 1.0 if metric in LOWER else 0.0)
            if (now < before[metric] - 1e-9) if metric in HIGHER else (now > before[metric] + 1e-9):
                worse.append(f"{r.id} ({r.kind}, {r.half}) {metric}: {before[metric]:.2f} -> {now:.2f}")
    assert not worse, "\n".join(worse)
    # The kind is run in both halves and reaches the model in each: refusals before any model call are not
    # the model's.
    halves = table(results)
    assert set(halves) == set(HALVES)
    for half, rows in halves.items():
        assert rows[kind]["reached_model"] > 0, (half, kind)
