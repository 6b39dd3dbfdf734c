from pathlib import Path

import pytest

from assistant.errors import DocumentError
from assistant.indexing.documents import load_document
from assistant.text import normalise
from tests.conftest import CORPUS, minimal_pdf


def test_every_article_has_a_title_and_clean_text():
    docs = [load_document(p) for p in sorted(CORPUS.glob("*.md"))]
    assert len(docs) == 5
    titles = {d.doc_id: d.title for d in docs}
    assert titles["04-trump-administration-reaches-out-to-beijing"] == (
        "Trump Administration Quietly Reaches Out to Beijing for Tariff Talks"
    )
    for doc in docs:
        assert doc.title and not doc.title.startswith("#")
        assert doc.text == normalise(doc.text)
        assert not doc.text.startswith(doc.title)  # the heading is not repeated in the body


def test_normalise_unicode_and_whitespace():
    raw = "Ｆｕｌｌ\u00a0width  and\ttabs \r\n\r\n\r\n\r\nNext\u200b paragraph.  \n"
    assert normalise(raw) == "Full width and tabs\n\nNext paragraph."


def test_text_markdown_html_and_pdf_readers(tmp_path: Path):
    (tmp_path / "a.txt").write_text("A Short Headline\nBody sentence one. Body two.\n")
    (tmp_path / "b.md").write_text("# Markdown Title\n\nSome *body* text.\n")
    (tmp_path / "c.html").write_text(
        "<html><head><title>Page</title><script>var x = 'no';</script></head>"
        "<body><h1>Html Title</h1><p>First &amp; second.</p><p>Third.</p></body></html>"
    )
    (tmp_path / "d.pdf").write_bytes(
        minimal_pdf(["Tariffs rose to 145 percent.", "Talks stalled."], title="Pdf Title")
    )
    a, b, c, d = (load_document(tmp_path / n) for n in ("a.txt", "b.md", "c.html", "d.pdf"))
    assert (a.title, a.text) == ("A Short Headline", "Body sentence one. Body two.")
    assert (b.title, b.text) == ("Markdown Title", "Some *body* text.")
    assert c.title == "Html Title"
    assert c.text == "First & second.\n\nThird."
    assert d.title == "Pdf Title"
    assert "145 percent" in d.text and "Talks stalled." in d.text


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bin.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
        ("latin1.txt", "Caf\u00e9 au lait".encode("latin-1"), "not UTF-8"),
        ("empty.md", b"  \n\n ", "no text"),
        ("sheet.xlsx", b"PK\x03\x04", "unsupported file type"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ],
)
def test_unreadable_files_get_a_message_naming_them(tmp_path: Path, name: str, data: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=message) as info:
        load_document(path)
    assert name in str(info.value)
