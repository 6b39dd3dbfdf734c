"""The decision before generation: do the passages cover the question, or is it refused without a model call?

A question is covered when its best passage or sentence is similar enough (`Settings.abstain_below`) and
every name in it is mentioned by some retrieved passage. A question about "Brazilian coffee" over passages
that never say "Brazil" cannot be answered from them, however similar the rest of the wording is; small
models answer such questions anyway.
"""

from __future__ import annotations

import re

from ..results import Passage
from ..text import CALENDAR_WORDS, alias_of, aliases_in, stem

NOT_COVERED = (
    "The articles do not cover this question. The closest passages are listed, but they do not answer it."
)
# A capitalised word that does not open a sentence.
_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-zA-Z]+)")


def missing_names(question: str, passages: list[Passage]) -> list[str]:
    """Capitalised words of the question (names, places) that none of the passages (or their titles)
    mention. Words are compared by their stem, so "Brazilian" matches "Brazil", and a country or body by
    any of its names: "Brussels" is mentioned by "European officials", "Washington" by "the U.S."."""
    text = " ".join(p.text + " " + p.title for p in passages)
    evidence = text.lower()
    groups = aliases_in(text)
    words = _NAME.findall(question.strip())
    return [
        w
        for w in dict.fromkeys(words)
        if w.lower() not in CALENDAR_WORDS and stem(w.lower()) not in evidence and alias_of(w) not in groups
    ]


def refusal_text(missing: list[str]) -> str:
    """What a question the passages do not cover is answered with."""
    return NOT_COVERED + (f" (They never mention {', '.join(missing)}.)" if missing else "")
