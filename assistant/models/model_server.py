"""The packaged model served OpenAI-style by llama-cpp-python's own server, so several assistant processes
(chat replicas, the evaluation's judge) share one model process: `assistant model-server`, then
`OPENAI_BASE_URL=http://127.0.0.1:8080/v1` in the processes that answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..config import Settings
from ..errors import BackendError

MODEL_ALIAS = "local"  # the name the server answers to (ASSISTANT_OPENAI_MODEL in the processes using it)
START_SECONDS = 180
DEFAULT_PORT = 8080
# How long the llama.cpp server may take to stop before it is killed: it holds nothing to save, and on
# SIGTERM its HTTP server first waits for the answers under way (a test run saw it take over 20 s).
STOP_SECONDS = 5.0


def command(settings: Settings, host: str, port: int, n_ctx: int | None = None) -> list[str]:
    """The server's command line: the packaged model (or ASSISTANT_MODEL_PATH), ChatML, a prompt cache in
    memory (a question's fixed start is read once)."""
    from .model_file import ensure_model_file

    model = settings.model_path or ensure_model_file(settings.cache_dir)
    threads = str(settings.n_threads)
    return [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS,
        "--host", host, "--port", str(port), "--n_ctx", str(n_ctx or settings.n_ctx),
        "--n_threads", threads, "--n_threads_batch", threads, "--chat_format", "chatml",
        "--cache", "true", "--cache_type", "ram", "--cache_size", "104857600", "--verbose", "false",
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(settings: Settings, n_ctx: int | None = None) -> Iterator[str]:
    """The server on a free loopback port while the block runs, its output discarded; yields its base URL."""
    port = free_port()
    with open(os.devnull, "w") as sink:
        process = subprocess.Popen(
            command(settings, "127.0.0.1", port, n_ctx), stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            wait_until_ready(process, "127.0.0.1", port)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            stop(process, STOP_SECONDS)


def wait_until_ready(process: subprocess.Popen[bytes], host: str, port: int) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BackendError(f"the model server exited at start (code {process.returncode})")
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/v1/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise BackendError(f"the model server did not start within {START_SECONDS} s")


def stop(process: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)
