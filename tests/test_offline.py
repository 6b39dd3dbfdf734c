"""Nothing leaves 127.0.0.1: the guard fails every other connection and name lookup, in the test process
and in every Python child it starts (tests/offline_site/sitecustomize.py), and records each attempt."""

import os
import socket
import subprocess
import sys

import pytest

from assistant import Assistant
from tests import netguard
from tests.conftest import CORPUS


def test_the_guard_blocks_non_loopback_connections():
    with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="network guard"):
        s.connect(("203.0.113.5", 443))
    assert netguard.attempts[-1] == "connection to ('203.0.113.5', 443)"
    netguard.attempts.pop()


def test_the_guard_blocks_name_lookups():
    with pytest.raises(ConnectionRefusedError, match="network guard"):
        socket.getaddrinfo("huggingface.co", 443)
    assert netguard.attempts.pop() == "name lookup of 'huggingface.co'"
    assert socket.getaddrinfo("127.0.0.1", 80) and socket.gethostbyname("localhost")


def test_children_are_guarded_too():
    log = os.environ[netguard.LOG_VARIABLE]
    before = netguard.child_attempts()
    code = (
        "import socket\n"
        "for target in (lambda: socket.create_connection(('203.0.113.5', 443), timeout=2),\n"
        "               lambda: socket.getaddrinfo('pypi.org', 443)):\n"
        "    try:\n"
        "        target()\n"
        "    except ConnectionRefusedError as exc:\n"
        "        print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.count("network guard") == 2, result.stdout + result.stderr
    new = netguard.child_attempts()[len(before) :]
    assert [line.split(" ", 1)[1] for line in new] == [
        "connection to ('203.0.113.5', 443)",
        "name lookup of 'pypi.org'",
    ]
    with open(log, "w", encoding="utf-8") as fh:  # what this test provoked is not a leak
        fh.writelines(line + "\n" for line in before)


def test_offline_switches_are_set_by_the_package():
    import assistant  # noqa: F401 - importing it sets them

    for name in ("HF_HUB_OFFLINE", "GRADIO_ANALYTICS_ENABLED", "ANONYMIZED_TELEMETRY", "RAGAS_DO_NOT_TRACK"):
        assert os.environ.get(name), name
    assert os.path.isdir(os.environ["TIKTOKEN_CACHE_DIR"])


def test_ingest_and_answer_make_no_outbound_connection(tmp_path):
    before = len(netguard.attempts)
    a = Assistant(corpus_dir=CORPUS, index_dir=tmp_path / "index", llm="extractive")
    a.ingest()
    assert a.ask("Who is Greta Peisch?").citations
    assert a.ask("What is the capital of France?").abstained
    assert netguard.attempts[before:] == []


def test_no_connection_attempt_in_the_whole_session_so_far():
    # Runs last in the session (conftest moves it there), so it sees what every test and every child
    # process (the CLI, serve, the judge's server) tried.
    assert netguard.attempts == []
    assert netguard.child_attempts() == []
