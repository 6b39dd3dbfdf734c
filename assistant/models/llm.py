"""The LLM backends as LlamaIndex LLMs, built from the settings: one place that knows every backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import BackendError, ModelError

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

    from .local import LocalLlamaCpp


def describe(settings: Settings) -> str:
    """A short label of who answers, for the CLI, the UI and Answer.model."""
    if settings.llm == "extractive":
        return "extractive (no model)"
    if settings.llm == "openai":
        where = f"compatible server at {settings.openai_base_url}" if settings.openai_base_url else "OpenAI"
        return f"{settings.openai_model} ({where})"
    from .model_file import MODEL_NAME

    return f"{settings.model_path.name if settings.model_path else MODEL_NAME} (local, llama.cpp)"


def build_llm(settings: Settings) -> LLM:
    """The LlamaIndex LLM for settings.llm "local" or "openai" (the extractive mode has none)."""
    if settings.llm == "openai":
        return build_openai_llm(settings)
    if settings.llm == "local":
        return build_local_llm(settings)
    raise ValueError(f"no model answers with llm={settings.llm!r}")


def build_local_llm(settings: Settings) -> LocalLlamaCpp:
    from .local import LocalLlamaCpp
    from .model_file import ensure_model_file

    if settings.model_path is not None:
        if not settings.model_path.is_file():
            raise ModelError(f"model file {settings.model_path} (ASSISTANT_MODEL_PATH) does not exist")
        path = settings.model_path
    else:
        path = ensure_model_file(settings.cache_dir)
    return LocalLlamaCpp(
        model_path=str(path),
        model_label=describe(settings),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        max_tokens=settings.max_answer_tokens,
        state_dir=str(settings.cache_dir / "prompt-state"),
    )


def build_openai_llm(settings: Settings) -> LLM:
    if settings.openai_base_url:
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=settings.openai_model,
            api_base=settings.openai_base_url,
            api_key=settings.openai_api_key or "not-needed",
            is_chat_model=True,
            context_window=settings.n_ctx,
            max_tokens=settings.max_answer_tokens,
            temperature=0.0,
            timeout=settings.request_timeout,
            max_retries=1,
        )
    if not settings.openai_api_key:
        raise BackendError("--llm openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)")
    from llama_index.llms.openai import OpenAI

    return OpenAI(
        model=settings.openai_model,
        api_key=settings.openai_api_key,
        max_tokens=settings.max_answer_tokens,
        temperature=0.0,
        timeout=settings.request_timeout,
        max_retries=1,
    )


@contextmanager
def backend_errors(settings: Settings) -> Iterator[None]:
    """Turn the openai client's exceptions (and its HTTP layer's, which a broken stream raises as they
    are) into one-line BackendErrors that name the server."""
    import httpx
    import openai

    where = settings.openai_base_url or "OpenAI"
    try:
        yield
    except openai.AuthenticationError:
        raise BackendError(f"{where} rejected the API key (401): check OPENAI_API_KEY") from None
    except openai.NotFoundError:
        raise BackendError(
            f"{where} has no model {settings.openai_model!r} (404): set ASSISTANT_OPENAI_MODEL"
        ) from None
    except (openai.APITimeoutError, httpx.TimeoutException):
        raise BackendError(f"{where} did not answer within {settings.request_timeout:.0f} s") from None
    except openai.APIConnectionError:
        raise BackendError(
            f"cannot reach {where}: is the server running and OPENAI_BASE_URL right?"
        ) from None
    except openai.RateLimitError as exc:
        raise BackendError(
            f"{where} is limiting requests (HTTP 429): {_reason(exc)}; try again later"
        ) from None
    except openai.APIStatusError as exc:
        raise BackendError(f"{where} answered HTTP {exc.status_code}: {_reason(exc)}") from None
    except httpx.TransportError as exc:  # raised while reading a stream: the connection broke off
        raise BackendError(f"the answer from {where} broke off mid-stream ({exc}); ask again") from None


def _reason(exc: Exception) -> str:
    """The server's own error message (OpenAI-style bodies carry it under "error"), else the client's."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or getattr(exc, "message", exc))[:200]
