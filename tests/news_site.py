"""A real HTTP server on a loopback address serving the article pages and feeds of tests/fixtures/web (with
`{BASE}` in a feed replaced by the server's own address), pages a test sets (`pages`), and the misbehaving
answers the error paths need: redirects, a slow answer, a trickle, oversized bodies, a JSON document."""

from __future__ import annotations

import http.server
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WEB = Path(__file__).resolve().parent / "fixtures" / "web"
CERT = WEB.parent / "localhost-cert.pem"  # self-signed, for localhost, valid until 2126: tests only
BIG = 300_000  # bytes of /big and /big-unsized (the tests set a smaller limit)


class _Handler(http.server.BaseHTTPRequestHandler):
    site: NewsSite

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        site = self.site
        site.requests.append(self.path)
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path in site.pages:
            self._send(200, site.pages[path].encode(), "text/html; charset=utf-8")
        elif path == "/redirect":
            self._send(302, b"", "text/plain", Location=query["to"])
        elif path == "/loop":
            self._send(301, b"", "text/plain", Location="/loop")
        elif path == "/slow":
            time.sleep(float(query.get("seconds", "5")))
            self._send(200, b"<html><body><p>late</p></body></html>", "text/html")
        elif path == "/drip":  # the headers at once, then a byte every 0.2 s: no single read waits long
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/big":
            self._send(200, b"<html><body><p>" + b"word " * (BIG // 5) + b"</p></body></html>", "text/html")
        elif path == "/big-unsized":  # no Content-Length: the body ends when the connection closes
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"<html><body><p>" + b"word " * (BIG // 5))
            self.close_connection = True
        elif path == "/data.json":
            self._send(200, b'{"headline": "not a page"}', "application/json")
        else:
            file = (WEB / path.lstrip("/")).resolve()
            if not file.is_file() or WEB not in file.parents:
                self._send(404, b"<html><body><h1>Not found</h1></body></html>", "text/html")
                return
            body = file.read_bytes().replace(b"{BASE}", site.base.encode())
            kind = "text/html; charset=utf-8" if file.suffix == ".html" else "application/rss+xml"
            if file.name.startswith("sitemap"):
                kind = "application/xml"
            self._send(200, body, kind)


class NewsSite:
    def __init__(self, server: http.server.ThreadingHTTPServer) -> None:
        self.server = server
        host, port = server.server_address[:2]
        self.base = f"http://{host!s}:{port}"
        self.pages: dict[str, str] = {}
        self.requests: list[str] = []

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def news_site(host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> Iterator[NewsSite]:
    """The site, on `host` and `port` (by default a free one), until the block ends; with `tls`, over
    https with the self-signed certificate of tests/fixtures/localhost-cert.pem (for the name localhost)."""
    handler = type("Handler", (_Handler,), {})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(CERT, CERT.with_name("localhost-key.pem"))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    site = NewsSite(server)
    if tls:
        site.base = site.base.replace("http://", "https://").replace(host, "localhost")
    handler.site = site  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
