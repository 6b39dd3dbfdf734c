"""Faults, each against the real parts: a `serve` killed with SIGKILL while an upload is being indexed, the
disk filling up during an ingest (in-process and through the CLI), the model server going away in the
middle of an answer (the HTTP API's stream and the chat), and SIGTERM to `serve` while it answers. After
each, the index must still be whole: every article in both stores completely or not at all, the others
answering as before, and the next start (or ingest) repairing what is left."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN, GENEVA, child_env, free_port, serve_on, serving

BESSENT = 'Who said reaching agreements in 90 days was "nearly impossible"?'
QUERIES = [GENEVA, BESSENT]


# --- helpers ---------------------------------------------------------------------------------------------


def _notes(prefix: str, n: int, sentences: int, seed: int = 7) -> dict[str, str]:
    """n articles of varied sentences about nothing the real articles speak of (so their answers do not
    move): {file name: text}."""
    rnd = random.Random(seed)
    subjects = [
        "The orchard keeper",
        "A lighthouse crew",
        "The glacier survey",
        "A beekeeping club",
        "The observatory staff",
        "A ferry captain",
        "The botanical garden",
        "A pottery studio",
    ]
    verbs = ["counted", "recorded", "measured", "painted", "catalogued", "repaired", "photographed"]
    things = ["apple trees", "seabirds", "meltwater streams", "hives", "comets", "lifeboats", "orchids",
              "clay bowls", "lanterns", "fern species"]  # fmt: skip
    places = ["the northern valley", "the harbour", "the ridge", "the old mill", "the river delta"]
    endings = ["as planned", "before dusk", "after the rain", "without help", "at dawn", "for the archive"]
    files = {}
    for i in range(n):
        body = " ".join(
            f"{rnd.choice(subjects)} near {rnd.choice(places)} {rnd.choice(verbs)} {rnd.randint(2, 9999)} "
            f"{rnd.choice(things)} in week {rnd.randint(1, 52)} of survey {i} {rnd.choice(endings)}."
            for _ in range(sentences)
        )
        files[f"{prefix}-{i:03d}.md"] = f"# Field notes {prefix} {i}\n\n{body}\n"
    return files


def _retrieved(url: str) -> list[list[tuple[str, str, float]]]:
    """What /v1/retrieve gives for QUERIES: (chunk_id, text, score) of each passage."""
    out = []
    for query in QUERIES:
        reply = httpx.post(url + "/v1/retrieve", json={"query": query, "k": 4}, timeout=60)
        assert reply.status_code == 200, reply.text
        out.append([(p["chunk_id"], p["text"], p["score"]) for p in reply.json()["passages"]])
    return out


def _documents(url: str) -> dict[str, dict]:
    reply = httpx.get(url + "/v1/documents", timeout=60)
    assert reply.status_code == 200, reply.text
    return {d["doc_id"]: d for d in reply.json()["documents"]}


def _whole(index: Path, corpus: Path) -> dict[str, int]:
    """Chunks per article, after checking each article is in both stores completely and as the manifest
    says (its file chunked now gives the same chunks): no article is held in part."""
    from assistant.config import Settings
    from assistant.indexing.chunking import chunk_document
    from assistant.indexing.documents import load_document
    from assistant.indexing.embedded_store import EmbeddedStore

    settings = Settings.from_env(corpus_dir=corpus, index_dir=index)
    store = EmbeddedStore.open(index)
    try:
        counts = store.chunk_counts()
        manifest = store.manifest.documents
        assert None not in counts.values(), {d: n for d, n in counts.items() if n is None}
        assert set(counts) == set(manifest) and all(counts[d] == e.chunks for d, e in manifest.items())
        texts = store.texts()
        for doc_id in manifest:
            [path] = [p for p in corpus.iterdir() if p.stem == doc_id]
            chunks = chunk_document(
                load_document(path), settings.chunk_words, settings.chunk_overlap_sentences
            )
            assert {c.chunk_id for c in chunks} == {cid for cid in texts if cid.startswith(doc_id + ":")}
            assert sorted(store.get([c.chunk_id for c in chunks])) == sorted(c.chunk_id for c in chunks)
        assert store.keyword_index_current()
        return {d: int(n or 0) for d, n in counts.items()}
    finally:
        store.close()


def _manifest_documents(index: Path) -> int:
    try:
        return len(json.loads((index / "manifest.json").read_text())["documents"])
    except (OSError, ValueError, KeyError):
        return 0


# --- 1. kill -9 of `serve` while an upload is indexed ----------------------------------------------------


def _rows_of(index: Path, doc_id: str) -> int:
    """The chunk table's rows of doc_id, read beside the writer (0 while it cannot be read)."""
    try:
        db = sqlite3.connect(f"{(index / 'chunks.sqlite3').as_uri()}?mode=ro", uri=True, timeout=0.05)
        try:
            return int(db.execute("SELECT count(*) FROM chunks WHERE doc_id = ?", (doc_id,)).fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_serve_killed_mid_upload_is_repaired_by_the_next_start(tmp_path, built_index):
    """SIGKILL once the upload's chunks start landing in the index (the chunk table has them; Chroma, the
    manifest and the keyword index not yet, or not all): the next start repairs the index, the five
    articles are untouched (the same entries, the same passages for the same questions) and the uploaded
    article is indexed whole."""
    from assistant import Assistant

    [(name, text)] = _notes("field-notes", 1, 360).items()
    doc_id = Path(name).stem
    upload = tmp_path / name
    upload.write_text(text)

    with serving(tmp_path, "--llm", "extractive") as server:
        index = tmp_path / "index"
        before_docs = _documents(server["url"])
        before = _retrieved(server["url"])
        assert len(before_docs) == 5

        outcome: dict = {}

        def send() -> None:
            with upload.open("rb") as fh:
                try:
                    outcome["reply"] = httpx.post(
                        server["url"] + "/v1/documents", files=[("file", (name, fh))], timeout=300
                    )
                except httpx.HTTPError as exc:  # the server dies under it
                    outcome["error"] = exc

        thread = threading.Thread(target=send)
        thread.start()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and thread.is_alive() and not _rows_of(index, doc_id):
            time.sleep(0.005)
        server["proc"].send_signal(signal.SIGKILL)
        server["proc"].wait(timeout=30)
        thread.join(60)
        assert "error" in outcome, outcome  # killed before the upload was answered: mid-write
    assert (tmp_path / "corpus" / name).is_file()
    manifest = json.loads((index / "manifest.json").read_text())
    # The write was cut off: the article not recorded, or the keyword index not rebuilt for it.
    keywords_at = (index / "bm25" / "revision").read_text()
    assert doc_id not in manifest["documents"] or keywords_at != str(manifest["revision"])

    with serve_on(tmp_path / "corpus", index, tmp_path / "again.log", "--llm", "extractive") as again:
        log = again["log"].read_text()
        assert "Traceback" not in log and "moved it to" not in log, log  # repaired, not rebuilt
        after_docs = _documents(again["url"])
        assert {d: after_docs[d] for d in before_docs} == before_docs  # untouched: not even re-indexed
        assert set(after_docs) == set(before_docs) | {doc_id}
        after = _retrieved(again["url"])
    counts = _whole(index, tmp_path / "corpus")
    assert len(counts) == 6 and counts[doc_id] > 80
    # The same passages as the same articles indexed with no crash (an added article moves the keyword
    # index's statistics, and with them the lower ranks, either way); the best one as before it.
    reference = tmp_path / "reference"
    shutil.copytree(built_index, reference)
    assistant = Assistant(corpus_dir=tmp_path / "corpus", index_dir=reference, llm="extractive")
    assert assistant.ingest().added == [doc_id]
    expected = [[(p.chunk_id, p.text, p.score) for p in assistant.retrieve(q, k=4)] for q in QUERIES]
    for got, want, old in zip(after, expected, before, strict=True):
        assert [(cid, text) for cid, text, _ in got] == [(cid, text) for cid, text, _ in want]
        assert [score for *_, score in got] == pytest.approx([score for *_, score in want], abs=1e-3)
        assert got[0] == old[0]


# --- 2. the disk filling up during an ingest ----------------------------------------------------------


def _three_new(corpus: Path) -> list[str]:
    """Three new articles (sorted, so ingest writes them in this order), a few chunks each."""
    notes = _notes("disk", 3, 30, seed=11)
    for name, text in notes.items():
        (corpus / name).write_text(text)
    return [Path(n).stem for n in notes]


def _disk_full_in_chroma(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second write of vectors to Chroma stores half its rows, then the disk is full."""
    from chromadb.api.models.Collection import Collection

    original = Collection.add
    calls = {"n": 0}

    def add(self, ids, embeddings=None, metadatas=None, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            half = len(ids) // 2
            original(self, ids=ids[:half], embeddings=embeddings[:half], metadatas=metadatas[:half])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, ids=ids, embeddings=embeddings, metadatas=metadatas, **kwargs)

    monkeypatch.setattr(Collection, "add", add)


def _disk_full_in_chunk_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second write to the chunk table finds SQLite's file unable to grow: SQLite's own "database or
    disk is full" (its page limit set to the pages it has)."""
    from assistant.indexing.chunk_table import ChunkTable

    original = ChunkTable.add
    calls = {"n": 0}

    def add(self, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            real_db = self._db

            @contextmanager
            def full_db(create: bool = False) -> Iterator:
                with real_db(create) as db:
                    pages = db.execute("PRAGMA page_count").fetchone()[0]
                    db.execute(f"PRAGMA max_page_count = {pages}")
                    yield db

            self._db = full_db
            try:
                return original(self, rows)
            finally:
                del self._db
        return original(self, rows)

    monkeypatch.setattr(ChunkTable, "add", add)


@pytest.mark.parametrize("where", ["chroma", "chunk table"])
def test_a_full_disk_mid_ingest_is_named_and_leaves_no_article_in_part(
    corpus: Path, built_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
):
    from assistant import Assistant, DiskFullError, IndexCorruptError
    from assistant.indexing import ingest as ingest_module

    index = tmp_path / "index"
    shutil.copytree(built_index, index)
    before = [[(p.chunk_id, p.score) for p in Assistant(corpus_dir=corpus, index_dir=index,
              llm="extractive").retrieve(q)] for q in QUERIES]  # fmt: skip
    new = _three_new(corpus)

    monkeypatch.setattr(ingest_module, "EMBED_GROUP", 1)  # a write per article: the second one fails
    (_disk_full_in_chroma if where == "chroma" else _disk_full_in_chunk_table)(monkeypatch)
    with pytest.raises(DiskFullError, match="(?i)no space left|disk is full") as raised:
        Assistant(corpus_dir=corpus, index_dir=index, llm="extractive").ingest()
    assert not isinstance(raised.value, IndexCorruptError)
    assert "assistant ingest" in str(raised.value)  # says what to do once there is room again
    monkeypatch.undo()

    # Still readable by a new reader, the five articles answering as before; the first new article
    # whole, the one the disk filled up under not at all (in neither store), the last not yet.
    reader = Assistant(corpus_dir=corpus, index_dir=index, llm="extractive")
    assert [[(p.chunk_id, p.score) for p in reader.retrieve(q)] for q in QUERIES] == before
    assert "30%" in reader.ask(GENEVA).text
    status = reader.status()
    assert new[0] in status.documents and status.pending == new[1:]
    counts = _whole(index, corpus)
    assert new[0] in counts and not set(new[1:]) & set(counts)

    # Space again: the next ingest indexes the rest.
    report = Assistant(corpus_dir=corpus, index_dir=index, llm="extractive").ingest()
    assert report.added == new[1:] and not report.notes and len(report.unchanged) == 6
    assert set(new) <= set(_whole(index, corpus))


FULL_DISK_SITE = """
# The test's fault, then the session's network guard (only one sitecustomize is run: this one).
import errno, os, runpy

runpy.run_path({guard!r})

from assistant.indexing.embedded_store import EmbeddedStore


def add(self, chunks, vectors):
    # The chunk table takes the texts, Chroma half the vectors, then the disk is full.
    self.table.add([(c.chunk_id, c.text, c.metadata()) for c in chunks])
    half = len(chunks) // 2
    self.collection.add(
        ids=[c.chunk_id for c in chunks[:half]], embeddings=vectors[:half],
        metadatas=[{{"doc_id": c.doc_id}} for c in chunks[:half]],
    )
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


EmbeddedStore.add = add
"""


def test_a_full_disk_during_the_cli_ingest_is_one_line_and_the_next_ingest_finishes(
    corpus: Path, built_index: Path, tmp_path: Path
):
    from assistant import Assistant

    index = tmp_path / "index"
    shutil.copytree(built_index, index)
    new = _three_new(corpus)
    site = tmp_path / "site"
    site.mkdir()
    guard = Path(__file__).resolve().parent / "offline_site" / "sitecustomize.py"
    (site / "sitecustomize.py").write_text(FULL_DISK_SITE.format(guard=str(guard)))
    command = [str(BIN), "ingest", "--corpus", str(corpus), "--index", str(index)]
    full = subprocess.run(
        command, capture_output=True, text=True, timeout=300,
        env=child_env(PYTHONPATH=os.pathsep.join([str(site), os.environ["PYTHONPATH"]])),
    )  # fmt: skip
    assert full.returncode == 1, (full.stdout, full.stderr)
    [line] = full.stderr.strip().splitlines()
    assert line.startswith("error: ") and "no space left on device" in line.lower(), full.stderr
    assert "assistant ingest" in line

    reader = Assistant(corpus_dir=corpus, index_dir=index, llm="extractive")
    assert "30%" in reader.ask(GENEVA).text and reader.status().pending == new
    assert len(_whole(index, corpus)) == 5  # the write that failed was taken out whole

    again = subprocess.run(command, capture_output=True, text=True, timeout=300, env=child_env())
    assert again.returncode == 0 and "added 3" in again.stdout and "note:" not in again.stderr, again
    # The reader sees them without a restart (it reopens the index: the stale Chroma client goes).
    assert reader.retrieve("Which survey photographed orchids near the harbour?", k=8)[0].doc_id in new
    assert set(new) <= set(_whole(index, corpus))


# --- 3 and 4: the model server going away mid-answer; SIGTERM to `serve` mid-answer ----------------------


class ModelServer:
    """A real `assistant model-server` on one port, started again on the same port after it is killed.
    Each run is its own process group: `kill()` takes its llama.cpp server process with it, as a crash of
    the machine's model process would."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_dir = log_dir
        self.runs = 0
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.runs += 1
        self.log = self.log_dir / f"model-server-{self.runs}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [str(BIN), "model-server", "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                env=child_env(), text=True, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and self.proc.poll() is None:
            if f"ready at {self.url}" in self.log.read_text():
                return
            time.sleep(0.2)
        raise AssertionError(self.log.read_text())

    def kill(self) -> None:
        """SIGKILL to the run's process group (the llama.cpp server too, even once its parent is gone)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    server = ModelServer(tmp_path_factory.mktemp("model-server"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def openai_serve(tmp_path_factory: pytest.TempPathFactory, model_server: ModelServer) -> Iterator[dict]:
    """`serve --llm openai` answering through the model server; short prompts (two passages, 40 words of
    evidence), as the model reads every prompt afresh after each restart, at some 15-30 tokens a second
    on 2 busy cores."""
    with serving(
        tmp_path_factory.mktemp("openai-serve"), "--llm", "openai", "--top-k", "2", "--evidence-words", "40",
        OPENAI_BASE_URL=model_server.url, OPENAI_API_KEY="any", ASSISTANT_OPENAI_MODEL="local",
    ) as server:  # fmt: skip
        yield server


def _stream_events(url: str, on_first_text: Callable[[], None], question: str = GENEVA) -> list[dict]:
    """An API answer streamed; `on_first_text()` is called once its first text has arrived. Returns the
    events (the last, [DONE], as {"done": True})."""
    events: list[dict] = []
    body = {"model": "assistant", "stream": True, "messages": [{"role": "user", "content": question}]}
    called = False
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=240) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line == "data: [DONE]":
                events.append({"done": True})
            elif line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if not called and events[-1].get("choices", [{}])[0].get("delta", {}).get("content"):
                    called = True
                    on_first_text()
    return events


@pytest.mark.model
def test_the_model_server_going_away_mid_answer_is_a_clear_error_and_then_answers_again(
    openai_serve: dict, model_server: ModelServer
):
    from gradio_client import Client

    url = openai_serve["url"]
    # The HTTP API: the stream ends with an error event, then [DONE]; no checked answer, no traceback.
    events = _stream_events(url, model_server.kill)
    assert model_server.proc is not None and model_server.proc.poll() is not None  # killed mid-answer
    assert events[-1] == {"done": True} and "error" in events[-2], events[-3:]
    error = events[-2]["error"]
    assert error["code"] == 503 and "broke off mid-stream" in error["message"], error
    assert not any("answer" in e for e in events) and "Traceback" not in json.dumps(events)

    # The chat, on the model server started again on its port: its answer, begun, ends in a ⚠️ line.
    model_server.start()
    job = Client(url, verbose=False).submit(GENEVA, api_name="/chat")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not job.done():
        if any(text and not text.startswith("⏳") for text, _ in job.outputs()):
            break
        time.sleep(0.05)
    assert not job.done(), job.outputs()[-1:]  # the answer had begun and had not ended
    model_server.kill()
    job.result(timeout=60)
    said = job.outputs()[-1][0]
    assert said.startswith("⚠️") and "broke off mid-stream" in said and "Traceback" not in said, said

    # Started again: the next question is answered.
    model_server.start()
    job = Client(url, verbose=False).submit(BESSENT, api_name="/chat")
    job.result(timeout=240)
    said = job.outputs()[-1][0]
    assert "Bessent" in said and "⚠️" not in said, said
    assert "Traceback" not in openai_serve["log"].read_text()


@pytest.mark.model
def test_sigterm_during_an_answer_stops_serve_within_5_s_and_leaves_the_index_whole(openai_serve: dict):
    """Last of the tests on this `serve`: it stops it."""
    from assistant import Assistant

    proc = openai_serve["proc"]
    stopped: dict[str, float] = {}

    def terminate() -> None:
        stopped["at"] = time.monotonic()
        proc.send_signal(signal.SIGTERM)

    with contextlib.suppress(httpx.HTTPError):  # the stream ends with the process
        _stream_events(openai_serve["url"], terminate, BESSENT)
    assert "at" in stopped  # the answer had begun
    proc.wait(timeout=30)
    took = time.monotonic() - stopped["at"]
    log = openai_serve["log"].read_text()
    assert took < 5 and "Traceback" not in log, (took, log)
    root = openai_serve["root"]
    report = Assistant(corpus_dir=root / "corpus", index_dir=root / "index", llm="extractive").ingest()
    assert len(report.unchanged) == 5 and not (report.added or report.updated or report.removed)
    assert not report.notes  # nothing to repair or rebuild
    _whole(root / "index", root / "corpus")


@pytest.mark.model
def test_sigterm_stops_the_model_server_and_its_model_process(model_server: ModelServer):
    """A service manager stops `assistant model-server` with SIGTERM: its llama.cpp server must go too
    (it went on, holding the port and the model's memory, before cli._model_server handled SIGTERM)."""
    assert model_server.proc is not None
    model_server.proc.send_signal(signal.SIGTERM)  # the `assistant model-server` process alone
    code = model_server.proc.wait(timeout=30)
    with pytest.raises(ConnectionRefusedError):  # nothing listens any more: the llama.cpp server went too
        socket.create_connection(("127.0.0.1", model_server.port), timeout=5).close()
    assert code == 128 + signal.SIGTERM
