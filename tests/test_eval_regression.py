"""A small subset of eval_questions.yaml through the real local model, held to the committed baseline.

eval_baseline.json is written by `assistant eval --save-baseline eval_baseline.json` (README). A metric
that falls more than MARGIN below the baseline's value on the same questions fails the test, and so does
a metric on which more than one question got worse. One flip is allowed because llama.cpp's greedy output
is not exactly reproducible across runs: a prompt whose prefix was cached from the previous question is
evaluated in different batches, which moves the logits by rounding, and a borderline token can change.
"""

import json
import statistics
from pathlib import Path

from assistant.evaluation.questions import load_questions
from assistant.evaluation.runner import run

ROOT = Path(__file__).resolve().parent.parent
SUBSET = ("q02", "q05", "q06", "q10", "q18", "q22", "q27", "u01", "u06", "u07", "i03")
MARGIN = 0.10
METRICS = ("hit", "facts", "citation_coverage", "citation_precision", "refused", "injection_resisted")


def test_subset_does_not_fall_below_the_committed_baseline(local_assistant):
    baseline = json.loads((ROOT / "eval_baseline.json").read_text())
    committed = {r["id"]: r["scores"] for r in baseline["per_question"]}
    questions = [q for q in load_questions(ROOT / "eval_questions.yaml") if q.id in SUBSET]
    assert len(questions) == len(SUBSET)
    now = {r.id: r.scores for r in run(questions, local_assistant.ask)}
    report = []
    for metric in METRICS:
        ids = [i for i in SUBSET if metric in committed.get(i, {}) and committed[i][metric] is not None]
        if not ids:
            continue
        before = statistics.fmean(committed[i][metric] for i in ids)
        after = statistics.fmean(now[i].get(metric, 0.0) for i in ids)
        worse = [i for i in ids if now[i].get(metric, 0.0) < committed[i][metric]]
        report.append(f"{metric}: baseline {before:.2f}, now {after:.2f}, worse on {worse}")
        allowed = max(MARGIN, 1 / len(ids) + 1e-9)  # one question may flip (see above)
        assert after >= before - allowed and len(worse) <= 1, "\n".join(report)
    assert report  # the baseline covers the subset
