"""The HTTP API (/v1) of a real `assistant serve` process on 127.0.0.1, through the official `openai` client
and plain HTTP (httpx): answers with citations and checks, streamed and not, follow-ups from `messages`,
retrieval, the corpus, and JSON errors for bad input. Extractive answers (no model) keep it fast; the chat's
own tests (test_ui.py) ask the same server kind with the local model."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.conftest import serving

GENEVA = "What tariff did the U.S. impose on Chinese goods after the Geneva talks?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory.mktemp("http"), "--llm", "extractive") as running:
        assert f"HTTP API at {running['url']}/v1" in running["log"].read_text()
        yield running
    assert "Traceback" not in running["log"].read_text()


def _openai(server):
    from openai import OpenAI

    return OpenAI(base_url=server["url"] + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_the_openai_client_gets_a_cited_checked_answer(server):
    reply = _openai(server).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": GENEVA}]
    )
    text = reply.choices[0].message.content
    extra = reply.model_extra
    assert reply.object == "chat.completion" and reply.model == "assistant"
    assert "30%" in text and "[" in text and extra["abstained"] is False
    citations = extra["citations"]
    markers = {int(m) for m in __import__("re").findall(r"\[(\d+)\]", text)}
    assert markers and markers <= {c["marker"] for c in citations}
    for c in citations:
        assert {"marker", "doc_id", "title", "text", "score", "start", "end"} <= set(c)
        article = server["corpus"] / f"{c['doc_id']}.md"
        assert c["end"] - c["start"] == len(c["text"]) and c["text"].split()[0] in article.read_text()
    assert extra["sentences"] and all(s["status"] in ("supported", "removed") for s in extra["sentences"])


def test_a_stream_sends_the_draft_then_the_checked_answer_and_done(server):
    with httpx.stream(
        "POST", server["url"] + "/v1/chat/completions", timeout=60,
        json={"model": "assistant", "stream": True, "messages": [{"role": "user", "content": GENEVA}]},
    ) as response:  # fmt: skip
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    draft = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    last = events[-1]
    assert draft and last["choices"][0]["finish_reason"] == "stop"
    assert "30%" in last["answer"] and last["citations"] and last["sentences"]

    # The openai client reads the same stream.
    chunks = list(_openai(server).chat.completions.create(
        model="assistant", stream=True, messages=[{"role": "user", "content": GENEVA}]
    ))  # fmt: skip
    assert chunks[-1].model_extra["answer"] == last["answer"]


def test_the_messages_before_the_question_make_it_a_follow_up(server):
    messages = [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": GENEVA},
        {"role": "assistant", "content": "It was lowered to 30% [1]."},
        {"role": "user", "content": "And what did China do?"},
    ]
    reply = _openai(server).chat.completions.create(model="assistant", messages=messages)
    assert reply.model_extra["search_query"] != "And what did China do?"
    alone = _openai(server).chat.completions.create(model="assistant", messages=messages[-1:])
    assert alone.model_extra["search_query"] == "And what did China do?"


def test_retrieve_returns_passages(server):
    found = httpx.post(server["url"] + "/v1/retrieve", json={"query": "cargo shipments", "k": 2}).json()
    assert len(found["passages"]) == 2 and "cargo" in found["passages"][0]["text"].lower()


def test_documents_are_listed_added_and_removed(server, tmp_path):
    url = server["url"] + "/v1/documents"
    before = httpx.get(url).json()
    assert len(before["documents"]) == 5 and before["documents"][0]["doc_id"]
    good = tmp_path / "copper-note.txt"
    good.write_text(
        "Copper Note\nChile shipped 70,000 tonnes of copper to China in May, port records show.\n"
    )
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with good.open("rb") as g, bad.open("rb") as b:
        added = httpx.post(url, files=[("file", (good.name, g)), ("file", (bad.name, b))], timeout=120)
    assert added.status_code == 200, added.text
    assert added.json()["added"] == ["copper-note"] and "binary" in " ".join(added.json()["skipped"].values())
    assert "copper-note" in {d["doc_id"] for d in httpx.get(url).json()["documents"]}
    question = {
        "model": "assistant",
        "messages": [{"role": "user", "content": "How much copper did Chile ship?"}],
    }
    answer = httpx.post(server["url"] + "/v1/chat/completions", json=question, timeout=60).json()
    assert "70,000" in answer["choices"][0]["message"]["content"]
    assert answer["citations"][0]["doc_id"] == "copper-note"

    removed = httpx.delete(url + "/copper-note", timeout=120)
    assert removed.status_code == 200 and removed.json()["removed"] == ["copper-note"]
    assert "copper-note" not in {d["doc_id"] for d in httpx.get(url).json()["documents"]}
    again = httpx.delete(url + "/copper-note")
    assert again.status_code == 404 and "no article 'copper-note'" in again.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}, 404, "unknown model"),
        ({"model": "assistant", "messages": [{"role": "user", "content": "   "}]}, 400, "empty"),
        ({"model": "assistant", "messages": []}, 400, "messages"),
        ({"model": "assistant", "messages": [{"role": "assistant", "content": "x"}]}, 400, "last message"),
        ({"model": "assistant", "messages": [{"role": "user", "content": "x" * 3000}]}, 400, "limit"),
        ({"model": "assistant", "messages": [{"role": "user", "content": "x" * 1_100_000}]}, 413, "bytes"),
        ("{not json", 400, "not valid JSON"),
    ],
)
def test_bad_chat_requests_get_a_json_error(server, body, status, says):
    url = server["url"] + "/v1/chat/completions"
    if isinstance(body, str):
        response = httpx.post(url, content=body, headers={"content-type": "application/json"})
    else:
        response = httpx.post(url, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert says in error["message"] and "Traceback" not in response.text


def test_bad_retrieve_requests_and_the_docs(server):
    for body in ({"k": 2}, {"query": "tariffs", "k": 0}, {"query": ""}):
        response = httpx.post(server["url"] + "/v1/retrieve", json=body)
        assert response.status_code == 400 and response.json()["error"]["message"], body
    docs = httpx.get(server["url"] + "/docs")
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    # The page's scripts, styles and icon come from this server, not a CDN: nothing leaves 127.0.0.1.
    linked = re.findall(r'(?:src|href|url)\s*[=:]\s*["\']([^"\']+)', docs.text)
    assert linked and all(link.startswith("/") for link in linked), linked
    for link in linked:
        assert httpx.get(server["url"] + link).status_code == 200, link
    paths = httpx.get(server["url"] + "/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/retrieve", "/v1/documents", "/v1/documents/{doc_id}"} <= set(paths)
    assert "gradio" in httpx.get(server["url"] + "/").text.lower()  # the chat still at /


def test_a_full_disk_is_507_and_what_the_server_cannot_use_now_503():
    from assistant.errors import DiskFullError, IndexBusyError, InvalidQuestionError
    from assistant.server.http_api import _status_of

    assert _status_of(DiskFullError("the disk is full"))[0] == 507
    assert _status_of(IndexBusyError("busy"))[0] == 503
    assert _status_of(InvalidQuestionError("empty"))[0] == 400


def test_a_date_range_on_the_api_leaves_the_undated_articles_out_and_says_so(server):
    retrieved = httpx.post(server["url"] + "/v1/retrieve", json={"query": GENEVA, "since": "2025-01-01"})
    assert retrieved.status_code == 200 and retrieved.json()["passages"] == []
    assert all(p["published"] is None for p in httpx.post(
        server["url"] + "/v1/retrieve", json={"query": GENEVA}).json()["passages"])  # fmt: skip
    body = {"model": "assistant", "messages": [{"role": "user", "content": GENEVA}], "since": "2025-01-01"}
    reply = httpx.post(server["url"] + "/v1/chat/completions", json=body, timeout=60).json()
    assert reply["abstained"] is True and "5 undated articles were left out" in reply["dates_note"]
    bad = httpx.post(server["url"] + "/v1/retrieve", json={"query": GENEVA, "until": "tomorrow"})
    assert bad.status_code == 400 and "until: 'tomorrow' is not a date" in bad.json()["error"]["message"]
    listed = httpx.get(server["url"] + "/v1/documents").json()["documents"]
    assert all({"published", "outlet", "author"} <= set(d) and d["published"] is None for d in listed)
