"""Reading what a link gave: an article page's main text and metadata, or an RSS/Atom feed's items.

The main text is found by a small readability-style rule over the page's elements (stdlib HTMLParser):
script, style and the other hidden elements of documents.py never count; navigation, headers, footers,
asides, forms and elements whose class, id or role says navigation, ads, sharing, comments, related links
or a newsletter are left out whole; then the <article> (or <main>, role="main") with the most paragraph
text is the article, else the element whose <p> children hold the most text. Its paragraphs, subheadings,
list items and quotes are kept in order, except link lists (most of a block's words inside links). A page
with no such paragraphs is read as documents.py reads any page. The metadata is article_meta's (JSON-LD,
meta tags, <time>); the headline is JSON-LD's, else the first <h1>, else og:title, else <title>.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from xml.etree import ElementTree

from ..errors import FetchError
from ..text import normalise
from .article_meta import ArticleMeta, html_meta, iso_date
from .documents import HIDDEN_ELEMENTS, read_html
from .fetch import Response

MIN_ARTICLE_WORDS = 30  # fewer words of main text: not an article page (an index, a login wall, an error)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
_XML_TYPES = ("application/xml", "text/xml")
_PAGE_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class WebArticle:
    url: str
    title: str | None
    text: str  # paragraphs separated by an empty line
    meta: ArticleMeta


@dataclass(frozen=True)
class FeedItem:
    link: str | None
    title: str | None
    published: str | None  # ISO date
    author: str | None


@dataclass(frozen=True)
class Feed:
    title: str | None  # the channel's: the items' outlet when their pages do not name one
    items: list[FeedItem]


def kind_of(response: Response) -> str:
    """ "feed" or "page", by the media type and the first bytes; FetchError for anything else."""
    head = response.body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    feed_root = re.search(rb"<(?:[\w-]+:)?(rss|feed|rdf)\b", head)
    if response.content_type in _FEED_TYPES or (
        feed_root and (response.content_type in _XML_TYPES or head.startswith((b"<?xml", b"<rss", b"<feed")))
    ):
        return "feed"
    if response.content_type in _PAGE_TYPES or head.startswith((b"<!doctype html", b"<html")):
        return "page"
    what = f"it is {response.content_type}" if response.content_type else "the server did not say what it is"
    if response.content_type in _XML_TYPES:
        what = "it is XML, but not RSS or Atom"
    raise FetchError(f"{response.url}: neither an article page nor an RSS or Atom feed ({what})")


def decode(response: Response) -> str:
    """The body as text: the charset the server named, else the page's <meta charset>, else UTF-8 (bytes
    that are not UTF-8 replaced, never a failure)."""
    charset = response.charset
    if charset is None:
        found = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", response.body[:4096], re.IGNORECASE)
        charset = found.group(1).decode("ascii") if found else "utf-8"
    try:
        return response.body.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return response.body.decode("utf-8", errors="replace")


# --- pages ----------------------------------------------------------------------------------------------

_BOILERPLATE_TAGS = {"nav", "footer", "header", "aside", "form", "button", "menu", "select", "dialog"}
_BOILERPLATE_ROLES = {"navigation", "banner", "contentinfo", "complementary", "menu", "menubar", "search"}
_BOILERPLATE_NAMES = re.compile(
    r"(?:^|[\s_-])(?:ads?|advert\w*|sponsor\w*|promo\w*|banner|share|sharing|social|related|recommend\w*|"
    r"newsletter|subscribe|subscription|cookies?|consent|comments?|sidebar|menu|nav|navbar|navigation|"
    r"footer|breadcrumbs?|popup|modal|paywall|outbrain|taboola)(?:$|[\s_-])",
    re.IGNORECASE,
)
_BLOCKS = {"p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "figcaption", "td", "dd", "div"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr", "track"}
_CLOSES_P = {"p", "div", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
             "section", "article", "figure", "header", "footer", "aside", "nav", "form", "main"}  # fmt: skip


class _Node:
    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag: str, attrs: dict[str, str], parent: _Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[_Node | str] = []

    def walk(self) -> Iterator[_Node]:
        yield self
        for child in self.children:
            if isinstance(child, _Node):
                yield from child.walk()

    def text(self) -> str:
        return " ".join("".join(_texts(self)).split())

    def link_text(self) -> int:
        return sum(len(n.text()) for n in self.walk() if n.tag == "a")

    def boilerplate(self) -> bool:
        names = f"{self.attrs.get('class', '')} {self.attrs.get('id', '')}"
        return (
            self.tag in _BOILERPLATE_TAGS
            or self.attrs.get("role", "").lower() in _BOILERPLATE_ROLES
            or bool(_BOILERPLATE_NAMES.search(names))
        )


def _texts(node: _Node) -> Iterator[str]:
    for child in node.children:
        if isinstance(child, str):
            yield child
        else:
            if child.tag == "br":
                yield " "
            yield from _texts(child)


class _TreeBuilder(HTMLParser):
    """The page's elements as a tree, without the hidden ones (script, style, ...) and their text; an open
    <p> is closed by the next block, as browsers do."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {}, None)
        self.current = self.root
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_ELEMENTS:
            self.hidden += 1
            return
        if self.hidden:
            return
        if tag in _CLOSES_P or tag == "li":
            closing = {"p"} | ({"li"} if tag == "li" else set())
            if self.current.tag in closing:
                self.current = self.current.parent or self.root
        node = _Node(tag, {k.lower(): v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_ELEMENTS or self.hidden:
            return
        self.current.children.append(_Node(tag, {}, self.current))

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_ELEMENTS:
            self.hidden = max(0, self.hidden - 1)
            return
        if self.hidden:
            return
        node: _Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.current.children.append(data)


def _content(node: _Node) -> Iterator[_Node]:
    """The node and its descendants, without boilerplate subtrees."""
    if node.boilerplate():
        return
    yield node
    for child in node.children:
        if isinstance(child, _Node):
            yield from _content(child)


def _paragraph_text(node: _Node) -> int:
    return sum(len(n.text()) for n in _content(node) if n.tag == "p")


def _main_element(root: _Node) -> _Node | None:
    """The article: the <article>/<main> with the most paragraph text, else the element whose own <p>
    children hold the most; None when the page has no paragraphs outside its boilerplate."""
    marked = [
        n for n in _content(root) if n.tag in ("article", "main") or n.attrs.get("role", "").lower() == "main"
    ]
    if marked:
        best = max(marked, key=_paragraph_text)
        if _paragraph_text(best):
            return best
    totals: dict[int, tuple[_Node, int]] = {}
    for node in _content(root):
        if node.tag == "p" and node.parent is not None:
            parent, total = totals.get(id(node.parent), (node.parent, 0))
            totals[id(node.parent)] = (parent, total + len(node.text()))
    return max(totals.values(), key=lambda pair: pair[1])[0] if totals else None


def _blocks(node: _Node) -> Iterator[str]:
    """The text blocks of the article in order: innermost blocks, link lists left out."""
    for child in node.children:
        if not isinstance(child, _Node) or child.boilerplate():
            continue
        inner = any(n.tag in _BLOCKS for n in child.walk() if n is not child)
        if child.tag in _BLOCKS and not inner:
            text = child.text()
            if text and child.link_text() <= 0.5 * len(text):
                yield text
        else:
            yield from _blocks(child)


def read_page(url: str, page: str) -> WebArticle:
    """The article on a page: its headline, main text and metadata. FetchError when it holds too little
    text to be an article."""
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    meta = html_meta(page)
    main = _main_element(builder.root)
    fallback_title, fallback_text = read_html(page)
    text = "\n\n".join(_blocks(main)) if main is not None else fallback_text
    text = normalise(text)
    count = len(text.split())
    if count < MIN_ARTICLE_WORDS:
        raise FetchError(
            f"{url}: no article text found on the page ({count} words of text outside its navigation)"
        )
    h1 = next((n.text() for n in _content(builder.root) if n.tag == "h1" and n.text()), None)
    og_title = next(
        (n.attrs.get("content") for n in builder.root.walk()
         if n.tag == "meta" and n.attrs.get("property", "").lower() == "og:title"),
        None,
    )  # fmt: skip
    title = meta.title or h1 or og_title or fallback_title
    return WebArticle(url, normalise(title).replace("\n", " ") if title else None, text, meta)


# --- feeds ----------------------------------------------------------------------------------------------


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _child(element: ElementTree.Element, *names: str) -> ElementTree.Element | None:
    return next((c for c in element if _local(c.tag) in names), None)


def _child_text(element: ElementTree.Element, *names: str) -> str | None:
    for name in names:
        found = _child(element, name)
        if found is not None and (text := " ".join("".join(found.itertext()).split())):
            return text
    return None


def _link(item: ElementTree.Element) -> str | None:
    """An RSS <link>text</link>, an Atom <link rel="alternate" href>, or an RDF item's rdf:about."""
    for child in item:
        if _local(child.tag) != "link":
            continue
        href = child.get("href")
        if href and child.get("rel", "alternate") == "alternate":
            return href.strip()
        if not href and child.text and child.text.strip():
            return child.text.strip()
    about = next((v for k, v in item.attrib.items() if _local(k) == "about"), None)
    return about.strip() if about else None


def _author(item: ElementTree.Element) -> str | None:
    """RSS's <author> ("jane@example.com (Jane Doe)" gives the name), Atom's <author><name>, <dc:creator>."""
    element = _child(item, "author")
    if element is not None and _child(element, "name") is not None:
        return _child_text(element, "name")
    text = _child_text(item, "author", "creator")
    if not text:
        return None
    named = re.search(r"\(([^()]+)\)\s*$", text)
    if named:
        return named.group(1).strip()
    return None if "@" in text else text


def read_feed(url: str, body: bytes, max_items: int) -> tuple[Feed, int]:
    """The feed's title and its first `max_items` items, and how many it has; FetchError for XML that is
    not well formed, declares entities (never needed by a feed, and the way to an XML bomb), or is not RSS
    or Atom."""
    if re.search(rb"<!ENTITY", body, re.IGNORECASE):
        raise FetchError(f"{url}: the feed declares XML entities, which are not read")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise FetchError(f"{url}: the feed is not well-formed XML ({exc})") from None
    kind = _local(root.tag)
    if kind == "rss":
        channel = _child(root, "channel")
        if channel is None:
            raise FetchError(f"{url}: an RSS feed without a <channel>")
        title, entries = _child_text(channel, "title"), [c for c in channel if _local(c.tag) == "item"]
    elif kind == "feed":
        title, entries = _child_text(root, "title"), [c for c in root if _local(c.tag) == "entry"]
    elif kind == "rdf":
        channel = _child(root, "channel")
        title = _child_text(channel, "title") if channel is not None else None
        entries = [c for c in root if _local(c.tag) == "item"]
    else:
        raise FetchError(
            f"{url}: neither an article page nor an RSS or Atom feed (XML whose root is <{kind}>)"
        )
    items = [
        FeedItem(
            link=_link(entry),
            title=_child_text(entry, "title"),
            published=iso_date(_child_text(entry, "pubdate", "published", "date", "updated", "issued")),
            author=_author(entry),
        )
        for entry in entries[:max_items]
    ]
    return Feed(title, items), len(entries)
