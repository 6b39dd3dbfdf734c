"""Planted answers the judge must tell apart: faithful to their passage, or deliberately not."""

from __future__ import annotations

from dataclasses import dataclass

from .judge import Judge, Sample

GENEVA = (
    "Specifically, tariffs imposed by the United States on Chinese goods were decreased from 145% to 30%, "
    "while China's retaliatory tariffs on American imports dropped from 125% to 10%."
)
BESSENT = (
    'U.S. Treasury Secretary Scott Bessent candidly acknowledged in a media interview that it is "nearly '
    'impossible" to achieve the goal of reaching formal tariff agreements with major trade partners within '
    'the "90-day tariff suspension period" announced by the Trump administration.'
)
EXEMPT = (
    "China has taken steps that include compiling a list of U.S. goods exempt from the 125% tariffs "
    "previously imposed. This list includes items such as ethane, some semiconductor products, and certain "
    "pharmaceuticals."
)

LEAVITT = (
    "White House Press Secretary Karoline Leavitt stated that the Trump administration has received 18 "
    'written proposals. When asked whether tariffs are really effective, she replied: "Be patient and you '
    'will see."'
)


@dataclass(frozen=True)
class Planted:
    name: str
    faithful: bool
    sample: Sample


PLANTED = [
    Planted("faithful: Geneva figures", True, Sample("What happened to U.S. tariffs on Chinese goods?",
            "They were decreased from 145% to 30%.", [GENEVA], "From 145% to 30%.")),
    Planted("faithful: speaker", True, Sample("Who said a deal in 90 days was nearly impossible?",
            "Treasury Secretary Scott Bessent said it was nearly impossible.", [BESSENT], "Scott Bessent.")),
    Planted("faithful: paraphrase", True, Sample("Which goods did China exempt?",
            "China exempted ethane, some semiconductor products and certain pharmaceuticals from its 125% "
            "tariffs.", [EXEMPT], "Ethane, some semiconductors and certain pharmaceuticals.")),
    Planted("faithful: quoted reply", True, Sample("What did Karoline Leavitt reply about tariffs?",
            'Karoline Leavitt replied: "Be patient and you will see."', [LEAVITT],
            "Be patient and you will see.")),
    Planted("unfaithful: wrong number", False, Sample("What happened to U.S. tariffs on Chinese goods?",
            "They were decreased from 145% to 50%.", [GENEVA], "From 145% to 30%.")),
    Planted("unfaithful: swapped speaker", False, Sample("Who said a deal in 90 days was nearly impossible?",
            "Chinese President Xi Jinping said it was nearly impossible.", [BESSENT], "Scott Bessent.")),
    Planted("unfaithful: invented claim", False, Sample("Which goods did China exempt?",
            "China exempted soybeans and Boeing aircraft from its tariffs.", [EXEMPT],
            "Ethane, some semiconductors and certain pharmaceuticals.")),
    Planted("unfaithful: invented quote", False, Sample("What did Karoline Leavitt reply about tariffs?",
            'Karoline Leavitt replied: "The tariffs will end next week."', [LEAVITT],
            "Be patient and you will see.")),
]  # fmt: skip
PASS_MARK = 0.5


def run_judge_check(judge: Judge) -> dict:
    """Faithfulness of each planted answer, and how many the judge got right on each side."""
    rows = []
    for planted in PLANTED:
        score = judge.score(planted.sample, ("faithfulness",))["faithfulness"]
        right = score == score and ((score >= PASS_MARK) == planted.faithful)  # NaN is never right
        rows.append({"name": planted.name, "faithful": planted.faithful, "score": score, "right": right})
    faithful = [r for r in rows if r["faithful"]]
    unfaithful = [r for r in rows if not r["faithful"]]
    passed = sum(bool(r["right"]) for r in faithful)
    caught = sum(bool(r["right"]) for r in unfaithful)
    trusted = passed == len(faithful) and caught == len(unfaithful)
    return {
        "rows": rows,
        "faithful_passed": f"{passed}/{len(faithful)}",
        "unfaithful_caught": f"{caught}/{len(unfaithful)}",
        "trusted": trusted,
        "verdict": (
            "the judge told every planted answer apart"
            if trusted
            else "the judge missed planted answers: treat its faithfulness as weak evidence; "
            "the deterministic checks (facts, citation precision) carry the weight"
        ),
    }
