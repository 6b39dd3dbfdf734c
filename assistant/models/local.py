"""The embedded model as a LlamaIndex LLM: llama-cpp-python, ChatML prompts, greedy decoding.

LlamaIndex's own LlamaCPP wrapper is not used: it ignores the model's chat template and downloads a
7B model when its model_path is missing. This one is a thin CustomLLM over llama_cpp.Llama.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from pydantic import PrivateAttr

from ..errors import ModelError

log = logging.getLogger(__name__)
STOP = ["<|im_end|>", "<|endoftext|>"]
# llama.cpp keeps one evaluation state; concurrent requests (the chat's sessions, the HTTP API's) must
# take turns. A plain Lock, not an RLock: a streamed answer holds it across its yields, and the servers
# advance a generator from whichever worker thread is free, so it is released by another thread than the
# one that took it (an RLock refuses that and stays held: every later answer then waited for ever).
_generation_lock = threading.Lock()


def chatml(messages: Sequence[ChatMessage]) -> str:
    """Qwen2.5's chat template; the fixed system prompt comes first so llama.cpp reuses its evaluation."""
    parts = [f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


@cache
def _load(model_path: str, n_ctx: int, n_threads: int) -> Any:
    from llama_cpp import Llama

    started = time.perf_counter()
    try:
        llama = Llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            n_batch=512,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"llama.cpp could not load the model {model_path}: {exc}") from None
    log.info("loaded %s in %.1f s (n_ctx %d, %d threads)", model_path, time.perf_counter() - started, n_ctx,
             n_threads)  # fmt: skip
    return llama


class LocalLlamaCpp(CustomLLM):
    model_path: str
    model_label: str
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 320
    state_dir: str | None = None  # where evaluated prompt prefixes are kept across processes
    _llama: Any = PrivateAttr(default=None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(messages_to_prompt=chatml, **kwargs)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.n_ctx,
            num_output=self.max_tokens,
            is_chat_model=True,
            model_name=self.model_label,
        )

    @property
    def llama(self) -> Any:
        """Loaded on first use and kept for the life of the process."""
        if self._llama is None:
            self._llama = _load(self.model_path, self.n_ctx, self.n_threads)
        return self._llama

    def hold_prefix(self, messages: Sequence[ChatMessage]) -> str:
        """Have llama.cpp hold the evaluation of these messages, the fixed start of later prompts, the last
        message left open as it is in a real prompt (its text goes on with the passages): see warm_prefix."""
        prompt = chatml(messages)
        return self.warm_prefix(prompt[: prompt.rindex("<|im_end|>")])

    def warm_prefix(self, prompt: str) -> str:
        """Make llama.cpp hold the evaluation of prompt, the formatted start of later prompts (which reuse
        it): "held" if it still does, "loaded" from state_dir where a process saved it, else "evaluated"
        (and saved there)."""
        from . import prefix_state

        with _generation_lock:  # no other prompt between the check, the evaluation and the save
            llama = self.llama
            # All but the last token: a later prompt's text may merge with it into another token.
            tokens = llama.tokenize(prompt.encode(), special=True)[:-1]
            if llama.n_tokens >= len(tokens) and list(llama.input_ids[: len(tokens)]) == tokens:
                how = "held"
            else:
                folder = Path(self.state_dir) if self.state_dir else None
                path = prefix_state.state_path(folder, llama, prompt) if folder else None
                if path is not None and prefix_state.load(llama, path):
                    how = "loaded"
                else:
                    for _ in self._generate(prompt, max_tokens=1):  # the lock is held already
                        pass
                    if path is not None:
                        prefix_state.save(llama, path)
                    how = "evaluated"
            # Forget what followed the prefix (the last answer's passages): the next prompt is then read from
            # the same place whatever came before it, so the same question gets the same answer (llama.cpp
            # reading a suffix from another starting point rounds differently, and greedy decoding can
            # flip on a borderline token).
            llama.n_tokens = len(tokens)
            return how

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        text = ""
        for response in self.stream_complete(prompt, formatted=formatted, **kwargs):
            text = response.text
        return CompletionResponse(text=text)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        if not formatted:
            prompt = chatml([ChatMessage(role="user", content=prompt)])
        max_tokens = kwargs.get("max_tokens", self.max_tokens)

        def generate() -> CompletionResponseGen:
            with _generation_lock:
                yield from self._generate(prompt, max_tokens)

        return generate()

    def _generate(self, prompt: str, max_tokens: int) -> CompletionResponseGen:
        """Greedy completion of a formatted prompt, streamed; the caller holds the generation lock."""
        text = ""
        stream = self.llama.create_completion(
            prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0, stop=STOP,
            stream=True,
        )  # fmt: skip
        for part in stream:
            delta = part["choices"][0]["text"]
            text += delta
            yield CompletionResponse(text=text, delta=delta)
