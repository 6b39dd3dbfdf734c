"""The browser chat, end to end: a real `assistant serve` process on 127.0.0.1 with the real local model,
driven through gradio_client and through a real headless Chromium (Debian's, via Playwright)."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, child_env, launch_chromium, serving

pytestmark = pytest.mark.model  # `serve` answers with the local model
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
BESSENT = 'Who said reaching agreements in 90 days was "nearly impossible"?'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory.mktemp("ui")) as running:
        yield running


def _client(url: str):
    from gradio_client import Client

    return Client(url, analytics_enabled=False, verbose=False)


def _ask(client, question: str) -> list[tuple[str, str]]:
    job = client.submit(question, api_name="/chat")
    job.result(timeout=240)
    return [tuple(o) for o in job.outputs()]


def test_answer_streams_after_its_sources(server):
    outputs = _ask(_client(server["url"]), BESSENT)
    first_text, first_panel = outputs[0]
    assert first_text == "" and 'id="source-1"' in first_panel  # sources before any answer text
    assert len(outputs) > 3  # streamed in pieces
    text, panel = outputs[-1]
    assert "Bessent" in text and '<a class="cite" href="#source-' in text
    for marker in {m.split('"')[0] for m in text.split('href="#source-')[1:]}:
        assert f'id="source-{marker}"' in panel  # every marker points at a card that exists
    assert '<div class="source-card cited"' in panel and "<mark>" in panel and "relevance" in panel


def test_follow_up_is_rewritten_and_shown(server):
    client = _client(server["url"])  # one client keeps one conversation
    _ask(client, "What tariff did the U.S. impose on Chinese goods after the Geneva talks?")
    text, panel = _ask(client, "And what did China do?")[-1]
    assert "searched for:" in panel
    searched = panel.split("searched for: <em>")[1].split("</em>")[0]
    # The search carries what only the first question said: the tariff, the talks.
    assert re.search(r"tariff|Geneva", searched, re.I), searched
    assert "125%" in panel  # and finds China's own figure, which "And what did China do?" never names


def test_sessions_do_not_share_a_conversation(server):
    first, second = _client(server["url"]), _client(server["url"])
    _ask(first, "What tariff did the U.S. impose on Chinese goods after the Geneva talks?")
    _, panel = _ask(second, "And what did China do?")[-1]
    assert "searched for:" not in panel  # the second session has no history to rewrite from


def test_question_not_covered_is_refused_with_closest_passages(server):
    text, panel = _ask(_client(server["url"]), "What is a good recipe for banana bread?")[-1]
    assert "do not cover" in text and "cite" not in text
    assert "Closest passages — they do not answer the question" in panel


def test_upload_indexes_a_new_article_and_rejects_a_bad_one(server, tmp_path):
    from gradio_client import handle_file

    good = tmp_path / "soybean-report.txt"
    good.write_text(
        "Soybean Report\nChina bought 12 million tonnes of U.S. soybeans in March, officials said.\n"
    )
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    client = _client(server["url"])
    outcome = client.predict([handle_file(str(good)), handle_file(str(bad))], api_name="/upload")
    assert "added 1" in outcome and "not added" in outcome and "binary" in outcome
    assert (server["corpus"] / "soybean-report.txt").is_file() and not (
        server["corpus"] / "photo.txt"
    ).exists()
    text, panel = _ask(client, "How many tonnes of soybeans did China buy in March?")[-1]
    assert "12 million" in text and "Soybean Report" in panel


def test_an_article_ingested_by_another_process_is_answered_without_a_restart(server):
    (server["corpus"] / "rare-earths.txt").write_text(
        "Rare Earth Exports\nChina exported 4,800 tonnes of rare-earth magnets in April, customs said.\n"
    )
    ingest = subprocess.run(
        [str(BIN), "ingest", "--corpus", str(server["corpus"]), "--index", str(server["root"] / "index")],
        capture_output=True, text=True, env=child_env(), timeout=300,
    )  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    text, panel = _ask(
        _client(server["url"]), "How many tonnes of rare-earth magnets did China export in April?"
    )[-1]
    assert "4,800" in text and "Rare Earth Exports" in panel


def test_the_http_api_answers_with_the_local_model_beside_the_chat(server):
    from openai import OpenAI

    client = OpenAI(base_url=server["url"] + "/v1", api_key="unused", max_retries=0, timeout=240)
    chunks = list(client.chat.completions.create(
        model="assistant", stream=True, messages=[{"role": "user", "content": BESSENT}]
    ))  # fmt: skip
    draft = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = chunks[-1].model_extra or {}
    assert len(chunks) > 3 and draft  # the model's draft, streamed
    assert "Bessent" in final["answer"] and final["citations"] and final["sentences"]
    assert {c["marker"] for c in final["citations"]} >= {
        int(m) for m in re.findall(r"\[(\d+)\]", final["answer"])
    }


def test_browser_chat_streams_cites_and_links(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            hosts: set[str] = set()
            page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
            page.goto(server["url"], wait_until="load")
            page.wait_for_function(
                "document.querySelector('#status-line')?.innerText.includes('Answers by')", timeout=60_000
            )
            assert "Index: current" in page.locator("#status-line").inner_text()
            box = page.locator("#question textarea")
            box.fill(BESSENT)
            box.press("Enter")
            page.wait_for_selector("#sources-panel .source-card", timeout=60_000)
            page.wait_for_selector("#chat a.cite", timeout=240_000)
            page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)
            assert "Bessent" in page.locator("#chat").inner_text()
            link = page.locator("#chat a.cite").first
            target = link.get_attribute("href")
            assert target and target.startswith("#source-")
            link.click()
            page.wait_for_function(f"location.hash === '{target}'", timeout=10_000)
            card = page.locator(target)
            assert card.is_visible() and card.evaluate("el => el.matches(':target')")
            page.screenshot(path=str(ARTIFACTS / "chat-citation-clicked.png"), full_page=True)
        finally:
            browser.close()
    assert hosts == {server["url"].split("/")[2]}  # nothing but our own server was asked for anything


def test_ctrl_c_stops_the_server_with_exit_code_130(server):
    """Last in this module: it stops the server the other tests used."""
    proc = server["proc"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130, (server["root"] / "serve.log").read_text()
    assert "interrupted" in (server["root"] / "serve.log").read_text()
