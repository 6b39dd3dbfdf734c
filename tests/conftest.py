from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import netguard

netguard.install()  # before anything is imported that might phone home
from assistant.models.model_server import free_port  # noqa: E402  (for the tests' servers)

# Every Python child the tests start (the CLI, `serve`, the judge's server) runs the same guard, and
# records what it blocked in one file that test_offline reads.
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(Path(__file__).resolve().parent / "offline_site"), os.environ.get("PYTHONPATH")])
)
os.environ[netguard.LOG_VARIABLE] = os.path.join(tempfile.mkdtemp(prefix="netguard-"), "attempts.log")

LAST = "test_no_connection_attempt_in_the_whole_session_so_far"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The session-wide network check runs after every other test, children's included."""
    items.sort(key=lambda item: item.name == LAST)


ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "docs_corpus"
GENEVA = "What was the U.S. tariff on Chinese goods before and after the Geneva talks?"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the real articles, free to change."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real articles indexed once (real embeddings, Chroma on disk) for read-only tests."""
    from assistant import Assistant

    index = tmp_path_factory.mktemp("index")
    Assistant(corpus_dir=CORPUS, index_dir=index).ingest()
    return index


@pytest.fixture(scope="session")
def local_assistant(built_index: Path):
    from assistant import Assistant

    return Assistant(corpus_dir=CORPUS, index_dir=built_index, llm="local")


@pytest.fixture(scope="session")
def extractive_assistant(built_index: Path):
    from assistant import Assistant

    return Assistant(corpus_dir=CORPUS, index_dir=built_index, llm="extractive")


def minimal_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A small valid PDF with one page of text (no PDF writer library needed)."""
    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    info = f"<< /Title ({title}) >>" if title else "<< >>"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        info,
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    trailer = f"<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


BIN = Path(sys.executable).parent / "assistant"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # Debian's (`make browser`)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child `assistant` process: none of the user's ASSISTANT_ or OPENAI_ settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ASSISTANT_"))} | extra


@contextmanager
def serving(root: Path, *options: str, host: str = "127.0.0.1", **env: str) -> Iterator[dict]:
    """A real `assistant serve` on `host` (a loopback address) over a private copy of the articles (beside
    any already in `root`/corpus), with `env` added to its environment, until the block ends: {"url",
    "corpus", "root", "proc", "log"} (the log holds its output)."""
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus, dirs_exist_ok=True)
    with serve_on(corpus, root / "index", root / "serve.log", *options, host=host, **env) as running:
        yield running | {"corpus": corpus, "root": root}


@contextmanager
def serve_on(
    corpus: Path, index: Path, log_path: Path, *options: str, host: str = "127.0.0.1", **env: str
) -> Iterator[dict]:
    """A real `assistant serve` over the corpus and index given, once its chat is ready, until the block
    ends: {"url", "proc", "log"}."""
    from assistant.models.model_server import stop

    port = free_port()
    with log_path.open("w+") as log:
        command = [str(BIN), "serve", *options, "--corpus", str(corpus), "--index", str(index)]
        proc = subprocess.Popen(
            [*command, "--host", host, "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=child_env(**env), text=True,
        )  # fmt: skip
        url = f"http://{host}:{port}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if f"Chat ready at {url}" in log_path.read_text():
                break
            time.sleep(0.3)
        try:
            assert f"Chat ready at {url}" in log_path.read_text(), log_path.read_text()
            yield {"url": url, "proc": proc, "log": log_path}
        finally:
            if proc.poll() is None:
                stop(proc)


class ChromaRun:
    """A real `chroma run --path <path> --host 127.0.0.1 --port <free port>`, started and stopped at will
    (on the same port and data each time): its output is in `log`."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path, self.log = path, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from assistant.indexing.server_store import start_chroma_run

        self.proc = start_chroma_run(self.path, self.port, self.log, timeout=60)

    def stop(self) -> None:
        from assistant.models.model_server import stop

        if self.proc is not None and self.proc.poll() is None:
            stop(self.proc)


@contextmanager
def chroma_run(folder: Path) -> Iterator[ChromaRun]:
    """A Chroma server over folder/chroma-data until the block ends."""
    server = ChromaRun(folder / "chroma-data", folder / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, with nothing of its own reaching the network."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-quic"],
    )  # fmt: skip
