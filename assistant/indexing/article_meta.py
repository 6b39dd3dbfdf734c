"""An article's published date, outlet and author, read from what its file carries and never invented:
Markdown front matter (`date:`, `source:`, `author:`), HTML meta tags and JSON-LD
(`article:published_time`, `datePublished`, `og:site_name`, `author`) and `<time datetime>`, PDF metadata
(`/Author`, `/CreationDate`). A file that states no date is undated (None)."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from ..errors import DocumentError


@dataclass(frozen=True)
class ArticleMeta:
    published: str | None = None  # ISO date, YYYY-MM-DD
    outlet: str | None = None  # the site or publisher
    author: str | None = None
    title: str | None = None  # a headline the metadata gives (front matter `title:`, JSON-LD `headline`)

    def fields(self) -> dict[str, str]:
        """The fields that are set, for hashing and storing."""
        return {k: v for k, v in (("published", self.published), ("outlet", self.outlet),
                                  ("author", self.author)) if v}  # fmt: skip


# Names each field goes by, first found wins.
_DATE_KEYS = ("date", "published", "published_at", "publish_date", "pubdate", "datepublished")
_OUTLET_KEYS = ("source", "outlet", "publisher", "site", "site_name")
_AUTHOR_KEYS = ("author", "authors", "byline", "by")


def iso_date(value: object) -> str | None:
    """A date as YYYY-MM-DD, from a date, a datetime, or a string in ISO 8601, RFC 2822 (feeds), "12 May
    2025" or "May 12, 2025"; None for what is not clearly a date."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        try:
            return dt.date(*map(int, match.groups())).isoformat()
        except ValueError:
            return None
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    for form in ("%d %B %Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y", "%B %d %Y"):
        try:
            return dt.datetime.strptime(text, form).date().isoformat()
        except ValueError:
            continue
    return None


def _name(value: object) -> str | None:
    """A person's or an outlet's name: a string, a JSON-LD object's `name`, or the first of a list; never
    a URL (an `article:author` is often a profile page)."""
    if isinstance(value, list):
        names = [n for n in (_name(v) for v in value) if n]
        return ", ".join(names) or None
    if isinstance(value, dict):
        value = value.get("name")
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return None if not text or text.startswith(("http://", "https://")) else text[:200]


def _pick(values: dict[str, Any], keys: tuple[str, ...], read: Any) -> str | None:
    for key in keys:
        if key in values and (found := read(values[key])):
            return found
    return None


def _meta_from(values: dict[str, Any]) -> ArticleMeta:
    lowered = {str(k).lower(): v for k, v in values.items()}
    return ArticleMeta(
        published=_pick(lowered, _DATE_KEYS, iso_date),
        outlet=_pick(lowered, _OUTLET_KEYS, _name),
        author=_pick(lowered, _AUTHOR_KEYS, _name),
        title=_pick(lowered, ("title", "headline"), _name),
    )


FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def front_matter(raw: str, where: str) -> tuple[ArticleMeta, str]:
    """(the metadata of a Markdown file's YAML front matter, the text after it); no front matter: empty
    metadata and the text as it is. Front matter that is not YAML is a DocumentError naming the file."""
    match = FRONT_MATTER.match(raw)
    if not match:
        return ArticleMeta(), raw
    import yaml

    try:
        values = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 2})" if mark is not None else ""
        raise DocumentError(f"{where}: its front matter is not valid YAML{line}") from None
    if not isinstance(values, dict):
        return ArticleMeta(), raw[match.end() :]
    return _meta_from(values), raw[match.end() :]


class _HTMLMeta(HTMLParser):
    """Meta tags, JSON-LD blocks and the first <time datetime> of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.json_ld: list[str] = []
        self.time: str | None = None
        self._in_json_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): v or "" for k, v in attrs}
        if tag == "meta":
            key = (values.get("property") or values.get("name") or values.get("itemprop") or "").lower()
            if key and values.get("content") and key not in self.meta:
                self.meta[key] = values["content"]
        elif tag == "script" and values.get("type", "").lower() == "application/ld+json":
            self._in_json_ld = True
            self.json_ld.append("")
        elif tag == "time" and self.time is None and values.get("datetime"):
            self.time = values["datetime"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_json_ld = False

    def handle_data(self, data: str) -> None:
        if self._in_json_ld:
            self.json_ld[-1] += data


_ARTICLE_TYPES = {"article", "newsarticle", "reportage", "report", "blogposting", "analysisnewsarticle"}


def _json_ld_article(blocks: list[str]) -> dict[str, Any]:
    """The first Article-like object of the page's JSON-LD (a block may hold a list or an @graph)."""
    found: list[dict[str, Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            kinds = node.get("@type", [])
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if any(str(k).lower() in _ARTICLE_TYPES for k in kinds if isinstance(k, str)):
                found.append(node)
            walk(node.get("@graph", []))

    for block in blocks:
        try:
            walk(json.loads(block))
        except ValueError:
            continue
    return found[0] if found else {}


def html_meta(raw: str) -> ArticleMeta:
    """A page's metadata: JSON-LD first (the publisher's own structured account), then meta tags, then
    the first <time datetime>."""
    parser = _HTMLMeta()
    parser.feed(raw)
    parser.close()
    ld = _json_ld_article(parser.json_ld)
    tags = parser.meta
    published = iso_date(ld.get("datePublished")) or next(
        (d for key in ("article:published_time", "datepublished", "date", "dc.date", "pubdate",
                       "og:published_time", "publish-date") if (d := iso_date(tags.get(key)))),
        None,
    ) or iso_date(parser.time)  # fmt: skip
    return ArticleMeta(
        published=published,
        outlet=_name(ld.get("publisher")) or _name(tags.get("og:site_name")) or _name(tags.get("publisher")),
        author=_name(ld.get("author")) or _name(tags.get("author")) or _name(tags.get("article:author")),
        title=_name(ld.get("headline")),
    )


def pdf_meta(info: Any) -> ArticleMeta:
    """A PDF's document information: its author and creation date."""
    if info is None:
        return ArticleMeta()
    try:
        created = info.creation_date
    except (ValueError, TypeError):  # a date pypdf cannot parse
        created = None
    return ArticleMeta(published=iso_date(created), author=_name(info.author))
