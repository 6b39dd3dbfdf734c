"""`assistant serve`: the chat (Gradio, at /), the editor page (/edit, with an editor login) and the HTTP
API (/v1, docs at /docs) in one FastAPI app, served by uvicorn on the chat's address and port. Who may do
what: access.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import gradio as gr
import uvicorn
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from ..api import Assistant
from ..errors import AssistantError
from ..ui.app import CSS, THEME, UPLOAD_LIMIT, build_app, build_editor_app
from . import http_api
from .access import Access
from .admission import Gate

STARTUP_SECONDS = 60.0  # for the port to open once the models are loaded


def build_server_app(assistant: Assistant) -> FastAPI:
    settings = assistant.settings
    access = Access(settings)
    slots = settings.answer_slots or (1 if settings.llm == "local" else 4)  # llama.cpp: one at a time
    gate = Gate(slots, settings.max_waiting, settings.rate_limit)
    blocks = build_app(
        assistant, gate, editing=access.editing_open, note=access.editing_note(), links=access.link_addresses
    )
    # Gradio's queue is the chat's waiting room (it shows each user their place); its answers then take
    # their turn at the model in the gate's line with the HTTP API's.
    blocks.queue(default_concurrency_limit=slots, max_size=settings.max_waiting)
    app = FastAPI(
        title="Assistant HTTP API",
        description="Cited answers about a folder of news articles, in OpenAI's chat-completions format.",
        docs_url=None,  # FastAPI's own page loads Swagger UI from a CDN; this one serves it from the package
        redoc_url=None,
    )
    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=app.title,
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    http_api.install(app, assistant, access, gate)
    pages = [(blocks, "/", access.page_auth())]
    if access.editor_login is not None:  # mounted first: "/" would take /edit for itself
        editor = build_editor_app(assistant, access.link_addresses)
        editor.queue(default_concurrency_limit=1)
        pages.insert(0, (editor, "/edit", access.editor_auth()))
    for page, path, auth in pages:
        app = gr.mount_gradio_app(
            app, page, path=path, auth=auth, max_file_size=UPLOAD_LIMIT, theme=THEME, css=CSS,
            server_name=settings.host, server_port=settings.port,
        )  # fmt: skip
    return app


def serve(assistant: Assistant, wait_warm: Callable[[], object]) -> None:
    """Serve until interrupted; "ready" is printed once wait_warm() says the model is warm and the port is
    open."""
    settings = assistant.settings
    app = build_server_app(assistant)
    wait_warm()  # raises what warming the model raised (a missing or corrupt model file): no port opened
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise AssistantError(
            f"cannot listen on {settings.host}:{settings.port} (is another server using that port? "
            "choose one with --port or ASSISTANT_PORT)"
        )
    url = f"http://{settings.host}:{settings.port}"
    print(f"Chat ready at {url} (answers by {assistant.model}); HTTP API at {url}/v1, docs at {url}/docs",
          flush=True)  # fmt: skip
    try:
        while thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(timeout=5)
        raise
