"""The ragas judge: OpenAI when a key is set, else the local model served OpenAI-style on 127.0.0.1.

The local judge is llama-cpp-python's own server with its RAM prompt cache capped at 100 MB (each entry
also holds logits that the cap does not count, so the default cap grows the server past 13 GB in a long
run: docs/evaluation.md). ragas asks for JSON; the request hook below also hands the server the JSON schema
that instructor wrote into the prompt, so llama.cpp's grammar constrains the reply to that shape and no
sample is lost to a parse failure. Samples are scored one at a time (the server answers one request at a
time) with a time limit each; a sample that fails or times out is recorded as NaN and counted.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import BackendError

METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")


@dataclass
class Sample:
    question: str
    answer: str
    contexts: list[str]  # what the answering model read: faithfulness is judged against it
    reference: str
    retrieved: list[str] | None = None  # the passages retrieval returned (context metrics); default contexts

    @property
    def passages(self) -> list[str]:
        return self.retrieved if self.retrieved is not None else self.contexts


@dataclass
class Judge:
    label: str
    llm: Any  # ragas InstructorBaseRagasLLM
    embeddings: Any  # ragas BaseRagasEmbedding (for answer relevancy)
    timeout: float
    # One event loop for the judge's life: the async HTTP client's connections belong to it.
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    errors: list[str] = field(default_factory=list)  # why samples failed, for the report

    def score(self, sample: Sample, metrics: tuple[str, ...]) -> dict[str, float]:
        """Each metric's score for the sample; NaN where the judge failed or ran out of time."""
        out: dict[str, float] = {}
        for name in metrics:
            try:
                out[name] = self.loop.run_until_complete(
                    asyncio.wait_for(self._score(name, sample), self.timeout)
                )
            except Exception as exc:  # the judge's failure is a result (NaN, counted), never a crash
                self.errors.append(f"{name}: {exc.__class__.__name__}: {str(exc)[:200]}")
                out[name] = math.nan
        return out

    async def _score(self, name: str, s: Sample) -> float:
        from ragas.metrics.collections import AnswerRelevancy, ContextPrecision, ContextRecall, Faithfulness

        if name == "faithfulness":
            result = await Faithfulness(llm=self.llm).ascore(
                user_input=s.question, response=s.answer, retrieved_contexts=s.contexts
            )
        elif name == "answer_relevancy":
            result = await AnswerRelevancy(llm=self.llm, embeddings=self.embeddings).ascore(
                user_input=s.question, response=s.answer
            )
        elif name == "context_precision":
            result = await ContextPrecision(llm=self.llm).ascore(
                user_input=s.question, reference=s.reference, retrieved_contexts=s.passages
            )
        else:
            result = await ContextRecall(llm=self.llm).ascore(
                user_input=s.question, retrieved_contexts=s.passages, reference=s.reference
            )
        return float(result.value)


@contextmanager
def open_judge(settings: Settings, kind: str, cache_dir: Path) -> Iterator[Judge]:
    """kind: "openai" (needs OPENAI_API_KEY) or "local" (starts and stops the llama.cpp server)."""
    from ragas.cache import DiskCacheBackend
    from ragas.embeddings import HuggingFaceEmbeddings

    from ..models.embeddings import embedding_model_path

    cache = DiskCacheBackend(cache_dir=str(cache_dir))  # unchanged prompts are not asked again
    embeddings = HuggingFaceEmbeddings(model=embedding_model_path(), device="cpu")
    if kind == "openai":
        if not settings.openai_api_key and not settings.openai_base_url:
            raise BackendError("--judge openai needs OPENAI_API_KEY (or OPENAI_BASE_URL)")
        client = _client(settings.openai_base_url, settings.openai_api_key or "not-needed")
        label = f"{settings.openai_model} ({settings.openai_base_url or 'OpenAI'})"
        yield Judge(label, _ragas_llm(settings.openai_model, client, cache), embeddings, timeout=120)
        return
    with local_server(settings) as base_url:
        client = _client(base_url, "local", constrain=True)
        from ..models.model_file import MODEL_NAME

        label = f"{MODEL_NAME} (local, llama.cpp server, JSON-schema constrained)"
        yield Judge(label, _ragas_llm("local-judge", client, cache), embeddings, timeout=240)


def _ragas_llm(model: str, client: Any, cache: Any) -> Any:
    from ragas.llms import llm_factory

    return llm_factory(model, client=client, cache=cache, temperature=0.0, max_tokens=2048)


def _client(base_url: str | None, api_key: str, constrain: bool = False) -> Any:
    import httpx
    from openai import AsyncOpenAI

    hooks = {"request": [_add_schema]} if constrain else {}
    return AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        max_retries=0,
        timeout=300,
        http_client=httpx.AsyncClient(event_hooks=hooks, timeout=300),
    )


REQUESTS = {"sent": 0, "schema_constrained": 0}  # reported, so the claim above can be checked
_SCHEMA_IN_PROMPT = re.compile(r"json_schema:\s*(\{.*?\})\s*\n\s*Make sure", re.S)


async def _add_schema(request: Any) -> None:
    """Copy the schema instructor put in the prompt into response_format, for llama.cpp's grammar."""
    import httpx

    if not request.url.path.endswith("/chat/completions"):
        return
    body = json.loads(request.content)
    REQUESTS["sent"] += 1
    fmt = body.get("response_format") or {}
    if fmt.get("type") != "json_object" or "schema" in fmt:
        return
    for message in body.get("messages", []):
        match = _SCHEMA_IN_PROMPT.search(str(message.get("content", "")))
        if match:
            try:
                fmt["schema"] = json.loads(match.group(1))
            except ValueError:
                return
            body["response_format"] = fmt
            data = json.dumps(body).encode()
            request.headers["Content-Length"] = str(len(data))
            request._content = data  # httpx has no public setter for a built request's body
            request.stream = httpx.ByteStream(data)
            REQUESTS["schema_constrained"] += 1
            return


def local_server(settings: Settings) -> AbstractContextManager[str]:
    """llama-cpp-python's OpenAI-compatible server with the packaged model, on a free loopback port (the
    same server `assistant model-server` runs), with room for ragas' long prompts."""
    from ..models import model_server

    return model_server.running(settings, n_ctx=8192)
