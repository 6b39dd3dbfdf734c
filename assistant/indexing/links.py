"""Adding articles by link: one article page, or every item of an RSS/Atom feed, fetched (fetch.py), read
(web.py) and written into the corpus folder as Markdown with YAML front matter (title, date, source,
author, url); ingest then indexes them as any file.

A fetched article's file is named from its headline and its URL: `<headline-slug>-<10 hex digits of the
URL's sha256>.md`. Fetching the same URL again finds that file by its digest and rewrites it (under the
same name, even when the headline changed); two articles at different URLs never share a name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import unicodedata
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..config import Settings
from ..errors import DocumentError, FetchError
from .article_meta import FRONT_MATTER
from .documents import load_document
from .fetch import AddressPolicy, fetch
from .web import FeedItem, WebArticle, decode, kind_of, read_feed, read_page

log = logging.getLogger(__name__)

FetchProgress = Callable[[int, int], None]  # (pages fetched so far, pages to fetch)
DIGEST_CHARS = 10
SLUG_CHARS = 60


@dataclass
class Fetched:
    """What a link brought: the files written (doc_ids), the feed items not added and why, notes."""

    doc_ids: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # item URL (or feed item number) -> reason
    notes: list[str] = field(default_factory=list)


def fetch_into_corpus(
    url: str, settings: Settings, addresses: AddressPolicy, progress: FetchProgress | None = None
) -> Fetched:
    """Fetch the link; write its article, or its feed's articles, into the corpus folder. Raises
    BadUrlError, AddressRefusedError or FetchError when the link itself cannot be used; a feed item that
    cannot be is in `skipped` (FetchError when none of them can)."""

    def get(link: str) -> WebArticle | None:
        response = fetch(link, addresses, settings.fetch_timeout, settings.fetch_max_bytes)
        if kind_of(response) == "feed":
            return None
        return read_page(response.url, decode(response))

    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    first = fetch(url, addresses, settings.fetch_timeout, settings.fetch_max_bytes)
    done = Fetched()
    if kind_of(first) == "page":
        article = read_page(first.url, decode(first))
        done.doc_ids.append(write_article(settings.corpus_dir, article, None, None))
        return done
    feed, total = read_feed(first.url, first.body, settings.feed_max_items)
    if total > len(feed.items):
        done.notes.append(
            f"the feed has {total} items: the first {len(feed.items)} were fetched (ASSISTANT_FEED_MAX_ITEMS)"
        )
    for number, item in enumerate(feed.items, start=1):
        name = item.link or f"item {number} of {first.url}"
        try:
            if not item.link:
                raise FetchError(f"{name}: the item has no link")
            page = get(urllib.parse.urljoin(first.url, item.link))
            if page is None:
                raise FetchError(f"{item.link}: a feed, not an article page")
            done.doc_ids.append(write_article(settings.corpus_dir, page, item, feed.title))
        except FetchError as exc:
            done.skipped[name] = str(exc)
        if progress is not None:
            progress(number, len(feed.items))
    if not done.doc_ids:
        reasons = "; ".join(list(done.skipped.values())[:3])
        raise FetchError(
            f"{first.url}: none of the feed's {len(feed.items)} items could be added ({reasons})"
        )
    return done


def write_article(
    corpus_dir: Path, article: WebArticle, item: FeedItem | None, feed_title: str | None
) -> str:
    """Write the article into the corpus as Markdown with its metadata in front matter: the page's own
    (headline, date, outlet, author), else the feed item's and the feed's title as the outlet. Returns its
    doc_id. The file is written whole or not at all."""
    meta = article.meta
    title = article.title or (item.title if item else None) or article.url
    values = {
        "title": title,
        "date": meta.published or (item.published if item else None),
        "source": meta.outlet or feed_title,
        "author": meta.author or (item.author if item else None),
        "url": article.url,
    }
    front = yaml.safe_dump({k: v for k, v in values.items() if v}, sort_keys=False, allow_unicode=True)
    text = f"---\n{front}---\n# {' '.join(title.split())}\n\n{article.text}\n"
    path = corpus_dir / _file_name(corpus_dir, article.url, title)
    partial = path.with_name(f".{path.stem}.part.md")  # hidden: ingest never reads it
    partial.write_text(text, encoding="utf-8")
    try:
        load_document(partial)  # the checks ingest makes (the text, its size): a bad one never lands
    except DocumentError as exc:
        partial.unlink()
        raise FetchError(f"{article.url}: {str(exc).replace(str(partial) + ': ', '')}") from None
    os.replace(partial, path)
    log.info("fetched %s into %s", article.url, path)
    return path.stem


def _file_name(corpus_dir: Path, url: str, title: str) -> str:
    """The name of the URL's file: the one already written for it, else a new one from the headline."""
    digest = hashlib.sha256(url.encode()).hexdigest()
    for size in (DIGEST_CHARS, len(digest)):
        existing = [p for p in corpus_dir.glob(f"*-{digest[:size]}.md") if _url_of(p) == url]
        if existing:
            return existing[0].name
        if not any(corpus_dir.glob(f"*-{digest[:size]}.md")):  # no other URL's file ends so
            return f"{slug(title)}-{digest[:size]}.md"
    return f"{slug(title)}-{digest}.md"


def _url_of(path: Path) -> str | None:
    """The `url:` in a file's front matter."""
    try:
        match = FRONT_MATTER.match(path.read_text(encoding="utf-8", errors="replace")[:20000])
        values = yaml.safe_load(match.group(1)) if match else None
    except (OSError, yaml.YAMLError):
        return None
    return str(values.get("url")) if isinstance(values, dict) and values.get("url") else None


def slug(title: str) -> str:
    """A file name's part from a headline: ASCII letters and digits joined by '-', at most SLUG_CHARS."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_title)
    out = ""
    for word in words:
        if len(out) + len(word) + 1 > SLUG_CHARS:
            break
        out = f"{out}-{word}" if out else word
    return out or (words[0][:SLUG_CHARS] if words else "article")
