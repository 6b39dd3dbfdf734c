"""Readers and editors, with real `assistant serve` processes (extractive answers): the chat page's reader
login, the editor page's login, the HTTP API's bearer tokens (401 without, 403 for a reader's token on an
editing call), and the rule for a server without them (open on 127.0.0.1 only; beyond it, refused unless
--no-auth, and then never editable). No secret ever reaches the server's output."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.conftest import BIN, CORPUS, child_env, serving

GENEVA = "What tariff did the U.S. impose on Chinese goods after the Geneva talks?"
SECRETS = {
    "ASSISTANT_UI_USER": "reader",
    "ASSISTANT_UI_PASSWORD": "reader-pass-5f1c",
    "ASSISTANT_EDITOR_USER": "editor",
    "ASSISTANT_EDITOR_PASSWORD": "editor-pass-9a7e",
    "ASSISTANT_API_TOKEN": "reader-token-3b8d0c",
    "ASSISTANT_EDITOR_TOKEN": "editor-token-71e2aa",
}
READER = ("reader", SECRETS["ASSISTANT_UI_PASSWORD"])
EDITOR = ("editor", SECRETS["ASSISTANT_EDITOR_PASSWORD"])
ARTICLE = (
    "# Harbour cranes\n\nThe port of Valdoria ordered eleven harbour cranes from Kestrel Works in 2025.\n"
)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory):
    with serving(tmp_path_factory.mktemp("guarded"), "--llm", "extractive", **SECRETS) as running:
        yield running
    output = running["log"].read_text()
    assert "Traceback" not in output
    leaked = [name for name, value in SECRETS.items() if "USER" not in name and value in output]
    assert not leaked, f"the server printed {leaked}"


def _call(server: dict, method: str, path: str, token: str | None = None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, server["url"] + path, headers=headers, timeout=60, **kwargs)


def _chat(question: str = GENEVA) -> dict:
    return {"json": {"model": "assistant", "messages": [{"role": "user", "content": question}]}}


def _upload(name: str = "cranes.md", text: str = ARTICLE) -> dict:
    return {"files": [("file", (name, text.encode(), "text/markdown"))]}


def _gradio(url: str, auth: tuple[str, str] | None = None):
    from gradio_client import Client

    return Client(url, auth=auth, analytics_enabled=False, verbose=False)


@pytest.mark.parametrize(
    "method, path, body",
    [("POST", "/v1/chat/completions", _chat()), ("POST", "/v1/retrieve", {"json": {"query": "tariff"}}),
     ("GET", "/v1/documents", {}), ("POST", "/v1/documents", _upload()),
     ("DELETE", "/v1/documents/cranes", {})],
)  # fmt: skip
@pytest.mark.parametrize("token", [None, "wrong-token", SECRETS["ASSISTANT_UI_PASSWORD"]])
def test_the_api_answers_no_call_without_a_valid_token(guarded, method, path, body, token):
    response = _call(guarded, method, path, token, **body)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == 401 and "Authorization: Bearer" in error["message"]
    assert not (guarded["corpus"] / "cranes.md").exists()


def test_a_reader_token_reads_but_cannot_change_the_corpus(guarded):
    from openai import OpenAI

    reader = OpenAI(
        base_url=guarded["url"] + "/v1", api_key=SECRETS["ASSISTANT_API_TOKEN"], max_retries=0, timeout=60
    )
    reply = reader.chat.completions.create(model="assistant", messages=[{"role": "user", "content": GENEVA}])
    assert "30%" in (reply.choices[0].message.content or "")
    token = SECRETS["ASSISTANT_API_TOKEN"]
    assert _call(guarded, "POST", "/v1/retrieve", token, json={"query": "Geneva"}).json()["passages"]
    before = sorted(p.name for p in guarded["corpus"].iterdir())
    listed = _call(guarded, "GET", "/v1/documents", token).json()["documents"]
    assert len(listed) == len(list(CORPUS.glob("*.md")))
    for method, path, body in (
        ("POST", "/v1/documents", _upload()),
        ("DELETE", f"/v1/documents/{listed[0]['doc_id']}", {}),
    ):
        response = _call(guarded, method, path, token, **body)
        assert response.status_code == 403, response.text
        assert "ASSISTANT_EDITOR_TOKEN" in response.json()["error"]["message"]
    assert sorted(p.name for p in guarded["corpus"].iterdir()) == before


def test_the_editor_token_adds_and_removes_articles(guarded):
    token = SECRETS["ASSISTANT_EDITOR_TOKEN"]
    added = _call(guarded, "POST", "/v1/documents", token, **_upload())
    assert added.status_code == 200 and added.json()["added"] == ["cranes"], added.text
    passages = _call(guarded, "POST", "/v1/retrieve", token, json={"query": "harbour cranes Valdoria"})
    assert passages.json()["passages"][0]["doc_id"] == "cranes"
    removed = _call(guarded, "DELETE", "/v1/documents/cranes", token)
    assert removed.status_code == 200 and removed.json()["removed"] == ["cranes"], removed.text
    assert not (guarded["corpus"] / "cranes.md").exists()


def test_the_chat_page_needs_a_login_and_has_no_editing(guarded):
    page = httpx.get(guarded["url"] + "/", timeout=30)
    assert '"auth_required":true' in page.text.replace(" ", "") and "Ask about the articles" not in page.text
    for path in ("/config", "/edit/config"):  # what the page is made of, only after a login
        assert httpx.get(guarded["url"] + path, timeout=30).status_code == 401
    with pytest.raises(Exception, match="(?i)login|auth|401|config"):
        _gradio(guarded["url"])
    with pytest.raises(Exception, match="(?i)login|auth|401|incorrect|credentials"):
        _gradio(guarded["url"], ("reader", "not-the-password"))
    for login in (READER, EDITOR):  # an editor may read too
        client = _gradio(guarded["url"], login)
        job = client.submit(GENEVA, api_name="/chat")
        job.result(timeout=120)
        assert "30%" in job.outputs()[-1][0]
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert "/chat" in endpoints and not {"/upload", "/remove", "/add_link"} & set(endpoints)


def test_the_editor_page_takes_only_the_editor_login(guarded, tmp_path):
    from gradio_client import handle_file

    with pytest.raises(Exception, match="(?i)login|auth|401|incorrect|credentials"):
        _gradio(guarded["url"] + "/edit/", READER)
    editor = _gradio(guarded["url"] + "/edit/", EDITOR)
    article = tmp_path / "cranes.md"
    article.write_text(ARTICLE)
    outcome = editor.predict([handle_file(str(article))], api_name="/upload")
    assert "added 1," in outcome, outcome
    reader = _gradio(guarded["url"], READER)
    job = reader.submit("Who made the harbour cranes the port of Valdoria ordered?", api_name="/chat")
    job.result(timeout=120)
    assert "Kestrel Works" in job.outputs()[-1][0]
    assert "removed" in editor.predict("cranes", api_name="/remove").lower()
    assert not (guarded["corpus"] / "cranes.md").exists()


def _serve_fails(tmp_path, *options: str, **env: str) -> str:
    command = [
        str(BIN),
        "serve",
        "--llm",
        "extractive",
        "--corpus",
        str(CORPUS),
        "--index",
        str(tmp_path / "index"),
    ]
    done = subprocess.run(
        [*command, *options], capture_output=True, text=True, env=child_env(**env), timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "index").exists()  # refused before any work
    return done.stderr


def test_serve_refuses_an_open_server_beyond_this_machine_and_half_a_login(tmp_path):
    said = _serve_fails(tmp_path, "--host", "127.0.0.2")
    assert "refusing to serve on 127.0.0.2 without a login" in said and "--no-auth" in said
    tokens_only = _serve_fails(tmp_path, "--host", "127.0.0.2", ASSISTANT_API_TOKEN="t0ken-only")
    assert "ASSISTANT_UI_USER" in tokens_only  # the page would still be open to all
    half = _serve_fails(tmp_path, ASSISTANT_EDITOR_USER="editor")
    assert "ASSISTANT_EDITOR_USER is set but ASSISTANT_EDITOR_PASSWORD is not" in half
    bad = _serve_fails(tmp_path, ASSISTANT_NO_AUTH="perhaps")
    assert "no_auth" in bad and "perhaps" in bad


def test_an_open_server_beyond_this_machine_reads_but_never_edits(tmp_path):
    with serving(tmp_path, "--llm", "extractive", "--no-auth", host="127.0.0.2") as open_server:
        reply = _call(open_server, "POST", "/v1/chat/completions", **_chat())
        assert reply.status_code == 200 and "30%" in reply.json()["choices"][0]["message"]["content"]
        refused = _call(open_server, "POST", "/v1/documents", **_upload())
        assert refused.status_code == 403 and "127.0.0.1" in refused.json()["error"]["message"]
        assert not (open_server["corpus"] / "cranes.md").exists()
        client = _gradio(open_server["url"])
        endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert "/chat" in endpoints and not {"/upload", "/remove", "/add_link"} & set(endpoints)
        page_config = httpx.get(open_server["url"] + "/config", timeout=30).text
        assert "articles can be added and removed only when it listens on 127.0.0.1" in page_config
