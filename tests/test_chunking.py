from assistant.indexing.chunking import chunk_document
from assistant.indexing.documents import load_document
from assistant.text import sentences
from tests.conftest import CORPUS


def _sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentences(text)]


def test_abbreviations_do_not_end_sentences():
    text = 'Mr. Guo said the U.S. tariff was 145%. "It is unsustainable," he said. China replied.'
    assert _sentences(text) == [
        "Mr. Guo said the U.S. tariff was 145%.",
        '"It is unsustainable," he said.',
        "China replied.",
    ]


def test_a_closing_quote_stays_with_its_sentence_even_when_spaced():
    text = "China said it wants « meaningful measures. » The post went on. He said “no.”"
    assert _sentences(text) == [
        "China said it wants « meaningful measures. »",
        "The post went on.",
        "He said “no.”",
    ]
    # At the end of a slice too: the quote is not left behind as a sentence of its own.
    assert [text[s.start : s.end] for s in sentences(text, 0, 44)] == [text[:44]]


def test_chunks_are_exact_slices_of_whole_sentences_with_metadata():
    for path in sorted(CORPUS.glob("*.md")):
        doc = load_document(path)
        chunks = chunk_document(doc, chunk_words=70, overlap_sentences=1)
        assert chunks
        starts = {s.start for s in sentences(doc.text)}
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert chunk.start in starts or doc.text[chunk.start - 1] == "\n"  # begins a sentence
            meta = chunk.metadata()
            assert meta["doc_id"] == path.stem and meta["title"] == doc.title
            assert meta["source"] == str(path) and (meta["start"], meta["end"]) == (chunk.start, chunk.end)
            assert chunk.chunk_id.endswith(chunk.content_hash[:12]) and len(chunk.content_hash) == 64


def test_repeated_paragraphs_do_not_become_duplicate_chunks():
    # The roadblock article repeats four paragraphs verbatim, and its headline twice.
    doc = load_document(CORPUS / "03-china-us-trade-talks-hit-a-roadblock.md")
    assert doc.text.count("Despite the progress made, Bessent acknowledged") == 2
    chunks = chunk_document(doc, chunk_words=70, overlap_sentences=0)
    joined = " ".join(c.text for c in chunks)
    assert joined.count("Despite the progress made, Bessent acknowledged") == 1
    assert joined.count("decreased from 145% to 30%") == 1
    assert len({c.content_hash for c in chunks}) == len(chunks)


def test_chunk_size_is_respected_except_for_single_long_sentences():
    doc = load_document(CORPUS / "01-tariff-pause-race-against-90-day-deadline.md")
    for chunk in chunk_document(doc, chunk_words=40, overlap_sentences=0):
        if len(chunk.text.split()) > 40:
            assert len(list(sentences(chunk.text))) == 1
