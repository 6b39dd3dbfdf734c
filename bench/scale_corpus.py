"""A large index for retrieval timing, built from real text: the articles' sentences recombined.

Each synthetic chunk is three sentences drawn (seeded) from the five articles; its vector is the
normalised mean of the three sentence vectors (so only the ≈300 distinct sentences are embedded). The
index is cached outside git in ~/.cache/assistant/bench/ and reused while the recipe is unchanged.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.indexing.chunking import Chunk
from assistant.indexing.documents import list_corpus, load_document
from assistant.indexing.embedded_store import EmbeddedStore
from assistant.indexing.store import MANIFEST_VERSION, DocEntry
from assistant.models.embeddings import get_embedding_model
from assistant.text import sentences

RECIPE = MANIFEST_VERSION  # an index is rebuilt when its format changes
BATCH = 5000


def corpus_sentences(corpus_dir: Path) -> list[str]:
    out = []
    for path in list_corpus(corpus_dir):
        doc = load_document(path)
        out += [
            doc.text[s.start : s.end]
            for s in sentences(doc.text)
            if len(doc.text[s.start : s.end].split()) > 5
        ]
    return sorted(set(out))


def write_mixed_corpus(corpus_dir: Path, folder: Path, documents: int, sentences_each: int = 60) -> Path:
    """A larger corpus folder for ingest timing: each article is `sentences_each` sentences drawn (seeded)
    from the five articles, in paragraphs of four, so chunking and embedding see article-like text."""
    texts = corpus_sentences(corpus_dir)
    rng = random.Random(documents)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        picks = [texts[i] for i in rng.sample(range(len(texts)), sentences_each)]
        body = "\n\n".join(" ".join(picks[i : i + 4]) for i in range(0, len(picks), 4))
        (folder / f"mixed-{n:03d}.txt").write_text(f"Mixed article {n}\n\n{body}\n", encoding="utf-8")
    return folder


def synthetic_batches(size: int, settings: Settings) -> Iterator[tuple[list[Chunk], list[list[float]]]]:
    """The `size` synthetic chunks and their vectors, BATCH at a time (whole documents of 100 chunks each):
    the same chunks for every store they are written to."""
    texts = corpus_sentences(settings.corpus_dir)
    vectors = np.array(get_embedding_model().get_text_embedding_batch(texts))
    rng = random.Random(size)
    for offset in range(0, size, BATCH):
        chunks, chunk_vectors = [], []
        for n in range(offset, min(size, offset + BATCH)):
            picks = rng.sample(range(len(texts)), 3)
            vector = vectors[picks].mean(axis=0)
            doc_id = f"synthetic-{n // 100:05d}"
            text = " ".join(texts[i] for i in picks)
            chunks.append(Chunk(f"{doc_id}:{n}", doc_id, doc_id, "synthetic", text, 0, 0, ""))
            chunk_vectors.append((vector / np.linalg.norm(vector)).tolist())
        yield chunks, chunk_vectors


def synthetic_documents(size: int) -> dict[str, DocEntry]:
    """The manifest's entries of the synthetic documents (100 chunks each)."""
    return {
        f"synthetic-{d:05d}": DocEntry(
            "synthetic", min(100, size - d * 100), f"synthetic-{d:05d}", "", time.time()
        )
        for d in range((size + 99) // 100)
    }


def build_scale_index(size: int, settings: Settings, cache_root: Path) -> tuple[Path, float | None, bool]:
    """The index folder for `size` chunks, the seconds its build took (None: not recorded) and whether it
    came from the cache."""
    folder = cache_root / f"scale-{size}-r{RECIPE}"
    took = folder / "build-seconds"
    if (folder / "bm25" / "revision").exists():
        return folder, float(took.read_text()) if took.exists() else None, True
    started = time.perf_counter()
    store, _ = EmbeddedStore.open_for_update(folder)
    store.manifest.revision = 1
    written, told = 0, started
    for chunks, vectors in synthetic_batches(size, settings):
        store.add(chunks, vectors)
        written += len(chunks)
        if time.perf_counter() - told > 30:
            told = time.perf_counter()
            rate = written / (told - started)
            print(f"  embedded build: {written:,} of {size:,} chunks, {rate:.0f} a second, "
                  f"≈ {(size - written) / rate / 60:.1f} min left", flush=True)  # fmt: skip
    store.manifest.documents.update(synthetic_documents(size))
    store.save_manifest()
    keywords = time.perf_counter()
    store.rebuild_keyword_index()
    if size >= 100_000:
        print(f"  embedded build: keyword index (bm25s) built in {time.perf_counter() - keywords:.0f} s",
              flush=True)  # fmt: skip
    store.close()
    seconds = time.perf_counter() - started
    took.write_text(f"{seconds:.1f}")
    return folder, seconds, False
