"""The HTTP API under /v1, for tools in any language: OpenAI's chat-completions wire format, retrieval and
the corpus. Served by `assistant serve` on the chat's port (server/app.py); OpenAPI docs at /docs.

- `POST /v1/chat/completions` (model `assistant`): the last user message is the question, the messages
  before it the conversation a follow-up is rewritten from. The reply is a `chat.completion` whose message
  holds the checked answer with its [n] markers, plus `citations`, `sentences` (each sentence's check),
  `abstained`, `unanswered`, `differ`, `search_query`, `dates_note` and `timeline`. With `stream: true`,
  server-sent `chat.completion.chunk` events carry the model's draft as it is written; the last event before
  `data: [DONE]` carries the checked answer (`answer`) with the same fields, because a sent delta cannot be
  taken back and the checks may remove sentences of the draft.
- `POST /v1/retrieve` {"query", "k", "since", "until"} → {"passages": [...]}; `since` / `until` (ISO dates,
  both optional, here and in a chat request) search only the articles published in that range.
- `GET /v1/health`: the model, and the answers being written and waiting (server/admission.py).
- `GET /v1/documents`, `POST /v1/documents` (multipart, field `file`, one or more; or JSON `{"url": ...}`:
  an article page or an RSS/Atom feed fetched and indexed), `DELETE /v1/documents/{doc_id}`.

Errors are JSON in OpenAI's shape, `{"error": {"message", "type", "code"}}`: 400 bad input, 401 no valid
token (when tokens are set), 403 not allowed (a reader's token on an editing call, a client beyond this
machine with no tokens set: access.py), 404 an unknown model or document, 413 a request over MAX_BODY (an
upload over MAX_UPLOAD), 502 when a link cannot be fetched or read (unreachable, timed out, an HTTP error,
too large, neither a page nor a feed), 503 when the index (or its Chroma server) or the model cannot be used,
507 when the disk is too full to index an upload; a link that is not http(s) is 400, one to a private
address 403; never a traceback.
Uses the public `Assistant` only.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..api import Assistant
from ..errors import (
    AddressRefusedError,
    AssistantError,
    BackendError,
    BadUrlError,
    CorpusError,
    DiskFullError,
    DocumentError,
    FetchError,
    IndexBusyError,
    IndexCorruptError,
    IndexNotFoundError,
    IndexUnavailableError,
    ModelError,
)
from ..indexing.corpus_folder import MAX_FILES_AT_ONCE, file_name
from ..indexing.documents import MAX_DOCUMENT_BYTES
from ..indexing.fetch import AddressPolicy
from ..indexing.ingest import IngestReport
from ..results import Answer
from .access import Access, Denied
from .admission import Busy, Gate, Ticket, TooMany

log = logging.getLogger(__name__)
MODEL = "assistant"
MAX_BODY = 1_000_000  # bytes of a JSON request
MAX_UPLOAD = 200_000_000  # bytes of one upload request (each file: MAX_DOCUMENT_BYTES)


class Message(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model: str = MODEL
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    since: str | None = None  # only articles published in this range (ISO dates, both ends included)
    until: str | None = None


class RetrieveRequest(BaseModel):
    query: str
    k: int | None = Field(default=None, ge=1, le=50)
    since: str | None = None
    until: str | None = None


class LinkRequest(BaseModel):
    url: str = Field(min_length=1, max_length=8000)


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


def error_response(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


def _status_of(exc: AssistantError) -> tuple[int, str]:
    """503 for what the server cannot use now (the index, the model, its backend), 507 for a disk too full
    to index an upload, 502 for a link that could not be fetched or read, 403 for one to an address the
    server does not fetch from; 400 for the rest, which is the request's (an empty or over-long question, a
    link that is not http(s), ...)."""
    if isinstance(exc, DiskFullError):
        return 507, "insufficient_storage"
    if isinstance(exc, AddressRefusedError):
        return 403, "permission_denied"
    if isinstance(exc, FetchError) and not isinstance(exc, BadUrlError):
        return 502, "bad_gateway"
    unusable = IndexNotFoundError | IndexCorruptError | IndexBusyError | IndexUnavailableError
    if isinstance(exc, unusable | ModelError | BackendError):
        return 503, "service_unavailable"
    return 400, "invalid_request_error"


def _text(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: a string, or OpenAI's list of typed parts ({"type": "text", "text": ...})."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return " ".join(str(part.get("text", "")) for part in content if part.get("type", "text") == "text")


def _conversation(messages: list[Message]) -> tuple[str, list[dict[str, str]]]:
    """(the question: the last message, a user's; the user and assistant turns before it)."""
    last = messages[-1]
    if last.role != "user":
        raise ApiError(400, f"the last message must be the user's question, not a {last.role!r} message")
    history = [
        {"role": m.role, "content": _text(m.content)}
        for m in messages[:-1]
        if m.role in ("user", "assistant")
    ]
    return _text(last.content), history


def answer_fields(answer: Answer) -> dict[str, Any]:
    """What an answer carries beyond its text: its citations and checks."""
    return {
        "citations": [asdict(c) for c in answer.citations],  # tuples are JSON arrays
        "sentences": [asdict(s) for s in answer.sentences],
        "abstained": answer.abstained,
        "unanswered": answer.unanswered,
        "differ": answer.differ,
        "search_query": answer.search_query,
        "dates_note": answer.dates_note,
        "timeline": [asdict(r) for r in answer.timeline],
    }


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


async def _link(request: Request) -> LinkRequest | None:
    """A JSON body's link ({"url": ...}) for POST /v1/documents; None for an upload (multipart)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        return LinkRequest.model_validate(json.loads(await request.body()))
    except ValidationError as exc:  # not {"url": "..."}
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise ApiError(400, f"{where}: {first['msg']}") from None
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None


def build_router(assistant: Assistant, gate: Gate, addresses: AddressPolicy) -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.post("/chat/completions")
    def chat_completions(body: ChatRequest, request: Request) -> Any:
        """An answer in OpenAI's chat-completions format, with its citations and checks. It waits its turn
        at the model (a stream says its place in the line meanwhile); 503 with Retry-After when too many
        answers wait already, 429 when this client asked too often."""
        if body.model != MODEL:
            raise ApiError(
                404, f"unknown model {body.model!r}: this server answers as {MODEL!r}", "not_found"
            )
        question, history = _conversation(body.messages)
        ticket = gate.admit(_client(request))
        try:
            # Bad input (the question, the dates) is raised here, before any byte is sent.
            context = assistant.prepare_context(question, history, body.since, body.until)
        except BaseException:
            ticket.leave()
            raise
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if body.stream:
            return StreamingResponse(
                _events(assistant, context, ticket, reply_id, created), media_type="text/event-stream"
            )
        try:
            ticket.wait()
            final = None
            for event in assistant.answer_stream(context):
                final = event
        finally:
            ticket.leave()
        assert isinstance(final, Answer)
        return {
            "id": reply_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": final.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        } | answer_fields(final)

    @router.post("/retrieve")
    def retrieve(body: RetrieveRequest, request: Request) -> dict[str, Any]:
        """The passages that best match the query, best first (429 when this client asked too often)."""
        gate.rate.check(_client(request))
        passages = assistant.retrieve(body.query, body.k, body.since, body.until)
        return {"passages": [asdict(p) for p in passages]}

    @router.get("/health")
    def health() -> dict[str, Any]:
        """Whether this server answers, and how busy it is: answers being written and waiting."""
        line = gate.line
        return {
            "status": "ok",
            "model": assistant.model,
            "slots": line.slots,
            "answering": line.answering(),
            "waiting": line.waiting(),
            "max_waiting": line.max_waiting,
        }

    @router.get("/documents")
    def documents() -> dict[str, Any]:
        """The articles in the index, and whether the corpus folder has changed since it was built."""
        status = assistant.status()
        return {
            "documents": [{"doc_id": doc_id} | asdict(d) for doc_id, d in sorted(status.documents.items())],
            "pending": status.pending,
            "summary": status.summary(),
        }

    @router.post("/documents")
    def add_documents(
        file: list[UploadFile] | None = File(None),  # noqa: B008
        link: LinkRequest | None = Depends(_link),  # noqa: B008
    ) -> dict[str, Any]:
        """Add one or more files (.txt, .md, .html, .pdf; multipart, field `file`) and index them; rejected
        ones are in `skipped`. Or, with a JSON body {"url": ...}, fetch an article page or every item of an
        RSS/Atom feed and index them: `fetched` names the articles, `skipped` the feed items not added."""
        if link is not None:
            report = assistant.add_url(link.url, addresses=addresses)
            return _report(report) | {"fetched": report.fetched}
        if not file:
            raise ApiError(400, "send files (multipart, field 'file') or a link (JSON: {\"url\": ...})")
        if len(file) > MAX_FILES_AT_ONCE:  # before a byte is copied
            raise ApiError(400, f"{len(file)} files at once is over the limit of {MAX_FILES_AT_ONCE}")
        rejected: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
            paths = []
            for number, upload in enumerate(file, start=1):
                given = upload.filename or ""
                try:
                    name = file_name(given)  # never a path out of the corpus folder
                except DocumentError as exc:
                    rejected[given or f"file {number}"] = str(exc)
                    continue
                folder = Path(tmp) / str(number)  # two files of one name: each its own, the last one wins
                folder.mkdir()
                with (folder / name).open("wb") as out:
                    copied = _copy(upload.file, out, MAX_DOCUMENT_BYTES + 1)
                if copied > MAX_DOCUMENT_BYTES:
                    rejected[name] = f"{name}: over the {MAX_DOCUMENT_BYTES:,}-byte limit"
                    continue
                paths.append(folder / name)
            report = assistant.add_files(paths)
        report.skipped.update(rejected)
        return _report(report)

    @router.delete("/documents/{doc_id}")
    def remove_document(doc_id: str) -> dict[str, Any]:
        """Take an article out of the corpus and the index."""
        try:
            return _report(assistant.remove_document(doc_id))
        except CorpusError as exc:
            raise ApiError(404, str(exc), "not_found") from None

    return router


def _copy(source: Any, target: Any, limit: int) -> int:
    """Copy at most `limit` bytes; returns how many were copied (a client's file is never copied whole
    before its size is known)."""
    copied = 0
    while copied < limit and (block := source.read(min(1 << 20, limit - copied))):
        target.write(block)
        copied += len(block)
    return copied


def _report(report: IngestReport) -> dict[str, Any]:
    return {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "skipped": report.skipped,
        "chunks": report.chunks,
        "summary": report.summary(),
    }


def _events(assistant: Assistant, context: Any, ticket: Ticket, reply_id: str, created: int) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        event = {
            "id": reply_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        } | extra
        return f"data: {json.dumps(event)}\n\n"

    try:
        yield chunk({"role": "assistant", "content": ""})
        while not ticket.wait(1.0):  # a chunk with no text, saying how many answers are before this one
            yield chunk({}, queue_position=ticket.ahead())
        yield from _answer_events(assistant, context, chunk)
    finally:
        ticket.leave()
    yield "data: [DONE]\n\n"


def _answer_events(assistant: Assistant, context: Any, chunk: Callable[..., str]) -> Iterator[str]:
    try:
        for event in assistant.answer_stream(context):
            if isinstance(event, Answer):
                yield chunk({}, "stop", answer=event.text, **answer_fields(event))
            elif event:
                yield chunk({"content": event})
    except AssistantError as exc:  # the headers are sent: the error is the last event
        status, kind = _status_of(exc)
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': kind, 'code': status}})}\n\n"


def install(app: FastAPI, assistant: Assistant, access: Access, gate: Gate) -> None:
    """Add the /v1 routes, who may call them and their error handling to the app."""
    app.include_router(build_router(assistant, gate, access.link_addresses))

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        path = request.url.path
        if not path.startswith("/v1/"):
            return await call_next(request)
        editing = path.startswith("/v1/documents") and request.method in ("POST", "DELETE")
        try:
            access.api_role(
                request.client.host if request.client else "",
                request.headers.get("authorization", ""),
                editing,
            )
        except Denied as denied:
            response = error_response(
                denied.status,
                denied.message,
                "authentication_error" if denied.status == 401 else "permission_denied",
            )
            if denied.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        length = request.headers.get("content-length", "")
        multipart = request.headers.get("content-type", "").startswith("multipart/")
        limit = MAX_UPLOAD if multipart else MAX_BODY
        if length.isdigit() and int(length) > limit:
            return error_response(413, f"the request is over {limit:,} bytes", "request_too_large")
        try:
            return await call_next(request)
        except Exception:  # never a traceback to the caller
            log.exception("the HTTP API failed on %s", request.url.path)
            return error_response(500, "internal error: see the server's log", "server_error")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.kind)

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        status, kind = (429, "rate_limit_exceeded") if isinstance(exc, TooMany) else (503, "server_busy")
        response = error_response(status, str(exc), kind)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        status, kind = _status_of(exc)
        return error_response(status, str(exc), kind)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return error_response(400, "the request body is not valid JSON")
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return error_response(400, f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if not request.url.path.startswith("/v1/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return error_response(exc.status_code, str(exc.detail), "invalid_request_error")
