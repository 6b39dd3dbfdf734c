"""Many users at once (server/admission.py): the line of answers waiting for the model, bounded, and the
per-client rate limit; first on their own, then through real `assistant serve` processes: the HTTP API's
429 and 503 with Retry-After, a waiting stream's place in the line, and the chat saying the same."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import pytest

from assistant.server.admission import Busy, Line, RateLimit, TooMany
from tests.conftest import serving

GENEVA = "What tariff did the U.S. impose on Chinese goods after the Geneva talks?"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_line_admits_in_order_and_counts_who_is_ahead():
    line = Line(slots=2, max_waiting=2)
    first, second, third, fourth = (line.join() for _ in range(4))
    assert first.wait(0) and second.wait(0) and not third.wait(0) and not fourth.wait(0)
    assert [t.ahead() for t in (first, second, third, fourth)] == [0, 0, 2, 3]
    with pytest.raises(Busy, match="2 answers are waiting") as busy:
        line.join()
    assert busy.value.retry_after >= 1 and not isinstance(busy.value, TooMany)
    second.leave()
    assert third.wait(0) and not fourth.wait(0) and fourth.ahead() == 2
    fourth.leave()  # gave up waiting: it leaves the line, no slot taken
    fifth = line.join()
    assert not fifth.wait(0) and fifth.ahead() == 2 and line.waiting() == 1
    first.leave()
    first.leave()  # twice is harmless
    assert fifth.wait(0) and line.waiting() == 0


def test_a_waiting_answer_goes_on_when_a_slot_frees():
    line = Line(slots=1, max_waiting=5)
    holder, waiter = line.join(), line.join()
    admitted = threading.Event()

    def wait() -> None:
        if waiter.wait(10):
            admitted.set()

    thread = threading.Thread(target=wait)
    thread.start()
    assert not admitted.wait(0.3)
    holder.leave()
    assert admitted.wait(5)
    thread.join(5)


def test_the_rate_limit_counts_each_client_over_a_minute():
    clock = Clock()
    limit = RateLimit(3, clock=clock)
    for _ in range(3):
        limit.check("10.0.0.1")
    with pytest.raises(TooMany, match="at most 3 a minute") as refused:
        limit.check("10.0.0.1")
    assert refused.value.retry_after == 60
    limit.check("10.0.0.2")  # another client has its own share
    clock.now += 59.5
    with pytest.raises(TooMany):
        limit.check("10.0.0.1")  # a refused question is not counted: still three in the minute
    clock.now += 1
    limit.check("10.0.0.1")
    RateLimit(0, clock=clock).check("x")  # 0: no limit


def test_the_api_answers_429_past_the_rate_limit(tmp_path):
    with serving(tmp_path, "--llm", "extractive", ASSISTANT_RATE_LIMIT="3") as server:
        asked = [
            httpx.post(server["url"] + "/v1/retrieve", json={"query": f"tariff {i}"}, timeout=60)
            for i in range(3)
        ]
        assert [r.status_code for r in asked] == [200, 200, 200]
        refused = httpx.post(
            server["url"] + "/v1/chat/completions",
            json={"model": "assistant", "messages": [{"role": "user", "content": GENEVA}]},
            timeout=60,
        )
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        error = refused.json()["error"]
        assert error["type"] == "rate_limit_exceeded" and "ASSISTANT_RATE_LIMIT" in error["message"]
        from gradio_client import Client

        job = Client(server["url"], verbose=False).submit(GENEVA, api_name="/chat")
        job.result(timeout=60)
        assert "too many questions" in job.outputs()[-1][0]


def _stream(url: str, results: list, index: int) -> None:
    events: list[dict] = []
    with httpx.stream(
        "POST", url + "/v1/chat/completions", timeout=120,
        json={"model": "assistant", "stream": True, "messages": [{"role": "user", "content": GENEVA}]},
    ) as response:  # fmt: skip
        if response.status_code != 200:
            response.read()
            results[index] = (response.status_code, dict(response.headers), response.json())
            return
        for line in response.iter_lines():
            if line.startswith("data: {"):
                events.append(json.loads(line[6:]))
    results[index] = (200, {}, events)


@pytest.mark.model
def test_a_full_line_says_busy_and_a_waiting_answer_its_place(tmp_path):
    """One slot (the local model), one place to wait: of three answers asked at once, one is written, one
    waits saying it is next, one is refused with 503 and Retry-After; the chat says the same."""
    with serving(tmp_path, ASSISTANT_MAX_WAITING="1") as server:
        results: list = [None] * 3
        threads = [threading.Thread(target=_stream, args=(server["url"], results, i)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        statuses = sorted(r[0] for r in results)
        assert statuses == [200, 200, 503], results
        busy = next(r for r in results if r[0] == 503)
        assert int(busy[1]["retry-after"]) >= 1 and busy[2]["error"]["type"] == "server_busy"
        answered = [r[2] for r in results if r[0] == 200]
        places = [[e["queue_position"] for e in events if "queue_position" in e] for events in answered]
        assert sorted(bool(p) for p in places) == [False, True] and all(set(p) == {1} for p in places if p)
        for events in answered:
            assert "30%" in events[-1]["answer"]

        from gradio_client import Client

        jobs = [Client(server["url"], verbose=False).submit(GENEVA, api_name="/chat") for _ in range(3)]
        outcomes = []
        for job in jobs:
            try:
                job.result(timeout=180)
                outcomes.append(job.outputs()[-1][0])
            except Exception as exc:  # Gradio's own queue, if full: its error reaches the client
                outcomes.append(f"error: {exc}")
        assert sum("30%" in o for o in outcomes) == 2, outcomes
        assert any(re.search("busy|queue is full", o, re.I) for o in outcomes), outcomes


@pytest.mark.model
def test_the_chat_waits_its_turn_behind_the_api_and_says_so(tmp_path):
    from gradio_client import Client

    with serving(tmp_path) as server:
        client = Client(server["url"], verbose=False)
        results: list = [None]
        api = threading.Thread(target=_stream, args=(server["url"], results, 0))
        api.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _health(server["url"])["answering"] == 0:
            time.sleep(0.05)
        job = client.submit(GENEVA, api_name="/chat")
        job.result(timeout=180)
        api.join(180)
        said = [output[0] for output in job.outputs()]
        assert any("Waiting for the model: 1 answer before yours" in s for s in said), said
        assert "30%" in said[-1] and results[0][0] == 200


def _health(url: str) -> dict:
    return httpx.get(url + "/v1/health", timeout=10).json()
