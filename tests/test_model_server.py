"""`assistant model-server`: the packaged model served OpenAI-style by a real llama-cpp-python server
process on 127.0.0.1, and the assistant answering through it (OPENAI_BASE_URL), follow-ups included."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest

from tests.conftest import BIN, CORPUS, child_env, free_port

pytestmark = pytest.mark.model
BESSENT_90_DAYS = 'Who said reaching agreements in 90 days was "nearly impossible"?'


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("model-server") / "out.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [str(BIN), "model-server", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=child_env()
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 240
    while (
        time.monotonic() < deadline and proc.poll() is None and f"ready at {url}" not in log_path.read_text()
    ):
        time.sleep(0.3)
    assert f"ready at {url}" in log_path.read_text(), log_path.read_text()
    yield {"url": url, "proc": proc, "port": port}
    if proc.poll() is None:
        proc.kill()
    log.close()


def test_the_assistant_answers_through_the_model_server(model_server, built_index):
    from assistant import Assistant

    assistant = Assistant(
        corpus_dir=CORPUS, index_dir=built_index, llm="openai", openai_base_url=model_server["url"],
        openai_api_key="unused", openai_model="local",
    )  # fmt: skip
    answer = assistant.ask(BESSENT_90_DAYS)
    assert "Bessent" in answer.text and answer.citations and not answer.abstained
    assert answer.citations[0].doc_id == "02-bessent-90-day-deals-nearly-impossible"
    history = [{"role": "user", "content": BESSENT_90_DAYS}, {"role": "assistant", "content": answer.text}]
    follow_up = assistant.ask("And how did he describe the talks with China?", history)
    assert follow_up.search_query != follow_up.question and "Bessent" in follow_up.search_query


def test_ctrl_c_stops_the_model_server_and_its_model_process(model_server):
    proc = model_server["proc"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    with pytest.raises(ConnectionRefusedError):  # nothing listens any more: the llama.cpp server went too
        socket.create_connection(("127.0.0.1", model_server["port"]), timeout=5).close()
