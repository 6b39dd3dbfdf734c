"""Incremental ingest on a real Chroma in a temp folder with the real embedding model."""

import json
from pathlib import Path

import pytest

from assistant import Assistant, AssistantError, CorpusError, IndexCorruptError, IndexNotFoundError
from assistant.errors import IndexFormatError
from assistant.indexing import ingest as ingest_module
from assistant.indexing.embedded_store import EmbeddedStore
from assistant.indexing.store import Manifest
from tests.conftest import GENEVA


def _assistant(corpus: Path, index: Path) -> Assistant:
    return Assistant(corpus_dir=corpus, index_dir=index, llm="extractive")


def _total(counts: dict[str, int | None]) -> int:
    """Chunks in the index; every document whole in both stores (None: held in part)."""
    whole = [n for n in counts.values() if n is not None]
    assert len(whole) == len(counts), counts
    return sum(whole)


def test_incremental_counts(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    index = tmp_path / "index"
    a = _assistant(corpus, index)
    first = a.ingest()
    assert len(first.added) == 5 and first.chunks == first.embedded > 40
    assert (index / "chroma").is_dir() and (index / "bm25" / "chunk_ids.json").is_file()

    # Unchanged corpus: no embedding is computed; the model is not even loaded.
    monkeypatch.setattr(
        "assistant.models.embeddings.get_embedding_model", lambda: pytest.fail("embedded again")
    )
    again = a.ingest()
    assert (len(again.unchanged), again.embedded, again.chunks) == (5, 0, first.chunks)
    monkeypatch.undo()

    changed = corpus / "05-us-china-talks-lose-momentum-after-geneva.md"
    changed.write_text(changed.read_text() + "\nA brand new closing sentence about soybeans and wheat.\n")
    (corpus / "01-tariff-pause-race-against-90-day-deadline.md").unlink()
    (corpus / "06-new.txt").write_text(
        "Soybean Exports\nChina bought 12 million tonnes of soybeans in March.\n"
    )
    third = a.ingest()
    assert third.updated == ["05-us-china-talks-lose-momentum-after-geneva"]
    assert third.removed == ["01-tariff-pause-race-against-90-day-deadline"]
    assert third.added == ["06-new"] and len(third.unchanged) == 3
    counts = EmbeddedStore.open(index).chunk_counts()
    assert "01-tariff-pause-race-against-90-day-deadline" not in counts
    assert _total(counts) == third.chunks
    top = a.retrieve("How many tonnes of soybeans did China buy?", k=1)[0]
    assert top.doc_id == "06-new" and "12 million tonnes" in top.text
    assert all(
        p.doc_id != "01-tariff-pause-race-against-90-day-deadline" for p in a.retrieve("Greta Peisch", k=5)
    )


def test_bad_files_are_skipped_and_good_ones_indexed(corpus: Path, tmp_path: Path):
    (corpus / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "latin.md").write_bytes("Caf\u00e9 cr\u00e8me".encode("latin-1"))
    report = _assistant(corpus, tmp_path / "index").ingest()
    assert len(report.added) == 5
    assert set(map(Path, report.skipped)) == {corpus / "image.txt", corpus / "latin.md"}
    assert "binary" in report.skipped[str(corpus / "image.txt")]
    assert "UTF-8" in report.skipped[str(corpus / "latin.md")]


def test_a_file_that_turns_unreadable_keeps_its_chunks(corpus: Path, tmp_path: Path):
    a = _assistant(corpus, tmp_path / "index")
    before = a.ingest().chunks
    (corpus / "02-bessent-90-day-deals-nearly-impossible.md").write_bytes(b"\x00\x01\x02 garbage")
    report = a.ingest()
    assert report.chunks == before and not report.removed and len(report.skipped) == 1
    assert a.retrieve("Who said a deal in 90 days was nearly impossible?", k=1)[0].doc_id.startswith("02-")


def test_empty_or_missing_corpus_is_a_clear_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no readable documents"):
        _assistant(tmp_path / "empty", tmp_path / "index").ingest()
    with pytest.raises(CorpusError, match="does not exist"):
        _assistant(tmp_path / "nope", tmp_path / "index").ingest()


def test_interrupted_ingest_is_repaired_by_the_next_run(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    index = tmp_path / "index"
    a = _assistant(corpus, index)
    full = a.ingest()
    for path in corpus.glob("*.md"):  # every document changes
        path.write_text(path.read_text() + "\nAn added closing line for the update.\n")

    calls = {"n": 0}
    original = EmbeddedStore.replace

    def crash_midway(self, chunks_by_doc, vectors):
        calls["n"] += 1
        if calls["n"] == 3:  # the third document's new texts written, its vectors never added
            self.delete(list(chunks_by_doc))
            self.table.add([(c.chunk_id, c.text, c.metadata()) for cs in chunks_by_doc.values() for c in cs])
            raise KeyboardInterrupt
        return original(self, chunks_by_doc, vectors)

    monkeypatch.setattr(ingest_module, "EMBED_GROUP", 1)  # a group per document
    monkeypatch.setattr(EmbeddedStore, "replace", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        a.ingest()
    monkeypatch.undo()

    # The index is readable and says what to do; it is never silently half-used.
    with pytest.raises(IndexCorruptError, match="assistant ingest"):
        _assistant(corpus, index).retrieve(GENEVA)
    repaired = _assistant(corpus, index).ingest()
    assert len(repaired.unchanged) == 2 and len(repaired.updated) == 3
    counts = EmbeddedStore.open(index).chunk_counts()
    assert len(counts) == 5 and _total(counts) == repaired.chunks >= full.chunks
    assert _assistant(corpus, index).retrieve(GENEVA, k=2)


def test_missing_and_corrupt_index(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    with pytest.raises(IndexNotFoundError, match="assistant ingest"):
        _assistant(corpus, index).retrieve(GENEVA)
    _assistant(corpus, index).ingest()
    (index / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="manifest"):
        _assistant(corpus, index).retrieve(GENEVA)
    report = _assistant(corpus, index).ingest()
    assert len(report.added) == 5 and "moved it to" in report.notes[0]
    assert list(tmp_path.glob("index.corrupt-*"))  # the damaged folder is kept for inspection
    assert _assistant(corpus, index).retrieve(GENEVA, k=1)


def test_an_index_in_another_format_is_reported_then_rebuilt_in_place(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    first = _assistant(corpus, index).ingest()
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["version"] = 2  # format 2 kept each chunk's text in its Chroma row, and had no chunk table
    (index / "manifest.json").write_text(json.dumps(manifest))
    (index / "chunks.sqlite3").unlink()
    keywords = index / "bm25"  # format 2's keyword index: LlamaIndex's files, with the same revision
    (keywords / "chunk_ids.json").rename(keywords / "retriever.json")
    EmbeddedStore(index, Manifest()).collection.add(  # a format-2 row of a document no longer in the corpus
        ids=["gone:0-9:a"], embeddings=[[0.05] * 384], metadatas=[{"doc_id": "gone", "text": "Old text"}]
    )
    with pytest.raises(IndexFormatError, match=r"another version of the assistant \(format 2.*ingest"):
        _assistant(corpus, index).retrieve(GENEVA)
    report = _assistant(corpus, index).ingest()
    assert len(report.added) == 5 and report.chunks == first.chunks
    assert "built by another version" in report.notes[0] and not list(tmp_path.glob("index.corrupt-*"))
    counts = EmbeddedStore.open(index).chunk_counts()
    assert "gone" not in counts and _total(counts) == first.chunks  # no old row is left
    assert EmbeddedStore.open(index).keyword_index_current() and not (keywords / "retriever.json").exists()
    assert _assistant(corpus, index).retrieve(GENEVA, k=1)


def test_a_keyword_index_without_its_ids_is_reported_then_rebuilt(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    _assistant(corpus, index).ingest()
    (index / "bm25" / "chunk_ids.json").unlink()  # its revision still matches the manifest's
    with pytest.raises(IndexCorruptError, match="keyword index.*assistant ingest"):
        _assistant(corpus, index).retrieve(GENEVA)
    report = _assistant(corpus, index).ingest()
    assert len(report.unchanged) == 5 and (index / "bm25" / "chunk_ids.json").is_file()
    assert _assistant(corpus, index).retrieve(GENEVA, k=1)
    (index / "bm25" / "params.index.json").unlink()  # one of bm25s's own files
    with pytest.raises(IndexCorruptError, match="keyword index.*delete that folder"):
        _assistant(corpus, index).retrieve(GENEVA)


def test_a_failed_chunk_table_write_is_not_called_damage(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    _assistant(corpus, index).ingest()
    table = EmbeddedStore.open(index).table
    cid, (text, meta) = next(iter(table.get(list(table.texts())[:1]).items()))
    with pytest.raises(AssistantError, match="UNIQUE") as raised:  # a write that fails is not a damaged index
        table.add([(cid, text, meta)])
    assert not isinstance(raised.value, IndexCorruptError)
    (index / "chunks.sqlite3").unlink()
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        table.counts()
    assert not (index / "chunks.sqlite3").exists()  # reading does not leave an empty table behind


def test_corrupt_vector_store_is_reported_then_moved_aside_and_rebuilt(corpus: Path, tmp_path: Path):
    index = tmp_path / "index"
    first = _assistant(corpus, index).ingest()
    sqlite = index / "chroma" / "chroma.sqlite3"
    sqlite.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexCorruptError, match="vector store"):
        EmbeddedStore.open(index)
    with pytest.raises(IndexCorruptError, match="assistant ingest"):
        _assistant(corpus, index).retrieve(GENEVA)
    report = _assistant(corpus, index).ingest()
    assert len(report.added) == 5 and report.chunks == first.chunks
    assert "vector store" in report.notes[0] and "moved it to" in report.notes[0]
    [aside] = tmp_path.glob("index.corrupt-*")  # the damaged folder is kept for inspection
    assert (aside / "chroma" / "chroma.sqlite3").read_bytes().startswith(b"this is not a database")
    assert _total(EmbeddedStore.open(index).chunk_counts()) == first.chunks
    assert "Wiley Rein" in _assistant(corpus, index).ask("Who is Greta Peisch?").text


@pytest.mark.parametrize("store_side", ["table", "chroma"])
def test_a_document_missing_from_one_store_is_indexed_again(corpus: Path, tmp_path: Path, store_side: str):
    index = tmp_path / "index"
    first = _assistant(corpus, index).ingest()
    store = EmbeddedStore.open(index)
    doc = sorted(store.manifest.documents)[0]
    if store_side == "table":
        store.table.delete_documents([doc])
    else:
        store.collection.delete(where={"doc_id": doc})
    assert store.chunk_counts()[doc] is None  # the stores disagree
    report = _assistant(corpus, index).ingest()  # the content is unchanged: only the counts tell
    assert report.updated == [doc] and report.chunks == first.chunks
    assert _total(EmbeddedStore.open(index).chunk_counts()) == first.chunks


def test_chunks_left_in_one_store_only_are_deleted(corpus: Path, tmp_path: Path):
    # An interrupted write can leave a chunk in Chroma or in the chunk table alone.
    index = tmp_path / "index"
    first = _assistant(corpus, index).ingest()
    store = EmbeddedStore.open(index)
    meta = {"doc_id": "gone", "title": "Gone", "source": "gone.md", "start": 0, "end": 8}
    store.table.add([("gone:0-8:a", "Old text", meta)])
    store.collection.add(ids=["lost:0-8:b"], embeddings=[[0.05] * 384], metadatas=[{"doc_id": "lost"}])
    assert store.chunk_counts()["gone"] is None and store.chunk_counts()["lost"] is None
    report = _assistant(corpus, index).ingest()
    assert len(report.unchanged) == 5 and report.chunks == first.chunks
    assert "gone:0-8:a" not in store.table.texts() and set(store.chunk_counts()) == set(report.unchanged)


@pytest.mark.parametrize("damage", ["garbage", "missing"])
def test_damaged_chunk_table_is_reported_then_rebuilt(corpus: Path, tmp_path: Path, damage: str):
    index = tmp_path / "index"
    first = _assistant(corpus, index).ingest()
    table = index / "chunks.sqlite3"
    if damage == "garbage":
        table.write_bytes(b"this is not a database" * 100)
    else:
        table.unlink()
    with pytest.raises(IndexCorruptError, match=r"chunks\.sqlite3.*assistant ingest"):
        _assistant(corpus, index).retrieve(GENEVA)
    report = _assistant(corpus, index).ingest()
    assert len(report.added) == 5 and report.chunks == first.chunks and "moved it to" in report.notes[0]
    assert [p.doc_id for p in _assistant(corpus, index).retrieve(GENEVA, k=1)]


def test_chunks_are_read_back_in_pages(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # One Chroma get() of every chunk fails in SQLite at ~100,000 chunks; a small page makes pages here.
    index = tmp_path / "index"
    report = _assistant(corpus, index).ingest()
    store = EmbeddedStore.open(index)
    whole = store.chunk_counts()
    monkeypatch.setattr("assistant.indexing.embedded_store.PAGE", 7)
    assert store.chunk_counts() == whole and _total(whole) == report.chunks > 7
    # Written in pages too, and read back whole.
    _assistant(corpus, tmp_path / "paged").ingest()
    paged = EmbeddedStore.open(tmp_path / "paged")
    assert paged.chunk_counts() == whole and paged.table.texts() == store.table.texts()
    ids = list(store.table.texts())
    assert sorted(paged.get(ids)) == sorted(ids)


@pytest.mark.parametrize("group, writes", [(256, 1), (20, 3)])
def test_documents_are_written_a_group_at_a_time(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group: int, writes: int
):
    calls = []
    original = EmbeddedStore.replace

    def counted(self, chunks_by_doc, vectors):
        calls.append(sorted(chunks_by_doc))
        return original(self, chunks_by_doc, vectors)

    monkeypatch.setattr(ingest_module, "EMBED_GROUP", group)
    monkeypatch.setattr(EmbeddedStore, "replace", counted)
    report = _assistant(corpus, tmp_path / "index").ingest()
    assert len(calls) == writes and sorted(d for c in calls for d in c) == sorted(report.added)
    counts = EmbeddedStore.open(tmp_path / "index").chunk_counts()
    assert _total(counts) == report.chunks == report.embedded
