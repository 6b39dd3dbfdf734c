"""The index on a Chroma server beside the embedded one, at scale: `make bench-server` (or
.venv/bin/python bench/scale_server.py [--scales 100000,1000000] [--articles 300] [--pairs 3]).

Every figure of both modes comes from the same run, on a `chroma run` this script starts on 127.0.0.1 (a
free port, a folder of its own) and stops:
- ingest of a few hundred articles (embedding included) through `Assistant(..., chroma_url=...)` against
  the embedded default, in pairs whose order alternates; the ratio is the p50 of the pairs' ratios;
- at each scale, a synthetic index (bench/scale_corpus.py: the same chunks and vectors in both modes) is
  built once and cached outside git (~/.cache/assistant/bench/, or ASSISTANT_BENCH_CACHE: the embedded
  folder, and the Chroma server's --path folder); each mode is then queried by a fresh process, which
  reports its retrieval times, its peak memory and how long opening the index took; for the server mode
  that opening is what every replica does when the index's revision changes (records, every chunk's text
  read from the server, bm25s built in memory: `ServerStore`), timed again after the queries.
The time is bounded (--budget-minutes): a build whose projected end falls after it stops and says what it
would take. No figure is asserted; the targets are printed beside them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, Settings  # noqa: E402
from assistant.evaluation.questions import load_questions  # noqa: E402
from assistant.indexing.server_store import start_chroma_run  # noqa: E402
from assistant.models.model_server import free_port, stop  # noqa: E402
from bench.run import ROWS, machine, print_rows, row  # noqa: E402

CORPUS = ROOT / "docs_corpus"
QUESTIONS = 20  # the first 20 evaluation questions, each asked twice, as bench/run.py's scale rows
TARGETS = {100_000: "≤ 50 ms p50", 1_000_000: "≤ 100 ms p50"}
GIB = 2**30


# --- processes -----------------------------------------------------------------------------------------


def memory(pid: int, field: str = "VmHWM") -> float:
    """A process's peak (VmHWM) or current (VmRSS) resident memory in bytes, its children's added."""
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            found = re.search(rf"{field}:\s+(\d+)", Path(f"/proc/{p}/status").read_text())
        except OSError:
            continue
        total += int(found.group(1)) * 1024 if found else 0
    return total


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *_children(kid)]
    return out


class ChromaProcess:
    """A real `chroma run --path <path> --host 127.0.0.1 --port <free port>`, its output in `log`."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path.mkdir(parents=True, exist_ok=True)
        self.proc = start_chroma_run(path, self.port, log, timeout=120)

    def peak(self) -> float:
        return memory(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop(self.proc)


@contextmanager
def chroma_server(path: Path, log: Path) -> Iterator[ChromaProcess]:
    server = ChromaProcess(path, log)
    try:
        yield server
    finally:
        server.stop()


# --- ingest: the articles' path, both modes --------------------------------------------------------


def bench_ingest(tmp: Path, articles: int, sentences_each: int, pairs: int) -> None:
    from assistant.models.embeddings import get_embedding_model
    from bench.scale_corpus import write_mixed_corpus

    corpus = write_mixed_corpus(
        CORPUS, tmp / "ingest-corpus", documents=articles, sentences_each=sentences_each
    )
    print(f"ingest, {articles} articles of {sentences_each} sentences, {pairs} pairs (embedded, server)",
          flush=True)  # fmt: skip
    get_embedding_model().get_text_embedding_batch(["warm up"] * 8)
    # The first ingest of each kind imports and sets up what it needs (Chroma's client, LlamaIndex's
    # store, httpx): once, untimed.
    Assistant(corpus_dir=CORPUS, index_dir=tmp / "warm-index", llm="extractive").ingest()
    with chroma_server(tmp / "warm-chroma", tmp / "chroma.log") as server:
        Assistant(corpus_dir=CORPUS, chroma_url=server.url, llm="extractive").ingest()
    rates: dict[str, list[float]] = {"embedded": [], "server": []}
    chunks = 0
    for n in range(pairs):
        for mode in ("embedded", "server") if n % 2 == 0 else ("server", "embedded"):
            if mode == "embedded":
                assistant = Assistant(corpus_dir=corpus, index_dir=tmp / f"ingest-{n}", llm="extractive")
                started = time.perf_counter()
                report = assistant.ingest()
                seconds = time.perf_counter() - started
            else:  # a new, empty server each time, as the embedded side gets a new, empty folder
                with chroma_server(tmp / f"ingest-chroma-{n}", tmp / "chroma.log") as server:
                    assistant = Assistant(corpus_dir=corpus, chroma_url=server.url, llm="extractive")
                    started = time.perf_counter()
                    report = assistant.ingest()
                    seconds = time.perf_counter() - started
            chunks = report.embedded
            rates[mode].append(report.embedded / seconds)
            print(f"  pair {n + 1}, {mode}: {report.embedded} chunks in {seconds:.1f} s "
                  f"({rates[mode][-1]:.1f} chunks/s)", flush=True)  # fmt: skip
    what = f"{articles} articles ({chunks} chunks), embedding included"
    row(f"ingest throughput, embedded, {what}", rates["embedded"], "chunks/s")
    row(f"ingest throughput, Chroma server, {what}", rates["server"], "chunks/s", rates["embedded"])
    paired = [s / e for s, e in zip(rates["server"], rates["embedded"], strict=True)]
    row(f"server ÷ embedded ingest, p50 of {pairs} pairs", paired, "×", target="≥ 0.85×")


# --- the synthetic indexes -------------------------------------------------------------------------


class OverBudget(Exception):
    pass


def build_server_index(
    size: int, settings: Settings, cache: Path, write_batch: int, deadline: float
) -> tuple[Path, float | None, bool, float]:
    """The Chroma server's --path folder holding the synthetic index of `size` chunks, written through
    ServerStore under the writer lease as an ingest writes (rows, then their documents' records, 50
    documents at a time), `write_batch` rows an upsert: (folder, the seconds its build took, whether it
    came from the cache, the server's peak memory while building in bytes). OverBudget when
    its projected end falls after `deadline` (monotonic)."""
    from assistant.indexing import server_store
    from bench.scale_corpus import RECIPE

    folder = cache / f"scale-server-{size}-r{RECIPE}-f{server_store.FORMAT}"
    took = folder / "build-seconds"
    if took.exists():
        peak_file = folder / "build-peak-bytes"
        peak_bytes = float(peak_file.read_text()) if peak_file.exists() else 0.0
        return folder / "chroma-data", float(took.read_text()), True, peak_bytes

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    batch_was = server_store.WRITE_BATCH
    server_store.WRITE_BATCH = write_batch
    try:
        with chroma_server(folder / "chroma-data", folder / "chroma.log") as server:
            settings = Settings.from_env(corpus_dir=settings.corpus_dir, chroma_url=server.url)
            for attempt in range(10):
                if _write_server_index(size, settings, started, deadline):
                    break
                print(f"  server build: lost the writer lease (attempt {attempt + 1}); going on from the "
                      "documents recorded", flush=True)  # fmt: skip
            else:
                raise RuntimeError("the server build lost the writer lease ten times")
            peak = server.peak()
    finally:
        server_store.WRITE_BATCH = batch_was
    seconds = time.perf_counter() - started
    (folder / "build-peak-bytes").write_text(f"{peak:.0f}")
    took.write_text(f"{seconds:.1f}")
    return folder / "chroma-data", seconds, False, peak


def _write_server_index(size: int, settings: Settings, started: float, deadline: float) -> bool:
    """Write what the server does not hold yet; False when the writer lease was lost on the way (a big
    upsert can hold up the lease's renewal on a loaded machine)."""
    from assistant.errors import IndexBusyError
    from assistant.indexing.ingest import fingerprint
    from assistant.indexing.server_store import ServerStore
    from bench.scale_corpus import BATCH, synthetic_batches, synthetic_documents

    entries = synthetic_documents(size)
    try:
        with ServerStore.updating(settings) as store:
            if not store.manifest.revision:
                store.manifest.revision = 1
                store.manifest.fingerprint = fingerprint(settings)
                store.save_manifest()
            recorded = set(store.manifest.documents)
            written, told = 0, time.perf_counter()
            for chunks, vectors in synthetic_batches(size, settings):
                written += len(chunks)
                docs = {chunk.doc_id for chunk in chunks}
                if docs <= recorded:
                    continue
                store.add(chunks, vectors)
                store.manifest.documents.update({d: entries[d] for d in docs})
                store.save_manifest()
                now = time.perf_counter()
                rate = written / (now - started)
                left = (size - written) / rate
                if now - told > 30 or written == size:
                    told = now
                    print(f"  server build: {written:,} of {size:,} rows, {rate:.0f} rows/s, "
                          f"≈ {left / 60:.1f} min left, {store.server.batch} rows an upsert",
                          flush=True)  # fmt: skip
                # Judged on a tenth of the rows at least: the first batches run beside whatever started then.
                if written >= max(4 * BATCH, size // 10) and time.monotonic() + left > deadline:
                    raise OverBudget(
                        f"{written:,} rows in {now - started:.0f} s ({rate:.0f} rows/s): the whole "
                        f"{size:,} would take ≈ {size / rate / 60:.0f} min, past the time budget"
                    )
            store.rebuild_keyword_index()  # publishes the change as finished (`done`)
    except IndexBusyError:
        return False
    return True


def du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- one reading process -----------------------------------------------------------------------------


def child(mode: str, target: str) -> None:
    """Open the index as a replica does, answer QUESTIONS retrievals twice each, open it again (what a
    replica does when the revision changes), and print the figures as JSON (the last line)."""
    from assistant.answering.retrieval import HybridRetriever
    from assistant.indexing.embedded_store import EmbeddedStore
    from assistant.indexing.server_store import ServerStore
    from assistant.models.embeddings import get_embedding_model

    questions = [q.question for q in load_questions(ROOT / "eval_questions.yaml")][:QUESTIONS]
    if os.environ.get("BENCH_TORCH_THREADS"):  # --torch-threads
        import torch

        torch.set_num_threads(int(os.environ["BENCH_TORCH_THREADS"]))
    model = get_embedding_model()
    model.get_query_embedding("warm up")
    out: dict[str, Any] = {"model_rss": memory(os.getpid(), "VmRSS")}
    settings = Settings.from_env(chroma_url=target) if mode == "server" else None

    def open_retriever() -> tuple[HybridRetriever, dict[str, float]]:
        steps: dict[str, float] = {}
        t = time.perf_counter()
        store: Any
        if settings is not None:
            store = ServerStore.open(settings)
            steps["records"] = time.perf_counter() - t
            store.texts()
            steps["texts"] = time.perf_counter() - t - sum(steps.values())
            store.keyword_index()
            steps["bm25s"] = time.perf_counter() - t - sum(steps.values())
        else:
            store = EmbeddedStore.open(Path(target))
        retriever = HybridRetriever(store, model)
        retriever.retrieve(questions[0], 4)  # the first query loads the vector index (HNSW)
        steps["total"] = time.perf_counter() - t
        return retriever, steps

    retriever, out["open"] = open_retriever()
    out["size"] = retriever.size
    out["rss_open"] = memory(os.getpid(), "VmRSS")
    times = []
    for question in questions:
        for _ in range(2):
            t = time.perf_counter()
            retriever.retrieve(question, 4)
            times.append(time.perf_counter() - t)
    out["times"] = times
    checks = []  # what a replica asks before each question: has the index changed since it opened it?
    for _ in range(QUESTIONS):
        t = time.perf_counter()
        retriever.store.outdated()
        checks.append(time.perf_counter() - t)
    out["checks"] = checks
    retriever.store.close()
    del retriever
    gc.collect()
    retriever, out["refresh"] = open_retriever()
    if settings is not None:
        out["changed"] = one_article_changed(retriever.store, settings)
    out["peak_rss"] = memory(os.getpid())
    print(json.dumps(out), flush=True)


def one_article_changed(store: Any, settings: Settings) -> dict[str, Any]:
    """A replica's refresh when an ingest has added one article (100 chunks, as the synthetic ones) and when
    it has removed it again (the cached index as it was): its store of the revision before updated by that
    article's rows (ServerStore.open(before=...)); and the writer's own time (its lease, the sweep of every
    row's metadata, the write, the records)."""
    from assistant.indexing.chunking import Chunk
    from assistant.indexing.server_store import ServerStore
    from assistant.indexing.store import DocEntry

    doc_id = "bench-changed"
    chunks = [Chunk(f"{doc_id}:{n}", doc_id, doc_id, "bench", f"A bench article, chunk {n}: tariffs were "
                    f"cut to {n}% in week {n}.", 0, 0, "") for n in range(100)]  # fmt: skip
    vectors = [[1.0 if i == n % 384 else 0.0 for i in range(384)] for n in range(len(chunks))]

    def write(add: bool) -> None:
        with ServerStore.updating(settings) as writer:
            writer.manifest.revision += 1
            writer.save_manifest()
            writer.delete([doc_id])
            writer.manifest.documents.pop(doc_id, None)
            if add:
                writer.add(chunks, vectors)
                writer.manifest.documents[doc_id] = DocEntry("bench", len(chunks), doc_id, "", time.time())
            writer.save_manifest()
            writer.rebuild_keyword_index()

    def refresh(before: Any) -> tuple[Any, dict[str, float]]:
        steps: dict[str, float] = {}
        t = time.perf_counter()
        fresh = ServerStore.open(settings, before)
        steps["records"] = time.perf_counter() - t
        fresh.texts()
        steps["texts"] = time.perf_counter() - t - sum(steps.values())
        fresh.keyword_index()
        steps["bm25s"] = time.perf_counter() - t - sum(steps.values())
        steps["total"] = time.perf_counter() - t
        return fresh, steps

    out: dict[str, Any] = {"ingest": {}}
    t = time.perf_counter()
    write(add=True)
    out["ingest"]["added"] = time.perf_counter() - t
    added, out["added"] = refresh(store)
    t = time.perf_counter()
    write(add=False)
    out["ingest"]["removed"] = time.perf_counter() - t
    removed, out["removed"] = refresh(added)
    if (
        len(added.texts()) != len(store.texts()) + len(chunks)
        or removed.texts().keys() != store.texts().keys()
    ):
        raise RuntimeError("a refresh by the changed article does not hold the index's rows")
    return out


def run_child(mode: str, target: str, timeout: float) -> dict[str, Any]:
    # Another process on the cores makes torch's two threads wait for each other: a question's embedding
    # then takes ≈ 0.5 s instead of ≈ 15 ms. The load says whether the figures can be trusted.
    print(f"  reading the {mode} index (load average {os.getloadavg()[0]:.2f})", flush=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, target]
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    }
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the {mode} reader failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- a scale, both modes -----------------------------------------------------------------------------


def bench_scale(
    size: int, modes: list[str], cache: Path, write_batch: int, deadline: float, build_only: bool = False
) -> None:
    from bench.scale_corpus import build_scale_index

    settings = Settings.from_env(corpus_dir=CORPUS)
    found: dict[str, dict[str, Any]] = {}
    left = lambda: max(60.0, deadline - time.monotonic())  # noqa: E731
    if "embedded" in modes:
        folder, seconds, cached = build_scale_index(size, settings, cache)
        print(f"embedded index of {size:,} chunks: {_built(seconds, cached)} ({folder})", flush=True)
        row(f"build, embedded, {size:,} chunks ({_built(seconds, cached)})", seconds or 0.0, "s")
        if not build_only:
            found["embedded"] = run_child("embedded", str(folder), left())
            found["embedded"]["disk"] = du(folder)
    if "server" in modes:
        try:
            data, seconds, cached, build_peak = build_server_index(
                size, settings, cache, write_batch, deadline
            )
        except OverBudget as exc:
            print(f"server index of {size:,} chunks not built: {exc}", flush=True)
            ROWS.append((f"build, Chroma server, {size:,} chunks", "not built", "", "", "", str(exc)))
        else:
            print(f"server index of {size:,} chunks: {_built(seconds, cached)} ({data})", flush=True)
            built = _built(seconds, cached)
            row(f"build, Chroma server, {size:,} chunks ({built}, upserts of ≈ 1 s, ≤ {write_batch} rows)",
                seconds or 0.0, "s")  # fmt: skip
            if build_peak:
                row(
                    f"peak memory of the Chroma server while building {size:,} chunks",
                    build_peak / GIB,
                    "GiB",
                )
            if build_only:
                return
            with chroma_server(data, data.parent / "chroma.log") as server:
                found["server"] = run_child("server", server.url, left())
                found["server"]["server_peak"] = server.peak()
            found["server"]["disk"] = du(data)
    report_scale(size, found)


def _built(seconds: float | None, cached: bool) -> str:
    took = f"built in {seconds:.0f} s" if seconds is not None else "build time not recorded"
    return f"cached; {took} when made" if cached else took


def report_scale(size: int, found: dict[str, dict[str, Any]]) -> None:
    embedded, server = found.get("embedded"), found.get("server")
    base = embedded["times"] if embedded else None
    if embedded:
        row(f"retrieval, embedded, {size:,} chunks", embedded["times"], "ms", target=TARGETS.get(size, ""))
    if server:
        row(f"retrieval, Chroma server, {size:,} chunks", server["times"], "ms", base, TARGETS.get(size, ""))
    for mode, figures in found.items():
        who = "embedded" if mode == "embedded" else "Chroma server mode"
        row(f"revision check before each question, {who}, {size:,} chunks", figures["checks"], "ms")
        row(f"open to first answer, {who}, {size:,} chunks", figures["open"]["total"], "s")
        row(f"peak memory of the app process, {who}, {size:,} chunks (the embedding model alone "
            f"{figures['model_rss'] / GIB:.2f} GiB)", figures["peak_rss"] / GIB, "GiB")  # fmt: skip
        row(f"index on disk, {who}, {size:,} chunks", figures["disk"] / GIB, "GiB")
    if server:
        refresh = server["refresh"]
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in refresh.items() if k != "total")
        name = f"keyword-index refresh of a replica, {size:,} chunks"
        row(f"{name}, every row read ({parts})", refresh["total"], "s")
        changed = dict(server.get("changed", {}))
        for change, seconds in changed.pop("ingest", {}).items():
            row(
                f"an ingest with one article of 100 chunks {change}, {size:,} chunks (the writer)",
                seconds,
                "s",
            )
        for change, steps in changed.items():
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in steps.items() if k != "total")
            row(
                f"{name}, one article of 100 chunks {change} ({parts})", steps["total"], "s", refresh["total"]
            )
        row(f"peak memory of the Chroma server process, serving {size:,} chunks", server["server_peak"] / GIB,
            "GiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="100000", help="synthetic index sizes, e.g. 100000,1000000")
    parser.add_argument("--modes", default="embedded,server", help="embedded,server (both: the default)")
    parser.add_argument("--articles", type=int, default=300, help="articles for the ingest pairs (0: skip)")
    parser.add_argument("--sentences", type=int, default=24, help="sentences an article (24)")
    parser.add_argument("--pairs", type=int, default=3, help="ingest pairs, which goes first alternating (3)")
    parser.add_argument(
        "--write-batch", type=int, default=1000, help="most rows an upsert in the server build"
    )
    parser.add_argument(
        "--budget-minutes", type=float, default=120, help="a build that would end later stops"
    )
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="torch threads of the readers (0: its own)"
    )
    parser.add_argument("--build-only", action="store_true", help="build (or find cached) indexes, no reads")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    # Stopped (kill PID), it still stops the Chroma servers it started: the context managers' exits run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    deadline = time.monotonic() + args.budget_minutes * 60
    if args.torch_threads:  # a question's embedding on a loaded machine (see run_child)
        os.environ["BENCH_TORCH_THREADS"] = str(args.torch_threads)
    print(machine(), flush=True)
    modes = [m for m in args.modes.split(",") if m]
    cache = Path(os.environ.get("ASSISTANT_BENCH_CACHE", Path.home() / ".cache" / "assistant" / "bench"))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if args.articles:
            bench_ingest(tmp, args.articles, args.sentences, args.pairs)
        for size in [int(s) for s in args.scales.split(",") if s]:
            bench_scale(size, modes, cache, args.write_batch, deadline, args.build_only)
    print_rows()


if __name__ == "__main__":
    main()
