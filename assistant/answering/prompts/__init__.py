"""The prompts: templates in .txt files beside this module (read and changed on their own), and the chat
messages built from them."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llama_index.core.base.llms.types import ChatMessage

    from ...results import Context


@cache
def load(name: str) -> str:
    return files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8").strip()


def answer_messages(context: Context) -> list[ChatMessage]:
    """The system prompt, then the numbered evidence (or whole passages) and the question."""
    from llama_index.core.base.llms.types import ChatMessage

    if context.evidence:
        # About 90 words of sentences; article titles would add a third again to what the model reads
        # (the main cost of an answer) and did not make answers more accurate (docs/design.md).
        numbered = "\n".join(f"[{i + 1}] {' … '.join(texts)}" for i, texts in context.evidence.items())
    else:  # whole passages, as a hosted model can afford; the titles help the model place them
        numbered = "\n\n".join(
            f"[{i + 1}] ({p.title}) {' '.join(p.text.split())}" for i, p in enumerate(context.passages)
        )
    user = load("answer_user").format(passages=numbered, question=context.question)
    return [ChatMessage(role="system", content=load("answer_system")), ChatMessage(role="user", content=user)]


def fixed_answer_start() -> list[ChatMessage]:
    """The start every answer prompt shares: the system prompt and the user message up to the passages."""
    from llama_index.core.base.llms.types import ChatMessage

    return [
        ChatMessage(role="system", content=load("answer_system")),
        ChatMessage(role="user", content=load("answer_user").split("{passages}")[0]),
    ]


def condense_prompt(transcript: str, question: str) -> str:
    return load("condense").format(history=transcript, question=question)
