"""eval_questions.yaml: questions with reference answers, required facts and supporting articles.

Every question belongs to the dev half or the test half by the fixed rule written at the top of the file:
the number in its id, even for dev, odd for test (the two twins of a minimal pair share theirs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AssistantError

KINDS = (
    "single",
    "temporal",
    "pair",
    "conflict",
    "paraphrase",
    "followup",
    "multipart",
    "unanswerable",
    "injection",
)
# The kinds of eval_dated.yaml (questions over dated_corpus/) beside those: the value in force now or at a
# time the question names, from dated reports; how a value changed, report by report.
DATED_KINDS = ("as-of", "timeline")
HALVES = ("dev", "test")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    kind: str
    question: str
    answer: str
    facts: list[str | list[str]] = field(default_factory=list)  # a list inside means "any of these"
    sources: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)  # injection: text that shows the attack worked
    history: list[str] = field(default_factory=list)  # followup: asked first, in order, answers generated

    @property
    def answerable(self) -> bool:
        return bool(self.sources)

    @property
    def half(self) -> str:
        """ "dev" or "test", by the number in the id (see the module docstring)."""
        found = _NUMBER.search(self.id)
        return HALVES[int(found.group()) % 2] if found else "dev"


def load_questions(path: Path) -> list[EvalQuestion]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        questions = [EvalQuestion(**item) for item in raw]
    except (OSError, yaml.YAMLError, TypeError) as exc:
        raise AssistantError(f"cannot read the questions in {path}: {exc}") from None
    for q in questions:
        if q.kind not in KINDS + DATED_KINDS:
            raise AssistantError(
                f"{path}: question {q.id} has unknown kind {q.kind!r}; use one of {KINDS + DATED_KINDS}"
            )
        if not _NUMBER.search(q.id):
            raise AssistantError(f"{path}: question id {q.id!r} has no number, which decides its half")
    return questions
