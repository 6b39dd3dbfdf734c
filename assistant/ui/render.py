"""HTML for the chat: answers whose markers link to source cards, and the sources panel itself."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from ..answering.citations import NORMALISED_MARKER, strip_markers
from ..results import Answer, Passage
from ..text import sentences, words


def chat_text(text: str) -> str:
    """Text from the model or an article as the chat shows it (the chat renders Markdown): HTML escaped,
    and no Markdown link or image (`[x](javascript:...)`, `[x]: url`), whoever wrote one; [n] markers stay."""
    return html.escape(text, quote=False).replace("](", "]&#40;").replace("]:", "]&#58;")


def link_markers(text: str) -> str:
    """The answer as chat text, each [n] a link to its source card."""
    return NORMALISED_MARKER.sub(r'<a class="cite" href="#source-\1">[\1]</a>', chat_text(text))


def strip_links(text: str) -> str:
    """Chat history as the model should see it: the plain answer, markers kept, no HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def sources_panel(
    passages: list[Passage],
    search_query: str,
    question: str,
    covered: bool,
    cited: dict[int, tuple[str, ...]] | None = None,
    differ: tuple[int, int] | None = None,
    dates_note: str = "",
    copies: Mapping[str, str] | None = None,
) -> str:
    """The cards for every passage the answer stands on (or, when not covered, the closest ones); two
    passages that disagree first, side by side under "Sources differ". A passage whose story other articles
    copy says "also in: <title> (<outlet>)" for each (`copies`: doc_id -> that label)."""
    parts = ['<div class="sources">']
    if differ and all(1 <= m <= len(passages) for m in differ):
        sides = "".join(_side(m, passages[m - 1]) for m in differ)
        heading = '<h3>Sources differ</h3><div class="side-by-side">'
        parts.append(f'<div class="sources-differ">{heading}{sides}</div></div>')
    if search_query != question:
        parts.append(f'<p class="searched">searched for: <em>{html.escape(search_query)}</em></p>')
    if dates_note:
        parts.append(f'<p class="searched dates-note">{html.escape(dates_note)}</p>')
    if not passages:
        parts.append("<p>No passages found.</p>")
    heading = "Sources" if covered else "Closest passages — they do not answer the question"
    parts.append(f'<h3 class="sources-heading">{heading}</h3>')
    for n, passage in enumerate(passages, start=1):
        quoted = (cited or {}).get(n, ())
        marked = "cited" if quoted else "uncited"
        parts.append(
            f'<div class="source-card {marked}" id="source-{n}">'
            f'<div class="source-head"><span class="marker">[{n}]</span> '
            f"<strong>{html.escape(passage.title)}</strong>"
            f'<span class="relevance">relevance {passage.score:.2f}</span></div>'
            f'<div class="source-text">{highlight(passage.text, quoted)}</div>'
            f'<div class="source-foot"><span class="byline">{html.escape(byline(passage))}</span> · '
            f"{html.escape(passage.doc_id)} · chars {passage.start}–{passage.end}</div>"
            f"{also_in(passage, copies or {})}"
            "</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def byline(passage: Passage) -> str:
    """Who published the passage's article and when, as far as the article says: "Reuters · Jane Doe ·
    2025-05-12"; "undated" when it gives no date."""
    return " · ".join(filter(None, (passage.outlet, passage.author, passage.published or "undated")))


def also_in(passage: Passage, copies: Mapping[str, str]) -> str:
    """The line naming the other copies of the passage's story ("" when there are none)."""
    if not passage.also_in:
        return ""
    names = "; ".join(html.escape(copies.get(doc_id, doc_id)) for doc_id in passage.also_in)
    return f'<div class="also-in">also in: {names}</div>'


def copy_label(title: str, outlet: str | None) -> str:
    """How a copy is named on a card: "<title> (<outlet>)", or the title alone."""
    return f"{title} ({outlet})" if outlet else title


def answer_html(answer: Answer) -> str:
    """The answer as the chat shows it: its text with linked markers, or, for a timeline, a small table
    with a row a report (date, outlet, the report's sentence and its marker)."""
    if not answer.timeline:
        return link_markers(answer.text)
    rows = "".join(
        f"<tr><td>{html.escape(r.published or 'undated')}</td><td>{html.escape(r.outlet or '')}</td>"
        f"<td>{link_markers(strip_markers(r.text))} {link_markers(f'[{r.marker}]')}</td></tr>"
        for r in answer.timeline
    )
    return (
        '<table class="timeline"><thead><tr><th>Report of</th><th>Outlet</th><th>What it says</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def left_out_note(answer: Answer) -> str:
    """Below an answer that kept some sentences: what the left-out ones named that no passage states."""
    if not answer.left_out:
        return ""
    return f'\n\n<em class="left-out">Left out: {html.escape(answer.left_out)}.</em>'


def _side(marker: int, passage: Passage) -> str:
    title = html.escape(passage.title)
    return (
        f'<div class="side"><span class="marker">[{marker}]</span> <strong>{title}</strong>'
        f'<div class="source-text">{html.escape(passage.text)}</div></div>'
    )


def removed_note(answer: Answer) -> str:
    """Below the answer: each sentence the checks removed, with the reason, so the reader sees what the
    model wrote that no passage states."""
    removed = answer.removed
    if not removed:
        return ""
    items = "".join(
        f"<li><s>{html.escape(strip_links(s.text))}</s> — removed: {html.escape(s.reason)}</li>"
        for s in removed
    )
    return f'\n\n<div class="removed"><em>Removed by the checks:</em><ul>{items}</ul></div>'


def cited_sentences(answer: Answer) -> dict[int, tuple[str, ...]]:
    return {c.marker: c.sentences for c in answer.citations}


def highlight(passage: str, answer_sentences: tuple[str, ...]) -> str:
    """Mark the passage's sentences that the citing answer sentences draw on (by shared words)."""
    if not answer_sentences:
        return html.escape(passage)
    answer_words = {w for s in answer_sentences for w in _words(s)}
    out = []
    last = 0
    for span in sentences(passage):
        text = passage[span.start : span.end]
        words = _words(text)
        overlap = len(words & answer_words) / max(1, min(len(words), len(answer_words)))
        out.append(html.escape(passage[last : span.start]))
        out.append(f"<mark>{html.escape(text)}</mark>" if overlap >= 0.4 else html.escape(text))
        last = span.end
    out.append(html.escape(passage[last:]))
    return "".join(out)


def _words(text: str) -> set[str]:
    return {w for w in words(text) if len(w) > 3 or any(c.isdigit() for c in w)}
