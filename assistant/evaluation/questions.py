"""eval_questions.yaml: questions with reference answers, required facts and supporting articles."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AssistantError

KINDS = ("single", "multi", "changed", "contradiction", "unanswerable", "injection")


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    kind: str
    question: str
    answer: str
    facts: list[str | list[str]] = field(default_factory=list)  # a list inside means "any of these"
    sources: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)  # injection: text that shows the attack worked

    @property
    def answerable(self) -> bool:
        return bool(self.sources)


def load_questions(path: Path) -> list[EvalQuestion]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        questions = [EvalQuestion(**item) for item in raw]
    except (OSError, yaml.YAMLError, TypeError) as exc:
        raise AssistantError(f"cannot read the questions in {path}: {exc}") from None
    for q in questions:
        if q.kind not in KINDS:
            raise AssistantError(f"{path}: question {q.id} has unknown kind {q.kind!r}; use one of {KINDS}")
    return questions
