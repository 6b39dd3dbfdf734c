"""Write an evaluation run as results.json, report.md and scores.png in the results folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

SHOWN = ("hit", "rr", "facts_retrieved", "facts_read", "facts", "citation_coverage", "citation_precision",
         "refused", "injection_resisted", "wrongful_refusal", "confidently_wrong")  # fmt: skip


def baseline_from_report(report: dict) -> dict:
    """What is committed as eval_baseline.json: our scores per question, and the run they came from."""
    return {
        "model": report["model"],
        "questions": report["questions"],
        "aggregate": report["ours"]["aggregate"],
        "judge": {k: v for k, v in (report.get("judge") or {}).items() if k in ("judge", "metrics")},
        "halves": report["ours"]["halves"],
        "per_question": [
            {
                "id": r["id"],
                "kind": r["kind"],
                "half": r["half"],
                "reached_model": r["reached_model"],
                "scores": r["scores"],
            }
            for r in report["ours"]["per_question"]
        ],  # fmt: skip
    }


def write_reports(report: dict, folder: Path) -> None:
    (folder / "results.json").write_text(json.dumps(without_nan(report), indent=1, default=str))
    (folder / "report.md").write_text(markdown(report))
    chart(report, folder / "scores.png")


def without_nan(value: object) -> object:
    """JSON has no NaN: a score the judge could not give is written as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nan(v) for v in value]
    return value


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(report: dict) -> str:
    ours = report["ours"]["aggregate"]
    peer = report["peer"].get("aggregate", {})
    lines = [
        "# Evaluation report",
        "",
        f"{report['questions']} questions · answers by {report['model']} · {report['seconds']} s",
        "",
        f"| metric | ours | peer: {report['peer'].get('name', report['peer'].get('skipped', ''))} |",
        "| --- | --- | --- |",
    ]
    for key in SHOWN:
        if key in ours or key in peer:
            lines.append(f"| {key} | {_fmt(ours.get(key))} | {_fmt(peer.get(key))} |")
    for stage in ("retrieval", "first_token", "generation", "total"):
        if f"{stage}_p50" in ours:
            lines.append(
                f"| {stage} p50 / p95 (s) | {_fmt(ours[f'{stage}_p50'])} / {_fmt(ours[f'{stage}_p95'])} | "
                f"{_fmt(peer.get(f'{stage}_p50'))} / {_fmt(peer.get(f'{stage}_p95'))} |"
            )
    if report["peer"].get("note"):
        lines += ["", f"Peer: {report['peer']['note']}."]
    lines += kind_tables(report)
    judge = report.get("judge")
    if judge:
        lines += ["", f"## ragas, judged by {judge['judge']}", "", "| metric | mean | scored | failed |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        for name, m in judge["metrics"].items():
            lines.append(f"| {name} | {_fmt(m['mean'])} | {m['scored']} | {m['failed']} |")
        check = judge["check"]
        lines += [
            "",
            f"Refusals left out of the judged set (faithfulness is undefined for them): "
            f"{judge['excluded_refusals']}. Judge requests: {judge['requests']}.",
            "",
            f"**Judge check** (planted answers): faithful passed {check['faithful_passed']}, "
            f"unfaithful caught "
            f"{check['unfaithful_caught']}: {check['verdict']}.",
            "",
        ]
        lines += [f"- {r['name']}: {_fmt(r['score'])} {'✓' if r['right'] else '✗'}" for r in check["rows"]]
    lines += ["", "## Bars", ""]
    lines += [f"- {'PASS' if b['pass'] else 'FAIL'} {b['bar']}: ours {_fmt(b['ours'])}"
              + (f", peer {_fmt(b['peer'])}" if "peer" in b else "") for b in report["bars"]]  # fmt: skip
    lines += ["", "## Per question", "",
              "| id | kind | half | right | confidently wrong | cites ok | faithfulness | seconds | answer |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in report["ours"]["per_question"]:
        s = r["scores"]
        answer = r["answer"].replace("|", "\\|").replace("\n", " ")[:140]
        lines.append(
            f"| {r['id']} | {r['kind']} | {r['half']} | {_fmt(s.get('right'))} | "
            f"{_fmt(s.get('confidently_wrong'))} | {_fmt(s.get('citation_precision'))} | "
            f"{_fmt(s.get('ragas_faithfulness'))} | {r['seconds']:.1f} | {answer} |"
        )
    return "\n".join(lines) + "\n"


def kind_tables(report: dict) -> list[str]:
    """Per half, a row per kind: right, refusals where the articles do not answer, wrongful refusals,
    confidently wrong (answered rather than refused, and wrong), and the share that reached the model."""
    lines: list[str] = []
    peer_halves = report["peer"].get("halves", {})
    for half, rows in report["ours"]["halves"].items():
        lines += ["", f"## {half} half", "",
                  "| kind | questions | right | refused (unanswerable) | wrongful refusals | "
                  "confidently wrong | reached the model | peer: right / confidently wrong |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for kind, row in rows.items():
            them = peer_halves.get(half, {}).get(kind)
            theirs = f"{_fmt(them['right'])} / {_fmt(them['confidently_wrong'])}" if them else "—"
            name = f"**{kind}**" if kind == "all" else kind
            lines.append(
                f"| {name} | {row['n']} | {_fmt(row['right'])} | {_fmt(row['refused'])} | "
                f"{_fmt(row['wrongful_refusal'])} | {_fmt(row['confidently_wrong'])} | "
                f"{_fmt(row['reached_model'])} | {theirs} |"
            )
    return lines


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["ours"]["per_question"]
    ids = [r["id"] for r in rows]
    series = {
        "correct (facts / refusal / resisted)": [r["scores"].get("right", 0.0) for r in rows],
        "citation precision": [r["scores"].get("citation_precision", math.nan) for r in rows],
        "ragas faithfulness": [r["scores"].get("ragas_faithfulness", math.nan) for r in rows],
    }
    fig, ax = plt.subplots(figsize=(max(8, len(ids) * 0.32), 4))
    width = 0.27
    for i, (label, values) in enumerate(series.items()):
        ax.bar([x + (i - 1) * width for x in range(len(ids))], values, width, label=label)
    ax.set_xticks(range(len(ids)), ids, rotation=90, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title(f"Per-question scores ({report['model']})", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
