"""The answer step, pluggable: a `Generator` rewrites follow-ups and writes the reply from a prepared context.

Three implementations, chosen by `Settings.llm` in `build_generator`:
- `LocalModel`: the embedded llama.cpp model. Before each answer it has llama.cpp hold the fixed start of
  the answer prompt (evaluated once, then kept on disk for later processes: models.prefix_state).
- `ChatModel`: OpenAI or an OpenAI-compatible server; its errors become one-line BackendErrors.
- `Extractive`: no model; the best evidence sentences, quoted with their markers.
What a generator writes is only a draft: `checks.check_reply` decides what of it is shown.
"""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..config import Settings
from . import prompts
from .citations import append_marker, join_initials
from .evidence import SentenceVectors, rank_sentences

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from llama_index.core.llms import LLM

    from ..models.local import LocalLlamaCpp
    from ..results import Context

HISTORY_CHARS = 600  # per turn: keeps long chats from growing the prompt
EXTRACTIVE_SENTENCES = 2  # sentences an extractive answer quotes
CONDENSE_TOKENS = 60


def joined(question: str, turns: list[dict[str, str]]) -> str:
    """A follow-up searched for together with the user's question before it."""
    last_user = next((str(t["content"]) for t in reversed(turns) if t["role"] == "user"), "")
    return f"{last_user[:HISTORY_CHARS]} {question}".strip()


def _words(text: str) -> list[str]:
    """A question's words, without a leading "and" / "so" / "but": the same question either way."""
    words = re.findall(r"[a-z0-9%]+", text.lower())
    return words[1:] if words[:1] in (["and"], ["so"], ["but"]) else words


class Generator(ABC):
    """Writes answers. `condense` gets the recent turns (never empty); `stream` yields the reply's text."""

    def warm_up(self) -> None:  # noqa: B027 - a hook: only a model has anything to load
        """Load what the first answer would otherwise wait for."""

    @abstractmethod
    def condense(self, question: str, turns: list[dict[str, str]]) -> str:
        """A follow-up ("and what did China do?") rewritten to stand alone."""

    @abstractmethod
    def stream(self, context: Context) -> Iterator[str]:
        """The reply to a covered context, as text deltas."""


class Extractive(Generator):
    """No model: the best sentences of the evidence, each with the marker of its passage."""

    def __init__(self, sentence_vectors: SentenceVectors) -> None:
        self.sentence_vectors = sentence_vectors  # the pipeline's: the passages' sentences are embedded once

    def condense(self, question: str, turns: list[dict[str, str]]) -> str:
        return joined(question, turns)  # no model to rewrite with

    def stream(self, context: Context) -> Iterator[str]:
        vectors = self.sentence_vectors
        ranked = rank_sentences(context.question, context.passages, vectors.embed_model, vectors)
        yield " ".join(append_marker(e.text, [e.passage + 1]) for e in ranked[:EXTRACTIVE_SENTENCES])


class ChatModel(Generator):
    """A chat model behind LlamaIndex's LLM interface: OpenAI or an OpenAI-compatible server."""

    def __init__(self, llm: LLM, settings: Settings) -> None:
        self.llm = llm
        self.settings = settings

    def errors(self) -> AbstractContextManager[None]:
        """The client's exceptions as one-line BackendErrors that name the server."""
        from ..models.llm import backend_errors

        return backend_errors(self.settings)

    def condense(self, question: str, turns: list[dict[str, str]]) -> str:
        from llama_index.core.base.llms.types import ChatMessage

        transcript = "\n".join(f"{t['role']}: {str(t['content'])[:HISTORY_CHARS]}" for t in turns)
        prompt = prompts.condense_prompt(transcript, question)
        with self.errors():
            reply = self.llm.chat([ChatMessage(role="user", content=prompt)], max_tokens=CONDENSE_TOKENS)
        text = (reply.message.content or "").strip()
        rewritten = text.strip('"').splitlines()[0].strip() if text else ""
        if _words(rewritten) == _words(question):
            # Handed back as it was ("And what did China do?" → "What did China do?"): the search needs
            # what the conversation was about all the same.
            return joined(question, turns)
        return join_initials(rewritten, f"{transcript} {question}") or joined(question, turns)

    def stream(self, context: Context) -> Iterator[str]:
        with self.errors():
            for chunk in self.llm.stream_chat(prompts.answer_messages(context)):
                yield chunk.delta or ""


class LocalModel(ChatModel):
    """The embedded llama.cpp model (greedy, ChatML)."""

    llm: LocalLlamaCpp

    def errors(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()  # llama.cpp's own failures are ModelErrors already

    def warm_up(self) -> None:
        self.hold_fixed_prompt()

    def hold_fixed_prompt(self) -> str:
        """Have the model hold the evaluation of the fixed start of every answer prompt, which answers
        reuse: "held", "loaded" (from the state an earlier process saved) or "evaluated" (and saved).
        Called before each answer too, as a follow-up's rewriting overwrites it (milliseconds then)."""
        return self.llm.hold_prefix(prompts.fixed_answer_start())

    def stream(self, context: Context) -> Iterator[str]:
        self.hold_fixed_prompt()
        yield from super().stream(context)


def build_generator(settings: Settings, sentence_vectors: SentenceVectors | None) -> Generator:
    """The generator settings.llm names (models.llm builds the model behind it). The extractive one needs
    the sentence vectors of the pipeline it serves."""
    from ..models.llm import build_local_llm, build_openai_llm

    if settings.llm == "extractive":
        if sentence_vectors is None:
            raise ValueError("the extractive generator reads the pipeline's sentence vectors")
        return Extractive(sentence_vectors)
    if settings.llm == "local":
        return LocalModel(build_local_llm(settings), settings)
    return ChatModel(build_openai_llm(settings), settings)
