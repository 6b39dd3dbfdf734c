"""The Gradio app: a chat tab (streamed, cited answers beside their source cards) and a corpus tab."""

from __future__ import annotations

import time
from collections.abc import Iterator

import gradio as gr

from ..api import Assistant
from ..errors import AssistantError
from ..indexing.documents import SUPPORTED_SUFFIXES
from ..indexing.fetch import AddressPolicy
from ..indexing.ingest import IngestReport
from ..results import Answer, Passage
from ..server.admission import Busy, Gate, Ticket
from .render import (
    answer_html,
    chat_text,
    cited_sentences,
    copy_label,
    left_out_note,
    removed_note,
    sources_panel,
    strip_links,
)

CSS = """
.source-card { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
.source-card:target { outline: 3px solid #f59e0b; }
.source-card.uncited { opacity: 0.75; }
.source-head .relevance { float: right; color: #57606a; font-size: 0.85em; }
.source-foot, .searched { color: #57606a; font-size: 0.85em; }
.source-text { white-space: pre-line; }
.source-text mark { background: #fff3b0; }
a.cite { text-decoration: none; font-weight: 600; }
.sources-differ .side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.sources-differ .side { border: 1px solid #f59e0b; border-radius: 8px; padding: 6px 8px; font-size: 0.9em; }
.timeline td, .timeline th { padding: 2px 6px; vertical-align: top; text-align: left; }
.removed { color: #57606a; font-size: 0.85em; }
.also-in { color: #57606a; font-size: 0.85em; font-style: italic; }
"""
# System fonts only: the default theme would fetch Google Fonts, and nothing may leave 127.0.0.1.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
UPLOAD_LIMIT = "20mb"


def build_app(
    assistant: Assistant,
    gate: Gate,
    editing: bool = True,
    note: str = "",
    links: AddressPolicy | None = None,
) -> gr.Blocks:
    """The chat page: the chat tab and the corpus tab, where articles are added (files, links) and removed
    when `editing` (else `note` says where that is done; server/access.py decides, and which addresses a
    link may lead to: `links`, by default public ones only). Every question passes the gate (the client's
    rate, then its turn at the model: server/admission.py)."""
    links = links or AddressPolicy()

    def copies(passages: list[Passage]) -> dict[str, str]:
        """Labels of the other copies the passages' stories have, for their cards."""
        if not any(p.also_in for p in passages):
            return {}
        articles = assistant.articles()
        return {d: copy_label(e.title, e.outlet) for d, e in articles.items() if e.copy_of is not None}

    def respond(
        message: str, history: list[dict], since: str, until: str, request: gr.Request
    ) -> Iterator[tuple[str, str]]:
        turns = [{"role": t["role"], "content": strip_links(_text(t["content"]))} for t in history]
        try:
            ticket = gate.admit(request.client.host if request.client else "")
        except Busy as exc:
            yield f"⚠️ {exc}", ""
            return
        try:
            yield from _answer(message, turns, since, until, ticket)
        finally:
            ticket.leave()

    def _answer(
        message: str, turns: list[dict], since: str, until: str, ticket: Ticket
    ) -> Iterator[tuple[str, str]]:
        try:
            context = assistant.prepare_context(message, turns, since or None, until or None)
        except AssistantError as exc:
            yield f"⚠️ {exc}", ""
            return
        panel = sources_panel(
            context.passages, context.search_query, context.question, context.covered,
            dates_note=context.dates_note, copies=copies(context.passages),
        )  # fmt: skip
        yield "", panel  # the sources appear as soon as retrieval is done
        while not ticket.wait(1.0):
            ahead = ticket.ahead()
            yield (
                f"⏳ Waiting for the model: {ahead} {'answer' if ahead == 1 else 'answers'} before yours…",
                panel,
            )
        text = ""
        try:
            for event in assistant.answer_stream(context):
                if isinstance(event, Answer):
                    panel = sources_panel(
                        event.passages, event.search_query, event.question, not event.abstained,
                        cited_sentences(event), event.differ, event.dates_note, copies(event.passages),
                    )  # fmt: skip
                    yield answer_html(event) + left_out_note(event) + removed_note(event), panel
                else:
                    text += event
                    yield chat_text(text), panel
        except AssistantError as exc:
            yield f"⚠️ {exc}", panel

    with gr.Blocks(title="Assistant — cited answers about the articles", analytics_enabled=False) as app:
        status = gr.Markdown(elem_id="status-line")
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(elem_id="chat", height=520)
                sources = gr.HTML(elem_id="sources-panel", render=False)
                gr.ChatInterface(
                    respond,
                    chatbot=chatbot,
                    additional_outputs=[sources],
                    textbox=gr.Textbox(
                        placeholder="Ask about the articles…", elem_id="question", submit_btn=True
                    ),
                    # Only articles published in this range (both optional; undated ones are then left out).
                    additional_inputs=[
                        gr.Textbox("", label="Published since (YYYY-MM-DD)", elem_id="since", max_lines=1),
                        gr.Textbox("", label="Published until (YYYY-MM-DD)", elem_id="until", max_lines=1),
                    ],
                    additional_inputs_accordion=gr.Accordion("Date range", open=False),
                    analytics_enabled=False,
                    api_name="chat",
                    # Every question goes to the gate's line at once, beside the API's (with Gradio's
                    # one-at-a-time default the chat's sessions had one place among them), and one more
                    # than the line holds, so that a full line says "busy" in the chat too.
                    concurrency_limit=gate.line.slots + gate.line.max_waiting + 1,
                )
            with gr.Column(scale=2):
                sources.render()
        with gr.Tab("Corpus"):
            _corpus_tab(app, assistant, status, editing, note, links)
    return app


def build_editor_app(assistant: Assistant, links: AddressPolicy | None = None) -> gr.Blocks:
    """The editor page (/edit, behind the editor's login): the corpus, with upload, links and remove."""
    with gr.Blocks(title="Assistant — the corpus (editors)", analytics_enabled=False) as app:
        status = gr.Markdown(elem_id="status-line")
        _corpus_tab(app, assistant, status, editing=True, note="", links=links or AddressPolicy())
    return app


def _corpus_tab(
    app: gr.Blocks, assistant: Assistant, status: gr.Markdown, editing: bool, note: str, links: AddressPolicy
) -> None:
    """The corpus table, with upload, a link box and remove when `editing` (their Gradio API endpoints
    exist only then), else the note; refreshed when the page loads and after every change."""

    def corpus_view() -> tuple[str, list[list[object]], gr.Dropdown]:
        """The status line, the corpus table and the removal choices, from one look at the index."""
        try:
            current = assistant.status()
        except AssistantError as exc:
            return f"Answers by **{assistant.model}** · Index: {exc}", [], gr.Dropdown(choices=[], value=None)
        rows = [
            [
                entry.title,
                doc_id,
                entry.published or "undated",
                entry.outlet or "",
                entry.chunks,
                time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.indexed_at)),
            ]
            for doc_id, entry in sorted(current.documents.items())
        ]
        return (
            f"Answers by **{assistant.model}** · Index: {current.summary()}",
            rows,
            gr.Dropdown(choices=sorted(current.documents), value=None),
        )

    def upload(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        if not files:
            return "Choose one or more files first."
        try:
            report = assistant.add_files(files, progress=lambda done, total: progress(done / max(total, 1)))
        except AssistantError as exc:
            return f"⚠️ {exc}"
        return _report_markdown(report)

    def add_link(url: str, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        if not url or not url.strip():
            return "Paste a link to an article page or an RSS/Atom feed first."
        try:
            report = assistant.add_url(
                url.strip(), progress=lambda done, total: progress(done / max(total, 1)), addresses=links
            )
        except AssistantError as exc:
            return f"⚠️ {exc}"
        return _report_markdown(report)

    def remove(doc_id: str | None, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        if not doc_id:
            return "Choose an article to remove."
        try:
            report = assistant.remove_document(doc_id, progress=lambda d, t: progress(d / max(t, 1)))
        except AssistantError as exc:
            return f"⚠️ {exc}"
        return (
            f"Removed **{doc_id}** (its file is kept in the corpus folder's `.removed/`). " + report.summary()
        )

    table = gr.Dataframe(
        headers=["Title", "File", "Published", "Outlet", "Chunks", "Indexed"], interactive=False
    )
    if not editing:
        gr.Markdown(note, elem_id="corpus-note")
        app.load(lambda: corpus_view()[:2], None, [status, table], api_name="corpus_view")
        return
    with gr.Row():
        files = gr.File(
            label=f"Add articles ({', '.join(SUPPORTED_SUFFIXES)})",
            file_count="multiple",
            file_types=list(SUPPORTED_SUFFIXES),
        )
        with gr.Column():
            add_button = gr.Button("Add to corpus and index", variant="primary")
            link = gr.Textbox(
                label="Or add a link: an article page or an RSS/Atom feed (http:// or https://)",
                elem_id="link", max_lines=1,
            )  # fmt: skip
            link_button = gr.Button("Fetch and index")
            # Any name is taken (the Gradio API's /remove has no page to fill the choices): an unknown one
            # is refused by remove_document with its reason.
            choice = gr.Dropdown(label="Article to remove", choices=[], allow_custom_value=True)
            remove_button = gr.Button("Remove article")
    outcome = gr.Markdown(elem_id="corpus-outcome")
    views = [status, table, choice]
    app.load(corpus_view, None, views)
    for event in (add_button.click(upload, files, outcome, api_name="upload"),
                  link_button.click(add_link, link, outcome, api_name="add_link"),
                  remove_button.click(remove, choice, outcome, api_name="remove")):  # fmt: skip
        event.then(corpus_view, None, views)  # after a change: the status line, the table and the choices


def _text(content: object) -> str:
    """Chat message content as text (Gradio 6 may hand over a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return str(content)


def _report_markdown(report: IngestReport) -> str:
    lines = [report.summary()]
    lines += [f"- fetched: {doc_id}" for doc_id in report.fetched]
    lines += [f"- {note}" for note in report.notes]
    lines += [f"- ⚠️ not added: {reason}" for reason in report.skipped.values()]
    return "\n".join(lines)
