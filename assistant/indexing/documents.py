"""Read articles from disk into normalised text with a title. Supported: .txt, .md, .html/.htm, .pdf."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ..errors import DocumentError
from ..text import normalise
from .article_meta import ArticleMeta, front_matter, html_meta, pdf_meta

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# Bounds on what one file may cost to read and index, whatever its size on disk: a PDF of thousands of
# pages, or one whose streams inflate to gigabytes (a decompression bomb), is skipped with its reason.
MAX_PDF_PAGES = 1000
MAX_PDF_SECONDS = 60.0
MAX_TEXT_CHARS = 3_000_000  # about 500,000 words: some 5,000 passages to embed (minutes, not hours)

# The first bytes of kinds of file that are not text, to name what a file really is when its extension
# says otherwise (a PDF saved as .txt, an image renamed .md).
_MAGIC = (
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (or a Word, Excel or EPUB file)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program"),
    (b"{\\rtf", "an RTF document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
)


@dataclass(frozen=True)
class Document:
    doc_id: str  # the file's stem
    title: str
    text: str  # normalised; chunk offsets point into this
    source: str  # path as given
    content_hash: str  # sha256 of the normalised text (and of the metadata it states, when there is some)
    # What the file says of itself (article_meta.py); None when it does not say.
    published: str | None = None  # ISO date, YYYY-MM-DD
    outlet: str | None = None
    author: str | None = None


def list_corpus(corpus_dir: Path) -> list[Path]:
    """Every file under corpus_dir that is not hidden, sorted, supported or not (ingest reports the rest)."""
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def load_document(path: Path) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"{path}: unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED_SUFFIXES)}"
        )
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{path}: {size:,} bytes is over the {MAX_DOCUMENT_BYTES:,}-byte limit")
    data = path.read_bytes()
    kind = _kind_of(data)
    meta = ArticleMeta()
    if suffix == ".pdf":
        if kind != "a PDF":
            raise DocumentError(f"{path}: not a PDF (it is {kind or 'text'}); give it its own extension")
        title, body, meta = _read_pdf(path, data)
    else:
        if kind is not None:
            hint = "; rename it to .pdf" if kind == "a PDF" else ""
            raise DocumentError(f"{path}: a binary file ({kind}), not {suffix} text{hint}")
        raw = _decode(path, data)
        if suffix == ".md":
            meta, raw = front_matter(raw, str(path))
        reader = {".md": _read_markdown, ".html": read_html, ".htm": read_html}.get(suffix, _read_text)
        if _looks_like_html(raw):  # a web page saved as .txt or .md is read as the page it is
            reader = read_html
        if reader is read_html:
            meta = html_meta(raw)
        title, body = reader(raw)
    text = normalise(body)
    if not text:
        raise DocumentError(f"{path}: no text in the file")
    if len(text) > MAX_TEXT_CHARS:
        raise DocumentError(
            f"{path}: {len(text):,} characters of text is over the {MAX_TEXT_CHARS:,}-character limit"
        )
    title = normalise(title or meta.title or "").replace("\n", " ") or _title_from_stem(path.stem)
    stated = meta.fields()
    # A headline the metadata states (front matter `title:`, as fetched articles have) is hashed too: a
    # changed headline is indexed again. Files that state none keep the hash they had.
    hashed = stated | ({"title": meta.title} if meta.title else {})
    digest = hashlib.sha256((text + (json.dumps(hashed, sort_keys=True) if hashed else "")).encode())
    return Document(
        doc_id=path.stem, title=title, text=text, source=str(path), content_hash=digest.hexdigest(), **stated
    )


def _kind_of(data: bytes) -> str | None:
    """What a file is by its first bytes, when it is a kind that is not text (a PDF's header may follow a
    little junk: the format allows 1 KB)."""
    if b"%PDF-" in data[:1024]:
        return "a PDF"
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)


def _looks_like_html(raw: str) -> bool:
    start = raw.lstrip("\ufeff \t\r\n")[:15].lower()
    return start.startswith(("<!doctype html", "<html"))


def _decode(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{path}: not UTF-8 text (bad byte at offset {exc.start}); re-save it as UTF-8"
        ) from None


def _read_text(raw: str) -> tuple[str | None, str]:
    # A short first line without a closing full stop is a headline.
    first, _, rest = raw.strip().partition("\n")
    if rest.strip() and len(first) <= 150 and not first.rstrip().endswith((".", "?", "!", '"', "”")):
        return first, rest
    return None, raw


# Markup in Markdown that is not words: script and style blocks with their text, HTML comments and tags,
# and a link's target (its text is kept, so a `javascript:` link is only its words).
_MD_HIDDEN = re.compile(
    r"<(script|style|noscript|template)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)", re.IGNORECASE | re.DOTALL
)
_MD_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\((?:[^()\n]|\([^()\n]*\))*\)")  # a target may hold (...)


def _read_markdown(raw: str) -> tuple[str | None, str]:
    raw = _MD_LINK.sub(r"\1", _MD_TAG.sub("", _MD_HIDDEN.sub("", raw)))
    match = re.search(r"^# +(.+?)\s*#*\s*$", raw, flags=re.MULTILINE)
    if not match:
        return _read_text(raw)
    body = raw[: match.start()] + raw[match.end() :]
    return match.group(1), body


# Never words of the article: code, styles and what a page shows only without scripts (even inside the
# title or the headline). Also what web.py leaves out of a fetched page.
HIDDEN_ELEMENTS = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object"})


class _HTMLText(HTMLParser):
    # The hidden elements, then the page's head, navigation and footer (whose <title> is still read).
    _HIDDEN = HIDDEN_ELEMENTS
    _SKIP = _HIDDEN | {"head", "nav", "footer"}
    _VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
    _BLOCK = {
        "p",
        "div",
        "br",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "tr",
        "blockquote",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n\n")
        if tag not in self._VOID:
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._HIDDEN.intersection(self._stack):
            return
        if "title" in self._stack:
            self.title.append(data)
        elif "h1" in self._stack and not self.parts_has_text():
            self.h1.append(data)
        elif not self._SKIP.intersection(self._stack):
            self.parts.append(data.replace("\n", " "))

    def parts_has_text(self) -> bool:
        return any(p.strip() for p in self.parts)


def read_html(raw: str) -> tuple[str | None, str]:
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    title = "".join(parser.h1).strip() or html.unescape("".join(parser.title)).strip() or None
    return title, "".join(parser.parts)


def _read_pdf(path: Path, data: bytes) -> tuple[str | None, str, ArticleMeta]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise DocumentError(
                f"{path}: {len(reader.pages):,} pages is over the {MAX_PDF_PAGES:,}-page limit for one PDF"
            )
        deadline = time.monotonic() + MAX_PDF_SECONDS
        pages, chars = [], 0
        for number, page in enumerate(reader.pages, start=1):
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > MAX_TEXT_CHARS:
                raise DocumentError(
                    f"{path}: over {MAX_TEXT_CHARS:,} characters of text by page {number}: too large to index"
                )
            if time.monotonic() > deadline and number < len(reader.pages):
                raise DocumentError(
                    f"{path}: reading took over {MAX_PDF_SECONDS:g} s by page {number} of {len(reader.pages)}"
                )
        title = (reader.metadata.title if reader.metadata else None) or None
        meta = pdf_meta(reader.metadata)
    except LimitReachedError:  # pypdf stops inflating a stream at 75 MB
        raise DocumentError(
            f"{path}: a stream in this PDF inflates past the size limit (a decompression bomb?): too large "
            "to read"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise DocumentError(f"{path}: cannot read this PDF ({exc})") from None
    if title is None:
        title, body = _read_text("\n\n".join(pages))
        return title, body, meta
    return title, "\n\n".join(pages), meta


def _title_from_stem(stem: str) -> str:
    words = re.sub(r"^[\d_-]+", "", stem).replace("_", " ").replace("-", " ").strip()
    return (words or stem).capitalize()
