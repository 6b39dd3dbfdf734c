"""Settings in one typed place. Precedence: explicit argument or CLI flag > environment variable > default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

LLM_CHOICES: tuple[str, ...] = ("local", "openai", "extractive")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "assistant"


def _default_llm() -> str:
    # A user who has a key or a compatible server gets it; everyone else gets the embedded model.
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        return "openai"
    return "local"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("docs_corpus")
    index_dir: Path = Path("index")
    llm: str = field(default_factory=_default_llm)
    top_k: int = 4
    # Chunking, chosen by measurement on the evaluation questions (docs/design.md, "Choosing chunk size").
    chunk_words: int = 90
    chunk_overlap_sentences: int = 1
    # Below this cosine similarity of the best passage the question is treated as not covered by the
    # articles, and the model is not called (calibration in docs/design.md).
    abstain_below: float = 0.28
    # The model reads only the best sentences of the passages, about this many words (0: whole passages);
    # what the model reads is the main cost of an answer (docs/design.md, "What the model reads").
    evidence_words: int = 90
    max_question_chars: int = 2000
    # An ingest (or the chat's upload or remove) waits this many seconds for another process writing the
    # same index before it gives up, changing nothing (indexing/writer_lock.py).
    write_wait: float = 300.0
    # A Chroma server (`chroma run`, e.g. http://127.0.0.1:8000) holding the index instead of index_dir,
    # shared by every process and machine pointed at it (indexing/server_store.py). Its articles are
    # everyone's: an ingest adds and updates what its corpus folder holds and never removes what the folder
    # lacks; only a removal on purpose does, for everyone. The open-source server has no login: keep it on a
    # private network.
    chroma_url: str | None = None
    # When another process has changed the index on the Chroma server, a replica opens the new revision
    # (its texts read and its keyword index built: ≈ 10 s at 100,000 chunks) beside the one it answers from;
    # a question waits at most this many seconds for it, then is answered from the revision before.
    refresh_wait: float = 3.0
    history_turns: int = 6
    # Local model.
    model_path: Path | None = None  # a GGUF of your own; default: the packaged Qwen2.5-Coder-1.5B
    cache_dir: Path = field(default_factory=_default_cache_dir)
    n_ctx: int = 4096
    n_threads: int = field(default_factory=lambda: os.cpu_count() or 2)
    max_answer_tokens: int = 320
    # Hosted / OpenAI-compatible model.
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    request_timeout: float = 120.0
    # The chat and the HTTP API (`assistant serve`; who may do what: server/access.py).
    host: str = "127.0.0.1"
    port: int = 7860
    ui_user: str | None = None  # with ui_password: the chat page asks readers for them
    ui_password: str | None = field(default=None, repr=False)
    # With editor_password: the login of the editor page (/edit), where articles are added and removed.
    editor_user: str | None = None
    editor_password: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)  # the HTTP API's bearer token for reading
    editor_token: str | None = field(default=None, repr=False)  # ... for editing (and reading)
    # Serve beyond 127.0.0.1 without a reader login: only when this is said plainly (--no-auth).
    no_auth: bool = False
    # Many users (server/admission.py): answers written at once (default: 1 for the local model, which
    # answers one at a time, else 4), answers that may wait for one beyond those (then "busy": HTTP 503),
    # and questions a minute from one client address (then HTTP 429; 0: no limit).
    answer_slots: int | None = None
    max_waiting: int = 32
    rate_limit: int = 120
    # Adding articles by link (`assistant add URL`, the corpus tab, POST /v1/documents {"url"}:
    # indexing/fetch.py): seconds one response may take in all (connecting: at most 10 of them), bytes one
    # response may hold, and items of a feed fetched (the first ones).
    fetch_timeout: float = 30.0
    fetch_max_bytes: int = 5_000_000
    feed_max_items: int = 50
    # Which private, loopback and link-local addresses the server (the chat, the HTTP API) may fetch links
    # from: none by default; "1" every one; or addresses and networks, comma-separated ("10.0.0.0/8,
    # 127.0.0.1"). The CLI and the Python API, run by the machine's own user, fetch from any address.
    allow_private_urls: str = ""

    @property
    def shared_index(self) -> bool:
        """Whether the index is on a Chroma server, shared with other processes and machines."""
        return self.chroma_url is not None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then ASSISTANT_* (and OPENAI_*) environment variables, then non-None overrides."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(ENV_NAMES.get(f.name, "ASSISTANT_" + f.name.upper()))
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw)
        for name, value in overrides.items():
            if value is not None:
                values[name] = _convert(name, value) if isinstance(value, str) else value
        settings = replace(cls(), **values)
        settings.validate()
        return settings

    def validate(self) -> None:
        from .errors import AssistantError

        if self.llm not in LLM_CHOICES:
            raise AssistantError(f"unknown llm {self.llm!r}: choose one of {', '.join(LLM_CHOICES)}")
        if self.top_k < 1:
            raise AssistantError(f"top_k must be at least 1, got {self.top_k}")
        if self.evidence_words < 0:
            raise AssistantError(
                f"evidence_words must be 0 (whole passages) or more, got {self.evidence_words}"
            )
        for name in ("write_wait", "refresh_wait"):
            if getattr(self, name) < 0:
                raise AssistantError(f"{name} must be 0 seconds or more, got {getattr(self, name):g}")
        if self.fetch_timeout <= 0 or self.fetch_max_bytes < 1 or self.feed_max_items < 1:
            raise AssistantError(
                "fetch_timeout, fetch_max_bytes and feed_max_items must be above 0, got "
                f"{self.fetch_timeout:g}, {self.fetch_max_bytes}, {self.feed_max_items}"
            )
        for name in ("max_waiting", "rate_limit"):
            if getattr(self, name) < 0:
                raise AssistantError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.answer_slots is not None and self.answer_slots < 1:
            raise AssistantError(f"answer_slots must be at least 1, got {self.answer_slots}")
        if self.chunk_words < 20:
            raise AssistantError(f"chunk_words must be at least 20, got {self.chunk_words}")
        if self.chroma_url is not None:
            chroma_address(self.chroma_url)


def chroma_address(url: str) -> tuple[str, int, bool]:
    """(host, port, https) of a Chroma server's URL, http://HOST:PORT or https://HOST:PORT (the scheme's
    port when none is given); AssistantError naming the problem otherwise."""
    from urllib.parse import urlsplit

    from .errors import AssistantError

    problem = f"chroma_url (ASSISTANT_CHROMA_URL) must look like http://127.0.0.1:8000, got {url!r}"
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise AssistantError(problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise AssistantError(problem)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise AssistantError(problem)
    https = parts.scheme == "https"
    return parts.hostname, port or (443 if https else 80), https


# Variables that users of the openai client already know keep their usual names.
ENV_NAMES = {
    "openai_base_url": "OPENAI_BASE_URL",
    "openai_api_key": "OPENAI_API_KEY",
}

_PATHS = {"corpus_dir", "index_dir", "model_path", "cache_dir"}


def _convert(name: str, raw: object) -> object:
    from .errors import AssistantError

    kind = {f.name: f.type for f in fields(Settings)}.get(name)
    if kind is None:
        raise AssistantError(f"unknown setting {name!r}")
    text = str(raw)
    try:
        if name in _PATHS:
            return Path(text).expanduser()
        if kind in ("int", "int | None"):
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return _flag(text)
    except ValueError:
        env = ENV_NAMES.get(name, "ASSISTANT_" + name.upper())
        raise AssistantError(f"setting {name} ({env}) must be a {kind}, got {text!r}") from None
    return text


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)
