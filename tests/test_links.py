"""Adding articles by link and by feed, from a real HTTP server on 127.0.0.1 (tests/news_site.py): a feed of
five pages added with one `assistant add` command (dates, outlets, titles; two copies of one story
collapsed; a date range), the main text without navigation, ads or scripts, a second fetch updating its
file, every error path named in one line with nothing added, and the server's rules on private addresses
(the HTTP API and the chat of a real `assistant serve`)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from assistant import Assistant
from assistant.errors import AddressRefusedError, AssistantError, BadUrlError, FetchError
from assistant.indexing.fetch import AddressPolicy, fetch
from assistant.indexing.store import DocEntry
from assistant.models.model_server import free_port
from tests.conftest import BIN, child_env, serving
from tests.news_site import CERT, news_site

COPPER = "What record did copper prices reach on the London Metal Exchange?"
# Text of the pages' navigation, ads, scripts, styles, sidebars, share and comment boxes and footers.
NOT_ARTICLE = ("NAVIGATION", "ADVERT", "TRACKER-SCRIPT", "STYLE-TEXT", "COOKIE", "RELATED", "PROMO",
               "SIDEBAR", "SHARE-TEXT", "COMMENT-TEXT", "FOOTER")  # fmt: skip


@pytest.fixture(scope="module")
def site():
    with news_site() as running:
        yield running


def _assistant(root: Path, max_bytes: int | None = None, timeout: float | None = None) -> Assistant:
    return Assistant(
        corpus_dir=root / "corpus", index_dir=root / "index", llm="extractive",
        fetch_max_bytes=max_bytes, fetch_timeout=timeout,
    )  # fmt: skip


def _by_url(assistant: Assistant) -> dict[str, tuple[str, DocEntry]]:
    """url path -> (doc_id, DocEntry) for the corpus' fetched articles."""
    out = {}
    for doc_id, entry in assistant.articles().items():
        text = (assistant.settings.corpus_dir / f"{doc_id}.md").read_text()
        url = re.search(r"^url: (\S+)$", text, re.MULTILINE)
        assert url, text[:300]
        out[url.group(1).split(":", 2)[2].split("/", 1)[1]] = (doc_id, entry)
    return out


def _cli_add(url: str, root: Path) -> subprocess.CompletedProcess:
    """`assistant add URL` in a process of its own, over root/corpus and root/index."""
    return subprocess.run(
        [str(BIN), "add", url, "--corpus", str(root / "corpus"), "--index", str(root / "index")],
        capture_output=True, text=True, env=child_env(), timeout=300,
    )  # fmt: skip


def test_a_feed_is_added_by_one_command_dated_sourced_copies_collapsed_a_change_timelined(site, tmp_path):
    done = _cli_add(site.url("/feed.xml"), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("fetched: ") == 6 and "added 6," in done.stdout, done.stdout
    assert "copies of one story" in done.stderr, done.stderr
    assistant = _assistant(tmp_path)
    articles = _by_url(assistant)
    assert len(articles) == 6 and len(list((tmp_path / "corpus").iterdir())) == 6
    expected = {  # path: (title, date, outlet, author): the page's own first, else the feed's
        "2025/06/ports-reopen.html": (
            "Ports reopen after a twelve-day strike",
            "2025-06-03",
            "Harbour Gazette",
            "Mira Osei",
        ),
        "2025/06/freight-rates.html": (
            "Freight rates from Shanghai climb for a third week",
            "2025-06-10",
            "Example Wire",
            "Ann Lee",
        ),
        "wire/copper-record.html": (
            "Copper hits a record as mine supply falters",
            "2025-06-05",
            "Metro Daily",
            "Tom Reyes",
        ),
        "markets/copper-surges.html": (
            "Copper surges to an all-time high",
            "2025-06-06",
            "Coastal Times",
            None,
        ),
        "2025/06/rice-harvest.html": (
            "Rice harvest falls short in the delta",
            "2025-06-18",
            "Harbour Gazette",
            "Lena Park",
        ),
        "2025/06/freight-rates-ease.html": (
            "Freight rates from Shanghai ease as the rush fades",
            "2025-06-24",
            "Harbour Gazette",
            "Mira Osei",
        ),
    }
    for path, (doc_id, entry) in articles.items():
        assert (entry.title, entry.published, entry.outlet, entry.author) == expected[path], path
        text = (tmp_path / "corpus" / f"{doc_id}.md").read_text()
        assert not [marker for marker in NOT_ARTICLE if marker in text], (path, text)
    assert articles["2025/06/ports-reopen.html"][0].startswith("ports-reopen-after-a-twelve-day-strike-")

    # The two copies of the copper story: the earlier one is shown, naming the other.
    record, surges = articles["wire/copper-record.html"][0], articles["markets/copper-surges.html"][0]
    assert assistant.articles()[surges].copy_of == record
    passages = assistant.retrieve(COPPER, k=5)
    copper = [p for p in passages if p.doc_id in (record, surges)]
    assert copper and {p.doc_id for p in copper} == {record} and copper[0].also_in == (surges,)
    answer = assistant.ask(COPPER)
    assert "11,200" in answer.text and answer.citations[0].also_in == (surges,)

    # A date range over the fetched dates.
    since = {p.published for p in assistant.retrieve("shipping ports freight rice copper", k=10,
                                                     since="2025-06-06")}  # fmt: skip
    assert since == {
        "2025-06-10",
        "2025-06-18",
        "2025-06-24",
    }  # the copper copy of 06-06 is not shown, its original is older

    # How the freight rate changed: a dated table, one row a report, each its own sentence and citation.
    timeline = assistant.ask("How did container freight rates from Shanghai change?")
    assert [(r.published, r.outlet) for r in timeline.timeline] == [
        ("2025-06-10", "Example Wire"),
        ("2025-06-24", "Harbour Gazette"),
    ], timeline.text
    assert "rose 40%" in timeline.timeline[0].text and "fell 15%" in timeline.timeline[1].text
    assert [c.published for c in timeline.citations] == ["2025-06-10", "2025-06-24"]

    # Fetched again: the same files, updated in place (nothing changed, so nothing is indexed again).
    again = assistant.add_url(site.url("/feed.xml"))
    assert sorted(again.fetched) == sorted(d for d, _ in articles.values()) and len(again.unchanged) == 6
    assert len(list((tmp_path / "corpus").iterdir())) == 6


def test_a_second_fetch_of_a_page_updates_its_file_and_another_page_never_overwrites_it(site, tmp_path):
    body = "<p>" + "Harbour cranes were repainted in blue and white over the winter months. " * 6 + "</p>"
    site.pages["/live.html"] = (
        f"<html><head><title>Cranes</title></head><body><h1>Cranes repainted</h1>{body}"
    )
    assistant = _assistant(tmp_path)
    first = assistant.add_url(site.url("/live.html"))
    [doc_id] = first.fetched
    assert first.added == [doc_id] and doc_id.startswith("cranes-repainted-")
    site.pages["/live.html"] = site.pages["/live.html"].replace("Cranes repainted", "Cranes repainted again")
    second = assistant.add_url(site.url("/live.html"))
    assert second.fetched == [doc_id] and second.updated == [doc_id]  # the same file, a new headline
    assert "# Cranes repainted again" in (tmp_path / "corpus" / f"{doc_id}.md").read_text()
    site.pages["/other.html"] = site.pages["/live.html"].replace("blue and white", "green and grey")
    other = assistant.add_url(site.url("/other.html"))  # the same headline at another URL: its own file
    assert other.fetched != [doc_id] and other.added == other.fetched
    assert len(list((tmp_path / "corpus").glob("*.md"))) == 2


def test_an_atom_feed_item_that_fails_is_named_and_the_others_are_added(site, tmp_path):
    report = _assistant(tmp_path).add_url(site.url("/atom.xml"))
    [doc_id] = report.fetched
    entry = _assistant(tmp_path).articles()[doc_id]
    assert (entry.published, entry.outlet, entry.author) == ("2025-06-19", "Delta Farm Notes", "Lena Park")
    [(item, reason)] = report.skipped.items()
    assert item.endswith("/taken-down.html") and "the server answered 404 Not Found" in reason


@pytest.mark.parametrize(
    ("path", "says", "error"),
    [
        ("/missing.html", "the server answered 404 Not Found", FetchError),
        ("/big", "the answer is 300,0", FetchError),  # Content-Length over the limit: refused unread
        ("/big-unsized", "the answer is over the limit of 100,000 bytes", FetchError),
        (
            "/data.json",
            "neither an article page nor an RSS or Atom feed (it is application/json)",
            FetchError,
        ),
        ("/sitemap.xml", "(it is XML, but not RSS or Atom)", FetchError),
        ("/menu-only.html", "no article text found on the page", FetchError),
        ("/entities.xml", "the feed declares XML entities", FetchError),
        ("/loop", "more than 5 redirects", FetchError),
        ("/slow?seconds=4", "no complete answer within 1.5 s", FetchError),
        ("/drip", "no complete answer within 1.5 s", FetchError),  # the deadline holds for the whole body
        (
            "/redirect?to=ftp://127.0.0.1/x",
            "only http:// and https:// links can be added, not ftp:",
            BadUrlError,
        ),
    ],
)
def test_a_link_that_cannot_be_used_is_named_and_nothing_is_added(site, tmp_path, path, says, error):
    assistant = _assistant(tmp_path, max_bytes=100_000, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(error) as raised:
        assistant.add_url(site.url(path))
    assert time.monotonic() - started < 3.5  # within the 1.5 s deadline, however the server drips
    message = str(raised.value)
    assert says in message and "\n" not in message and "Traceback" not in message, message
    assert not (tmp_path / "corpus").exists() or not list((tmp_path / "corpus").iterdir())


def test_a_bad_scheme_or_an_unreachable_host_is_named(tmp_path):
    assistant = _assistant(tmp_path)
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "javascript:alert(1)", "127.0.0.1/feed.xml",
                "http://127.0.0.1:99999/", "http://user:secret@127.0.0.1/"):  # fmt: skip
        with pytest.raises(BadUrlError):
            assistant.add_url(url)
    port = free_port()  # nothing listens there
    with pytest.raises(FetchError, match=rf"127.0.0.1:{port}/: cannot connect \(Connection refused\)"):
        assistant.add_url(f"http://127.0.0.1:{port}/")


def test_the_servers_policy_refuses_private_addresses_and_each_redirect_is_checked(site):
    """From the server, loopback, private and link-local addresses are refused unless allowed, for the
    link and for every hop it redirects to: a redirect from an allowed address to another is refused."""
    with news_site("127.0.0.2") as elsewhere:  # a second loopback address: not 127.0.0.1
        elsewhere.pages["/page.html"] = "<html><body><p>" + "Quay news. " * 40 + "</p></body></html>"
        hop = site.url("/redirect?to=" + elsewhere.url("/page.html"))
        server = AddressPolicy()
        with pytest.raises(AddressRefusedError, match=r"127.0.0.1 is a loopback address; a server fetches"):
            fetch(site.url("/feed.xml"), server, 5, 100_000)
        with pytest.raises(AddressRefusedError, match="localhost \\(127.0.0.1\\) is a loopback address"):
            fetch(site.url("/feed.xml").replace("127.0.0.1", "localhost"), server, 5, 100_000)
        only_this = AddressPolicy.from_setting("127.0.0.1")
        assert fetch(site.url("/feed.xml"), only_this, 5, 100_000).content_type == "application/rss+xml"
        with pytest.raises(AddressRefusedError, match="127.0.0.2 is a loopback address"):
            fetch(hop, only_this, 5, 100_000)
        assert "/page.html" not in elsewhere.requests  # refused before connecting
        for private in ("http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/"):
            with pytest.raises(AddressRefusedError, match="a (private|link-local|loopback) address"):
                fetch(site.url("/redirect?to=" + private), only_this, 5, 100_000)
        # Allowed by the setting (or from the CLI and the Python API), the same redirect is followed.
        assert b"Quay news" in fetch(hop, AddressPolicy.from_setting("1"), 5, 100_000).body
        assert b"Quay news" in fetch(hop, AddressPolicy.from_setting("127.0.0.0/8"), 5, 100_000).body
    with pytest.raises(AssistantError, match="'intranet' is not an address or a network"):
        AddressPolicy.from_setting("10.0.0.0/8, intranet")


def test_a_host_whose_address_changes_after_the_check_is_fetched_from_the_checked_address(site, monkeypatch):
    """DNS rebinding: the name resolves to an allowed address when checked, to another one after. The
    connection goes to the address that was checked, never to a second answer. (No DNS server here: the
    resolver is replaced for a made-up name; both servers are real.)"""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "127.0.0.2", "127.0.0.2", "127.0.0.2"])

    def rebinding(host: object, port: object, *args: object, **kwargs: object) -> list:
        if host != "news.test":
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    port = int(site.base.rsplit(":", 1)[1])
    with news_site("127.0.0.2", port) as rebound:  # the same port on the address it rebinds to
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        fetched = fetch(f"http://news.test:{port}/2025/06/rice-harvest.html",
                        AddressPolicy.from_setting("127.0.0.1"), 5, 100_000)  # fmt: skip
        assert b"Mekong delta" in fetched.body and rebound.requests == []


def test_https_is_verified_for_the_host_name_while_connecting_to_the_checked_address(monkeypatch):
    with news_site(tls=True) as secure:
        page = secure.url("/2025/06/rice-harvest.html")
        assert page.startswith("https://localhost:")
        with pytest.raises(FetchError, match="the secure connection failed .*CERTIFICATE_VERIFY_FAILED"):
            fetch(
                page, AddressPolicy.from_setting("127.0.0.1"), 5, 100_000
            )  # a certificate nobody vouches for
        monkeypatch.setenv("SSL_CERT_FILE", str(CERT))  # now trusted: verified for the name localhost
        assert b"Mekong delta" in fetch(page, AddressPolicy.from_setting("127.0.0.1"), 5, 100_000).body


def test_the_cli_names_a_bad_link_in_one_line(site, tmp_path):
    done = _cli_add(site.url("/missing.html"), tmp_path)
    assert done.returncode == 1 and done.stdout == "", done.stdout
    assert done.stderr == f"error: {site.url('/missing.html')}: the server answered 404 Not Found\n"


def test_the_http_api_and_the_chat_add_links_as_editors_from_allowed_addresses_only(site, tmp_path):
    from gradio_client import Client

    with serving(tmp_path / "closed", "--llm", "extractive") as closed:
        url = closed["url"] + "/v1/documents"
        refused = httpx.post(url, json={"url": site.url("/feed.xml")}, timeout=60)
        assert refused.status_code == 403 and "127.0.0.1 is a loopback address" in refused.text, refused.text
        assert httpx.post(url, json={"url": "file:///etc/passwd"}).status_code == 400
        wrong = httpx.post(url, json={"link": "x"})
        assert wrong.status_code == 400 and "url: Field required" in wrong.json()["error"]["message"]
        chat = Client(closed["url"], analytics_enabled=False, verbose=False)
        said = chat.predict(site.url("/feed.xml"), api_name="/add_link")
        assert said.startswith("⚠️") and "loopback address" in said, said
        assert len(list(closed["corpus"].iterdir())) == 5  # the seed articles only
    allow = {"ASSISTANT_ALLOW_PRIVATE_URLS": "127.0.0.1"}
    with serving(tmp_path / "open", "--llm", "extractive", **allow) as running:
        url = running["url"] + "/v1/documents"
        added = httpx.post(url, json={"url": site.url("/feed.xml")}, timeout=300)
        assert added.status_code == 200 and len(added.json()["fetched"]) == 6, added.text
        listed = {d["doc_id"]: d for d in httpx.get(url).json()["documents"]}
        copies = {d: e["copy_of"] for d, e in listed.items() if e["copy_of"]}
        [(surges, record)] = copies.items()
        found = httpx.post(running["url"] + "/v1/retrieve", json={"query": COPPER, "k": 3}).json()["passages"]
        assert found[0]["doc_id"] == record and found[0]["also_in"] == [surges]
        body = {"model": "assistant", "messages": [{"role": "user", "content": COPPER}]}
        reply = httpx.post(running["url"] + "/v1/chat/completions", json=body, timeout=60).json()
        assert reply["citations"][0]["also_in"] == [surges]
        for link, status, says in (
            (site.url("/missing.html"), 502, "the server answered 404"),
            (f"http://127.0.0.1:{free_port()}/", 502, "cannot connect"),
            (site.url("/data.json"), 502, "neither an article page nor an RSS or Atom feed"),
            (site.url("/redirect?to=http://127.0.0.2:9/x"), 403, "127.0.0.2 is a loopback address"),
        ):
            response = httpx.post(url, json={"url": link}, timeout=60)
            assert response.status_code == status and says in response.json()["error"]["message"], (
                response.text
            )
        chat = Client(running["url"], analytics_enabled=False, verbose=False)
        said = chat.predict(site.url("/2025/06/ports-reopen.html"), api_name="/add_link")
        assert "unchanged 11" in said and "fetched: ports-reopen-after" in said, said
        job = chat.submit(COPPER, "", "", api_name="/chat")
        job.result(timeout=120)
        panel = job.outputs()[-1][1]
        assert "also in: Copper surges to an all-time high (Coastal Times)" in panel, panel
    assert "Traceback" not in running["log"].read_text() + closed["log"].read_text()
