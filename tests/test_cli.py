"""The `assistant` command as a user runs it: a real process, real index, exit codes and messages."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS

BIN = Path(sys.executable).parent / "assistant"


def run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ASSISTANT_"))}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_help_lists_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ("ingest", "ask", "chat", "serve"):
        assert command in result.stdout


def test_ingest_then_ask_json(tmp_path: Path):
    index = str(tmp_path / "index")
    first = run("ingest", "--corpus", str(CORPUS), "--index", index)
    assert first.returncode == 0, first.stderr
    assert "added 5, updated 0, removed 0, unchanged 0" in first.stdout
    again = run("--index", index, "ingest", "--corpus", str(CORPUS))  # options before or after the command
    assert "unchanged 5" in again.stdout and "(0 embedded)" in again.stdout

    result = run(
        "ask", "Who is Greta Peisch?", "--json", "--llm", "extractive", "--index", index, "--top-k", "3"
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "Wiley Rein" in answer["text"] and answer["abstained"] is False
    assert len(answer["passages"]) == 3
    assert {"marker", "doc_id", "title", "text", "score"} <= set(answer["citations"][0])

    plain = run("ask", "What is the capital of France?", "--llm", "extractive", "--index", index)
    assert plain.returncode == 0
    assert (
        "do not cover" in plain.stdout
        and "Closest passages (they do not answer the question):" in plain.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "error: the question is empty"),
        (["ask", "x" * 100_000], "error: the question is 100,000 characters long"),
        (["ask", "hello", "--index", "/nonexistent/index"], "error: no index at /nonexistent/index/"),
        (
            ["ingest", "--corpus", "/nonexistent/corpus"],
            "error: corpus folder /nonexistent/corpus/ does not exist",
        ),
        (["ask", "hello", "--llm", "openai"], "error: --llm openai needs OPENAI_API_KEY"),
    ],
)
def test_bad_input_gets_one_line_and_a_non_zero_exit(args, message, built_index):
    if "--index" not in args:
        args = [*args, "--index", str(built_index)]
    result = run(*args)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_skipped_files_are_reported(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Tariff News\nThe tariff was lowered to 30% in May.\n")
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00\x00binary")
    result = run("ingest", "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert result.returncode == 0
    assert "skipped:" in result.stderr and "bad.txt" in result.stderr
    assert "added 1" in result.stdout and "skipped 1" in result.stdout


def test_chat_answers_then_ends_on_eof(built_index):
    result = subprocess.run(
        [str(BIN), "chat", "--llm", "extractive", "--index", str(built_index)],
        input="Who is Greta Peisch?\n", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0
    assert "Wiley Rein" in result.stdout and "Sources:" in result.stdout


def test_quiet_by_default_and_each_stage_logged_at_debug(built_index):
    args = ["ask", "Who is Greta Peisch?", "--llm", "extractive", "--index", str(built_index)]
    quiet = run(*args)
    assert quiet.returncode == 0 and quiet.stderr == ""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ASSISTANT_"))}
    loud = subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "ASSISTANT_LOG_LEVEL": "debug"},
    )
    assert loud.returncode == 0 and loud.stdout == quiet.stdout  # the answer is the same, on stdout
    log = loud.stderr
    # What each stage took and read: the passages retrieved, the sentences chosen, the decision, the reply.
    assert re.search(r"retrieval [\d.]+ s: 8 passages \[\('[\w-]+:\d+-\d+:\w+', [\d.]+\)", log), log
    assert re.search(r"evidence [\d.]+ s: \d+ sentences, \d+ words, from passages \[", log), log
    assert re.search(r"coverage: covered \(best cosine [\d.]+, threshold 0.28\)", log), log
    assert re.search(r"generation [\d.]+ s .*'.*Wiley Rein", log), log
    assert re.search(r"checks [\d.]+ s: answered; left out sentences naming \[\]; citations \[\d", log), log
