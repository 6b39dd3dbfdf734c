"""The OpenAI-compatible path against a local server that speaks the chat-completions wire protocol.

The hosted OpenAI API cannot be reached from here; this fake implements the same HTTP contract
(JSON request, `Authorization: Bearer`, SSE streaming with `data: [DONE]`, OpenAI-style error bodies).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant import Answer, Assistant, BackendError
from assistant.cli import format_sources
from assistant.ui.render import left_out_note
from tests.conftest import CORPUS

REPLY = "The U.S. lowered its tariff on Chinese goods to 30% [1]. Talks later stalled [9]."
REWRITTEN = "What tariff did China impose on U.S. goods after the Geneva talks?"
# Models whose name makes the server fail as real ones do: it never answers in time, it is overloaded
# (HTTP 500), it rate-limits (429), or its stream breaks off after the first chunks.
SLOW, BROKEN, LIMITED, CUT = "slow-model", "broken-model", "limited-model", "cut-model"
SLOW_SECONDS = 3.0


class FakeOpenAI(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streams, as OpenAI and vLLM send them
    requests: list[dict] = []
    reply = REPLY

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        model = body.get("model")
        if self.headers.get("Authorization") != "Bearer good-key":
            return self._json(
                401,
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        if model == SLOW:
            time.sleep(SLOW_SECONDS)
        if model == BROKEN:
            return self._json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
        if model == LIMITED:
            return self._json(429, {"error": {"message": "Rate limit reached", "type": "requests"}})
        if model not in ("test-model", SLOW, CUT):
            return self._json(404, {"error": {"message": "model not found", "type": "invalid_request_error"}})
        prompt = json.dumps(body.get("messages"))
        text = REWRITTEN if "Standalone question:" in prompt else FakeOpenAI.reply
        if not body.get("stream"):
            return self._json(200, _completion(text))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(text), 12):
            chunk = {**_completion(None), "object": "chat.completion.chunk"}
            chunk["choices"] = [{"index": 0, "delta": {"content": text[i : i + 12]}, "finish_reason": None}]
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            if model == CUT and i >= 24:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # no closing chunk: the body is incomplete
                self.close_connection = True
                return
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _completion(text: str | None) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (after a timeout, or on a cut stream) is part of the tests


@pytest.fixture(scope="module")
def server():
    httpd = _Server(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _assistant(
    built_index, base_url: str, key: str, model: str = "test-model", timeout: float = 10.0
) -> Assistant:
    return Assistant(
        corpus_dir=CORPUS, index_dir=built_index, llm="openai",
        openai_base_url=base_url, openai_api_key=key, openai_model=model, request_timeout=timeout,
    )  # fmt: skip


def test_compatible_server_streams_a_cited_answer(server, built_index):
    FakeOpenAI.requests.clear()
    a = _assistant(built_index, server, "good-key")
    *deltas, answer = a.stream("What was the U.S. tariff on Chinese goods after the Geneva talks?")
    assert isinstance(answer, Answer)
    assert "".join(str(d) for d in deltas) == REPLY  # streamed as it came
    # [9] points at no passage and is dropped; [1] stays, or moves to the passage that holds "30%"; and no
    # passage retrieved says the talks stalled, so that sentence is removed, with its reason.
    found = re.fullmatch(r"The U\.S\. lowered its tariff on Chinese goods to 30% \[(\d)\]\.", answer.text)
    assert found, answer.text
    [citation] = answer.citations
    assert "30%" in citation.text and citation.marker == int(found.group(1))
    assert citation.doc_id == answer.passages[citation.marker - 1].doc_id
    [removed] = answer.removed
    assert removed.text == "Talks later stalled." and removed.reason == "no passage states this"
    assert "test-model" in answer.model and server in answer.model
    request = FakeOpenAI.requests[-1]
    assert request["path"] == "/v1/chat/completions" and request["body"]["stream"] is True
    system, user = request["body"]["messages"]
    assert system["role"] == "system" and "only the numbered passages" in system["content"]
    assert user["content"].count("\n[") >= 3 and "Geneva talks?" in user["content"]


def test_names_and_figures_no_passage_states_are_left_out(server, built_index, monkeypatch):
    a = _assistant(built_index, server, "good-key")
    # A question the articles come close to but do not answer, answered from the model's memory.
    monkeypatch.setattr(FakeOpenAI, "reply", "The U.S. ambassador to China is John Kerry [1].")
    answer = a.ask("Who is the U.S. ambassador to China?")
    assert answer.abstained and not answer.citations and answer.unsupported == ["John", "Kerry"]
    assert "John, Kerry, which no passage states" in answer.text
    # One made-up sentence among supported ones: only it goes. A figure the question brings ("2018")
    # must still come from a passage.
    reply = "The U.S. lowered its tariff on Chinese goods to 30% [1]. It was 25% in 2018 [1]."
    monkeypatch.setattr(FakeOpenAI, "reply", reply)
    answer = a.ask("What was the U.S. tariff on Chinese goods in 2018 and after the Geneva talks?")
    assert not answer.abstained and answer.unsupported == ["25", "2018"]
    assert "30%" in answer.text and "25%" not in answer.text
    # ... and the answer says the articles give nothing for the year asked about.
    assert answer.text.endswith("The articles give nothing for 2018.") and answer.unanswered == [
        "anything for 2018"
    ]
    [removed] = answer.removed
    assert removed.text.startswith("It was 25% in 2018") and "does not state" in removed.reason
    # The reader is told what was left out, in the CLI and in the chat.
    assert "left out: a sentence naming 25, 2018, which no passage states" in format_sources(answer)
    assert "Left out: a sentence naming 25, 2018" in left_out_note(answer)


def test_a_refusal_that_cites_a_passage_is_still_a_refusal(server, built_index, monkeypatch):
    a = _assistant(built_index, server, "good-key")
    monkeypatch.setattr(FakeOpenAI, "reply", "The articles do not answer this question [1].")
    answer = a.ask("What did the U.S. say about soybean tariffs on Chinese goods?")  # no passage says
    assert answer.abstained and not answer.citations
    [refusal] = answer.sentences
    assert refusal.status == "removed" and refusal.reason == "it says the passages do not answer"
    # A question a passage does answer is not refused for the model's saying so: the passage is quoted.
    answer = a.ask("Which company is named in the U.S. restrictions on selling AI chips?")
    assert not answer.abstained and "Huawei" in answer.text
    assert answer.sentences[0].status == "removed" and answer.sentences[1].reason.startswith("quoted from")
    # A sentence that refuses one part and answers another is an answer.
    reply = "The articles do not say when, but the U.S. cut its tariff on Chinese goods to 30% [1]."
    monkeypatch.setattr(FakeOpenAI, "reply", reply)
    answer = a.ask("When did the U.S. cut its tariff on Chinese goods to 30%?")
    assert not answer.abstained and answer.citations


def test_follow_up_is_rewritten_by_the_model(server, built_index):
    FakeOpenAI.requests.clear()
    a = _assistant(built_index, server, "good-key")
    history = [
        {"role": "user", "content": "What did the U.S. do after the Geneva talks?"},
        {"role": "assistant", "content": "It cut its tariff on Chinese goods to 30% [1]."},
    ]
    answer = a.ask("and China?", history=history)
    rewrite, reply = FakeOpenAI.requests
    prompt = rewrite["body"]["messages"][0]["content"]
    assert (
        "user: What did the U.S. do after the Geneva talks?" in prompt
        and "Last question: and China?" in prompt
    )
    assert answer.search_query == REWRITTEN  # what the server wrote is what retrieval searched for
    # ... and what the answer stands on: China's own figures, which "and China?" alone does not find.
    assert any("125%" in p.text for p in answer.passages)
    read = [text for texts in answer.evidence.values() for text in texts]
    assert read and all(text in reply["body"]["messages"][1]["content"] for text in read)


def test_wrong_key_is_one_clear_line(server, built_index):
    with pytest.raises(BackendError, match=r"rejected the API key \(401\)"):
        _assistant(built_index, server, "bad-key").ask("What was the U.S. tariff on Chinese goods?")


def test_unknown_model_is_named(server, built_index):
    with pytest.raises(BackendError, match="no model 'gpt-nope'"):
        _assistant(built_index, server, "good-key", model="gpt-nope").ask(
            "What was the U.S. tariff on Chinese goods?"
        )


def test_unreachable_server_is_one_clear_line(built_index):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendError, match="cannot reach"):
        _assistant(built_index, f"http://127.0.0.1:{port}/v1", "k").ask(
            "What was the U.S. tariff on Chinese goods?"
        )


def test_openai_without_key_or_server_says_what_is_missing(built_index, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    a = Assistant(corpus_dir=CORPUS, index_dir=built_index, llm="openai")
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        a.ask("What was the U.S. tariff on Chinese goods?")


def test_a_server_that_does_not_answer_in_time_is_one_clear_line(server, built_index):
    with pytest.raises(BackendError, match=r"did not answer within 1 s"):
        _assistant(built_index, server, "good-key", model=SLOW, timeout=1.0).ask(
            "What was the U.S. tariff on Chinese goods?"
        )


@pytest.mark.parametrize(
    "model, message",
    [
        (BROKEN, r"answered HTTP 500: The server had an error"),
        (LIMITED, r"is limiting requests \(HTTP 429\)"),
    ],
)
def test_server_errors_are_one_clear_line_after_one_retry(server, built_index, model, message):
    FakeOpenAI.requests.clear()
    with pytest.raises(BackendError, match=message):
        _assistant(built_index, server, "good-key", model=model).ask(
            "What was the U.S. tariff on Chinese goods?"
        )
    assert len(FakeOpenAI.requests) == 2  # the client retried once (max_retries=1), then gave up


def test_a_stream_cut_mid_answer_is_one_clear_line_and_the_next_question_works(server, built_index):
    a = _assistant(built_index, server, "good-key", model=CUT)
    events: list[str | Answer] = []
    with pytest.raises(BackendError, match="broke off mid-stream"):
        for event in a.stream("What was the U.S. tariff on Chinese goods after the Geneva talks?"):
            events.append(event)
    # What had arrived was streamed first.
    assert "".join(str(e) for e in events).startswith("The U.S. lowered")
    answer = _assistant(built_index, server, "good-key").ask("What was the U.S. tariff on Chinese goods?")
    assert answer.citations
