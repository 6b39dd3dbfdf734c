"""The load test: `make load` (or .venv/bin/python bench/load.py [--sessions 16] [--minutes 5] [--url URL]).

N simultaneous sessions, half through the chat (gradio_client, as the page does) and half through the
HTTP API (the official openai client, streamed), each asking a question and then a follow-up that only
makes sense after it ("What did he say about ...?"), over and over for a fixed time. Without --url it
starts its own `assistant serve` (local model, a copy of docs_corpus) on a free port of 127.0.0.1.

Prints answers per minute, time to first text and to the whole answer (p50/p95), errors, "busy" refusals,
and the cross-talk check: every follow-up is searched for as the server rewrote it, and that rewrite must
name its own session's subject, never another session's (a rewrite naming neither is counted apart, as the
model's miss). No figure is asserted; docs/benchmarks.md keeps the runs.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation.runner import percentile  # noqa: E402
from assistant.models.model_server import free_port  # noqa: E402

# (question, follow-up, words only that session's subject has): the words are in no other pair.
PAIRS = [
    ("What is Scott Bessent's job?", "What did he say about reaching trade deals in 90 days?", ("bessent",)),
    ("Who is Greta Peisch?", "What does she think the tight timeline means for the deals?", ("peisch",)),
    ("What did the U.S. restrict selling to Chinese companies?", "Which company was named?", ("restrict",)),
    ("Which U.S. goods did China exempt from its 125% tariffs?", "Why did Beijing do that?", ("exempt",)),
    ("What did Trump's executive order do for automakers paying tariffs on imported vehicles?",
     "Did it change anything else for them?", ("automaker", "vehicle")),
    ("How many written proposals had the Trump administration received?",
     "And how many countries had the trade team met that week?", ("proposal",)),
]  # fmt: skip


@dataclass
class Tally:
    answers: int = 0
    errors: list[str] = field(default_factory=list)
    busy: int = 0
    first_text: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    own: int = 0  # follow-ups rewritten with this session's subject
    other: int = 0  # ... with another session's: cross-talk
    neither: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def follow_up(self, searched: str, pair: int) -> None:
        words = searched.lower()
        mine = any(w in words for w in PAIRS[pair][2])
        others = any(w in words for i, p in enumerate(PAIRS) if i != pair for w in p[2])
        with self.lock:
            if others and not mine:
                self.other += 1
                self.errors.append(f"cross-talk: follow-up of pair {pair} searched as {searched!r}")
            elif mine:
                self.own += 1
            else:
                self.neither += 1

    def answered(self, asked: float, first: float | None, done: float) -> None:
        with self.lock:
            self.answers += 1
            self.whole.append(done - asked)
            if first is not None:
                self.first_text.append(first - asked)

    def failed(self, what: str) -> None:
        with self.lock:
            busy = re.search(r"busy|too many questions|queue is full", what, re.I)
            if busy:
                self.busy += 1
            else:
                self.errors.append(what)
        if busy:
            time.sleep(1.0)  # as a client told to try again would


def api_session(url: str, pair: int, until: float, tally: Tally) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=url + "/v1", api_key=os.environ.get("ASSISTANT_API_TOKEN", "none"),
                    max_retries=0, timeout=600)  # fmt: skip
    while time.monotonic() < until:
        messages: list[Any] = []
        for turn, question in enumerate(PAIRS[pair][:2]):
            messages.append({"role": "user", "content": question})
            asked, first, final = time.monotonic(), None, None
            try:
                stream = client.chat.completions.create(model="assistant", messages=messages, stream=True)
                for chunk in stream:
                    extra = chunk.model_extra or {}
                    if "error" in extra:
                        raise RuntimeError(extra["error"]["message"])
                    if chunk.choices and chunk.choices[0].delta.content and first is None:
                        first = time.monotonic()
                    if "answer" in extra:
                        final = extra
            except Exception as exc:  # counted, the session goes on with a new conversation
                tally.failed(f"api: {exc}")
                break
            if final is None:
                tally.failed("api: the stream ended without the checked answer")
                break
            tally.answered(asked, first if first is not None else time.monotonic(), time.monotonic())
            if turn == 1:
                tally.follow_up(final.get("search_query") or "", pair)
            messages.append({"role": "assistant", "content": final["answer"]})


def chat_session(url: str, pair: int, until: float, tally: Tally) -> None:
    from gradio_client import Client

    auth = (os.environ["ASSISTANT_UI_USER"], os.environ["ASSISTANT_UI_PASSWORD"]) if os.environ.get(
        "ASSISTANT_UI_USER") else None  # fmt: skip
    client = Client(url, auth=auth, analytics_enabled=False, verbose=False)
    while time.monotonic() < until:
        client.reset_session()  # a new conversation
        for turn, question in enumerate(PAIRS[pair][:2]):
            asked, first, last = time.monotonic(), None, None
            try:
                job = client.submit(question, api_name="/chat")
                for output in job:
                    text = str(output[0])
                    if first is None and text and not text.startswith(("⏳", "⚠️")):
                        first = time.monotonic()
                    last = output
                job.result(timeout=600)
                last = job.outputs()[-1] if job.outputs() else last
            except Exception as exc:
                tally.failed(f"chat: {exc}")
                break
            if last is None or str(last[0]).startswith("⚠️") or not str(last[0]).strip():
                tally.failed(f"chat: {str(last[0]) if last else 'no answer'}")
                break
            tally.answered(asked, first if first is not None else time.monotonic(), time.monotonic())
            if turn == 1:
                found = re.search(r'class="searched">searched for: <em>(.*?)</em>', str(last[1]))
                tally.follow_up(html.unescape(found.group(1)) if found else "", pair)


def start_server(tmp: Path, llm: str) -> tuple[subprocess.Popen, str]:
    shutil.copytree(ROOT / "docs_corpus", tmp / "corpus")
    port = free_port()
    command = [str(Path(sys.executable).parent / "assistant"), "serve", "--llm", llm, "--port", str(port),
               "--corpus", str(tmp / "corpus"), "--index", str(tmp / "index")]  # fmt: skip
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if "Chat ready" in (tmp / "serve.log").read_text():
            return proc, url
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the server did not start:\n{(tmp / 'serve.log').read_text()}")


def run(url: str, sessions: int, minutes: float, chats: int) -> dict[str, Tally]:
    tallies = {"chat": Tally(), "api": Tally()}
    until = time.monotonic() + minutes * 60
    threads = []
    for i in range(sessions):
        kind = "chat" if i < chats else "api"
        target = chat_session if kind == "chat" else api_session
        threads.append(threading.Thread(target=target, args=(url, i % len(PAIRS), until, tallies[kind])))
    for thread in threads:
        thread.start()
        time.sleep(0.2)  # not all in the same millisecond
    for thread in threads:
        thread.join(minutes * 60 + 900)
    return tallies


def report(tallies: dict[str, Tally], sessions: int, minutes: float, chats: int) -> None:
    print(
        f"\n{sessions} sessions ({chats} in the chat, {sessions - chats} on the HTTP API) for {minutes:g} min"
    )
    rows = [("", "answers", "per min", "first text p50", "p95", "whole p50", "p95", "errors", "busy",
             "follow-ups own/other/neither")]  # fmt: skip
    total = Tally()
    for name, t in [*tallies.items(), ("all", total)]:
        if name != "all":
            total.answers += t.answers
            total.errors += t.errors
            total.busy += t.busy
            total.first_text += t.first_text
            total.whole += t.whole
            total.own, total.other, total.neither = (
                total.own + t.own,
                total.other + t.other,
                total.neither + t.neither,
            )

        def s(values: list[float], q: int) -> str:
            return f"{percentile(values, q):.1f} s" if values else "-"

        rows.append((name, str(t.answers), f"{t.answers / minutes:.1f}", s(t.first_text, 50),
                     s(t.first_text, 95), s(t.whole, 50), s(t.whole, 95), str(len(t.errors)), str(t.busy),
                     f"{t.own}/{t.other}/{t.neither}"))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))
    for error in total.errors[:20]:
        print("error:", error)
    print(f"\ncross-talk: {total.other}; errors: {len(total.errors)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=16, help="simultaneous sessions (16)")
    parser.add_argument("--minutes", type=float, default=5.0, help="how long they ask (5)")
    parser.add_argument("--chat-share", type=float, default=0.5, help="share of sessions in the chat (0.5)")
    parser.add_argument("--url", help="a running server (else one is started with --llm)")
    parser.add_argument("--llm", default="local", help="the started server's --llm (local)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc = None
        url = args.url
        if not url:
            proc, url = start_server(Path(tmp), args.llm)
        try:
            started = time.monotonic()
            tallies = run(url, args.sessions, args.minutes, round(args.sessions * args.chat_share))
            print(f"ran {time.monotonic() - started:.0f} s")
            report(tallies, args.sessions, args.minutes, round(args.sessions * args.chat_share))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    sys.exit(1 if any(t.errors for t in tallies.values()) else 0)


if __name__ == "__main__":
    main()
