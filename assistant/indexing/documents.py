"""Read articles from disk into normalised text with a title. Supported: .txt, .md, .html/.htm, .pdf."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ..errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    doc_id: str  # the file's stem
    title: str
    text: str  # normalised; chunk offsets point into this
    source: str  # path as given
    content_hash: str  # sha256 of the normalised text


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
    if suffix == ".pdf":
        title, body = _read_pdf(path, data)
    else:
        raw = _decode(path, data)
        title, body = {".md": _read_markdown, ".html": _read_html, ".htm": _read_html}.get(
            suffix, _read_text
        )(raw)
    text = normalise(body)
    if not text:
        raise DocumentError(f"{path}: no text in the file")
    title = normalise(title or "").replace("\n", " ") or _title_from_stem(path.stem)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Document(doc_id=path.stem, title=title, text=text, source=str(path), content_hash=digest)


_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # every ASCII control but \t and \n
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def normalise(text: str) -> str:
    """NFKC, one space between words, no trailing blanks, at most one empty line between paragraphs."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _ASCII_CONTROLS.sub("", text)
    # Other control and format characters are non-ASCII: only those are looked up, one at a time.
    text = _NON_ASCII.sub(lambda m: "" if unicodedata.category(m[0])[0] == "C" else m[0], text)
    text = re.sub(r"[ \t\u00a0\u2000-\u200b\u3000]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


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


def _read_markdown(raw: str) -> tuple[str | None, str]:
    match = re.search(r"^# +(.+?)\s*#*\s*$", raw, flags=re.MULTILINE)
    if not match:
        return _read_text(raw)
    body = raw[: match.start()] + raw[match.end() :]
    return match.group(1), body


class _HTMLText(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "head", "nav", "footer"}
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
        if tag not in ("br",):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if "title" in self._stack:
            self.title.append(data)
        elif "h1" in self._stack and not self.parts_has_text():
            self.h1.append(data)
        elif not self._SKIP.intersection(self._stack):
            self.parts.append(data.replace("\n", " "))

    def parts_has_text(self) -> bool:
        return any(p.strip() for p in self.parts)


def _read_html(raw: str) -> tuple[str | None, str]:
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    title = "".join(parser.h1).strip() or html.unescape("".join(parser.title)).strip() or None
    return title, "".join(parser.parts)


def _read_pdf(path: Path, data: bytes) -> tuple[str | None, str]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"{path}: cannot read this PDF ({exc})") from None
    if title is None:
        title, body = _read_text("\n\n".join(pages))
        return title, body
    return title, "\n\n".join(pages)


def _title_from_stem(stem: str) -> str:
    words = re.sub(r"^[\d_-]+", "", stem).replace("_", " ").replace("-", " ").strip()
    return (words or stem).capitalize()
