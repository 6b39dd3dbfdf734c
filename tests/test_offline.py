"""Nothing leaves 127.0.0.1: the guard in conftest fails every other connection, and records it."""

import os
import socket

import pytest

from assistant import Assistant
from tests import netguard
from tests.conftest import CORPUS


def test_the_guard_blocks_non_loopback_connections():
    with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="network guard"):
        s.connect(("203.0.113.5", 443))
    assert netguard.attempts[-1] == "('203.0.113.5', 443)"
    netguard.attempts.pop()


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
    # Runs after the other modules in this file; conftest's guard records across the whole session.
    assert netguard.attempts == []
