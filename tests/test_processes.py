"""Several processes, one embedded index: real `assistant ingest` processes writing the same index at once
(one writer at a time, nothing lost), a writer that waits too long giving up with a clear message, a
writer killed with SIGKILL leaving no lock behind, and a reading process that sees what another one wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BIN, CORPUS, child_env

TOPICS = ["steel", "soybeans", "semiconductors", "shipping", "pharmaceuticals", "aircraft", "textiles"]


def _write_articles(folder: Path, prefix: str, n: int) -> None:
    """n articles of a few chunks each, every one different (its own number and topic in every sentence)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        sentences = [
            f"Report {prefix}{i} says exporters of {topic} shipped {i * 7 + s} containers in week {s}."
            for s in range(24)
        ]
        (folder / f"{prefix}-{i:03d}.txt").write_text(
            f"{prefix.title()} {topic} report {i}\n" + " ".join(sentences)
        )


def _ingest(corpus: Path, index: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN), "ingest", "--corpus", str(corpus), "--index", str(index)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(**env),
    )  # fmt: skip


def _every_vector_found(index: Path) -> tuple[int, list[str]]:
    """(chunks in the index, the chunks a query with their own vector does not find)."""
    from assistant.indexing.embedded_store import EmbeddedStore

    store = EmbeddedStore.open(index)
    try:
        ids = list(store.texts())
        chunks = store.get(ids)
        lost = []
        for cid, chunk in chunks.items():
            # Among the nearest ten: the vector search is approximate, and random test vectors are its
            # hardest case (one in a thousand is not the first even with one writer).
            if cid not in {found for found, _ in store.query(chunk.vector, 10)}:
                lost.append(cid)
        assert len(chunks) == len(ids) == store.size()
        return len(ids), lost
    finally:
        store.close()


def test_two_ingests_at_once_take_turns_and_lose_nothing(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write_articles(corpus, "first", 40)
    first = _ingest(corpus, index)
    time.sleep(0.5)
    _write_articles(corpus, "second", 40)  # more files arrive while the first ingest runs
    second = _ingest(corpus, index)
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    errors = "".join(err for _, err in outputs)
    assert "Traceback" not in errors
    assert "is writing the index" in errors and "waiting" in errors, errors  # one waited, and said so

    manifest = json.loads((index / "manifest.json").read_text())
    assert len(manifest["documents"]) == 80
    chunks, lost = _every_vector_found(index)
    assert chunks == sum(d["chunks"] for d in manifest["documents"].values())
    assert lost == []  # two writers at once lost vectors that count() still reported


# A writer that opens the index, adds a small batch and closes it, fifty times, as chat uploads and CLI
# ingests do. Without the lock, two of them at once failed every round here (6 of 6): a writer crashed in
# Chroma ("Error finding id", "Error getting embedding"), or Chroma could not read back its own vectors.
WRITER = """
import random, sys
from pathlib import Path
from assistant.indexing.chunking import Chunk
from assistant.indexing.embedded_store import EmbeddedStore
from assistant.indexing.writer_lock import writer_lock

index, tag = Path(sys.argv[1]), sys.argv[2]
rnd = random.Random(tag)
for batch in range(50):
    with writer_lock(index, wait=120):
        store, _ = EmbeddedStore.open_for_update(index)
        store.save_manifest()
        chunks = [
            Chunk(f"{tag}-{batch}:{i}-{i + 1}:x", f"{tag}-{batch}", "t", "s", f"{tag} {i}", i, i + 1, "x")
            for i in range(20)
        ]
        store.add(chunks, [[rnd.gauss(0, 1) for _ in range(384)] for _ in chunks])
        store.close()
"""


@pytest.mark.parametrize("round_", [1, 2])
def test_two_writers_adding_at_once_keep_every_vector(tmp_path, round_):
    index = tmp_path / "index"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(index), tag], stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    errors = [w.communicate(timeout=300)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    chunks, lost = _every_vector_found(index)
    assert chunks == 2000 and lost == []


def test_a_writer_that_waits_too_long_gives_up_and_changes_nothing(tmp_path):
    from assistant.indexing.writer_lock import writer_lock

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write_articles(corpus, "only", 3)
    with writer_lock(index, wait=0):  # this test process is the other writer
        started = time.monotonic()
        proc = _ingest(corpus, index, ASSISTANT_WRITE_WAIT="1.5")
        out, err = proc.communicate(timeout=120)
        waited = time.monotonic() - started
    assert proc.returncode == 1, (out, err)
    assert f"another process (pid {os.getpid()}," in err and "nothing was changed" in err, err
    assert "ASSISTANT_WRITE_WAIT" in err and "Traceback" not in err
    assert waited >= 1.5
    assert not (index / "manifest.json").exists()  # it wrote nothing

    # Once the lock is free, the same command works.
    proc = _ingest(corpus, index, ASSISTANT_WRITE_WAIT="1.5")
    assert proc.wait(timeout=300) == 0
    assert len(json.loads((index / "manifest.json").read_text())["documents"]) == 3


def test_a_writer_killed_mid_ingest_leaves_no_lock_and_the_next_one_repairs(tmp_path):
    from assistant.indexing.writer_lock import lock_path

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    _write_articles(corpus, "big", 120)
    proc = _ingest(corpus, index)
    deadline = time.monotonic() + 120
    # Killed while it writes: after the first group of documents is recorded, before the last.
    while time.monotonic() < deadline and proc.poll() is None:
        manifest = index / "manifest.json"
        if manifest.exists() and json.loads(manifest.read_text() or "{}").get("documents"):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    assert str(proc.pid) in lock_path(index).read_text()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    again = _ingest(corpus, index, ASSISTANT_WRITE_WAIT="2")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0 and "waiting" not in err, (out, err)
    manifest = json.loads((index / "manifest.json").read_text())
    assert len(manifest["documents"]) == 120
    chunks, lost = _every_vector_found(index)
    assert chunks == sum(d["chunks"] for d in manifest["documents"].values()) and lost == []


def test_a_reader_sees_what_another_process_ingested(tmp_path):
    from assistant import Assistant

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for path in sorted(CORPUS.iterdir())[:2]:
        (corpus / path.name).write_bytes(path.read_bytes())
    reader = Assistant(corpus_dir=corpus, index_dir=index, llm="extractive")
    reader.ingest()
    question = "How many tonnes of soybeans did China buy from Brazil in June?"
    assert not reader.prepare_context(question).covered

    (corpus / "soybeans.txt").write_text(
        "Soybean Purchases\nChina bought 9 million tonnes of soybeans from Brazil in June, traders said.\n"
    )
    proc = _ingest(corpus, index)
    assert proc.wait(timeout=300) == 0, proc.communicate()
    context = reader.prepare_context(question)  # the same object, no restart
    assert context.covered and context.passages[0].doc_id == "soybeans"
    # Found by its vector too, not only by keywords: the reopened Chroma client reads the new vectors.
    store = reader.pipeline.retriever.store
    vector = reader.pipeline.embed_model.get_query_embedding(question)
    assert store.query(vector, 1)[0][0].startswith("soybeans:")
    assert "9 million" in reader.ask(question).text


def test_a_half_done_ingest_is_not_reopened_until_it_finishes(built_index, tmp_path):
    import shutil

    from assistant.indexing.embedded_store import EmbeddedStore

    index = tmp_path / "index"
    shutil.copytree(built_index, index)
    store = EmbeddedStore.open(index)
    try:
        assert not store.outdated()
        # What another process's ingest does first: the revision bumped, the keyword index not yet rebuilt.
        manifest = json.loads((index / "manifest.json").read_text())
        manifest["revision"] += 1
        (index / "manifest.json").write_text(json.dumps(manifest))
        assert not store.outdated()
        # Its last step: the keyword index built at that revision.
        (index / "bm25" / "revision").write_text(str(manifest["revision"]))
        assert store.outdated()
    finally:
        store.close()


@pytest.mark.parametrize("wait", ["-1", "soon"])
def test_a_bad_write_wait_is_named(tmp_path, wait):
    proc = _ingest(tmp_path, tmp_path / "index", ASSISTANT_WRITE_WAIT=wait)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "write_wait" in err and "Traceback" not in err, err
