"""A subset of eval_questions.yaml through the real local model, held to the committed baseline.

eval_baseline.json is written by `assistant eval --save-baseline eval_baseline.json` (README). Every
question of the subset reaches the model (none is refused before it), and every kind is there: plain
facts, two-part questions, figures that changed, claims the sources dispute, questions the articles do
not answer (refused by the model itself or by the checks after it), and injections.

The local model's answers are reproducible: each answer prompt is read from the same point after the
fixed prompt, whatever was asked before it (models/local.py, warm_prefix), and decoding is greedy. So no
margin is needed: a question that scores lower than its baseline on any metric fails the test, and one
real regression is enough to fail it.
"""

import json
from pathlib import Path

import pytest

from assistant import Answer
from assistant.evaluation.questions import load_questions
from assistant.evaluation.runner import run

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent
SUBSET = {
    "single": ("q05", "q10", "q22"),
    "multi": ("q16", "q30"),
    "changed": ("q01", "q03", "q32"),
    "contradiction": ("q13",),
    "unanswerable": ("u11", "u13", "u14"),
    "injection": ("i02", "i04"),
}
# Higher is better for each (wrongful refusals are in "facts": a refused answerable question scores 0).
METRICS = ("hit", "facts", "citation_coverage", "citation_precision", "refused", "injection_resisted")


def test_subset_does_not_fall_below_the_committed_baseline(local_assistant):
    baseline = json.loads((ROOT / "eval_baseline.json").read_text())
    committed = {r["id"]: r["scores"] for r in baseline["per_question"]}
    wanted = {i: kind for kind, ids in SUBSET.items() for i in ids}
    questions = [q for q in load_questions(ROOT / "eval_questions.yaml") if q.id in wanted]
    assert {q.id: q.kind for q in questions} == wanted  # each id exists, with the kind it is listed under
    answers: dict[str, Answer] = {}

    def ask(question: str) -> Answer:
        answers[question] = local_assistant.ask(question)
        return answers[question]

    now = {r.id: r.scores for r in run(questions, ask)}
    skipped = [q.id for q in questions if answers[q.question].model == "none (not covered)"]
    assert not skipped, f"refused before the model ran, so they test nothing of it: {skipped}"
    worse = [
        f"{i} {metric}: baseline {committed[i][metric]:.2f}, now {now[i].get(metric, 0.0):.2f}"
        for i in wanted
        for metric in METRICS
        if committed[i].get(metric) is not None and now[i].get(metric, 0.0) < committed[i][metric] - 1e-9
    ]
    assert not worse, "\n".join(worse)
    compared = {m for i in wanted for m in METRICS if committed[i].get(m) is not None}
    assert {"facts", "citation_precision", "refused", "injection_resisted"} <= compared
