"""Fetching a link, only when a user asks, and safely: `http`/`https` only, every address the host resolves
to checked before connecting to exactly that address (a DNS answer that changes between the check and the
connection cannot lead elsewhere), at most MAX_REDIRECTS redirects with each hop checked again, a deadline
for the whole response and a bound on its size.

Which addresses may be fetched is an `AddressPolicy`: public ones always; private, loopback, link-local and
other non-public ones only as the policy allows. The CLI and the Python API (the machine's own user) allow
every address; the server (the chat, the HTTP API) allows only those ASSISTANT_ALLOW_PRIVATE_URLS names.
No proxy is used, and nothing is sent but a plain GET (no cookies, no credentials).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass

from ..errors import AddressRefusedError, AssistantError, BadUrlError, FetchError

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
MAX_REDIRECTS = 5
CONNECT_SECONDS = 10.0  # at most, to connect to one address (less when the deadline is nearer)
USER_AGENT = "assistant/0.1 (news Q&A; fetches a link when a user adds it)"
ACCEPT = (
    "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.5"
)
_REDIRECTS = (301, 302, 303, 307, 308)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses (private, loopback, link-local, shared, reserved) a link may lead to:
    every one (`allow_all`), or those inside `networks`. Public addresses are always allowed."""

    allow_all: bool = False
    networks: tuple[Network, ...] = ()

    @classmethod
    def from_setting(cls, text: str) -> AddressPolicy:
        """ASSISTANT_ALLOW_PRIVATE_URLS: "" or "0" none, "1" every one, else addresses and networks separated
        by commas ("127.0.0.1,10.0.0.0/8"); AssistantError naming what is neither."""
        text = text.strip()
        if text.lower() in ("", "0", "false", "no", "off"):
            return cls()
        if text.lower() in ("1", "true", "yes", "on", "all"):
            return cls(allow_all=True)
        networks = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise AssistantError(
                    f"ASSISTANT_ALLOW_PRIVATE_URLS: {part!r} is not an address or a network (e.g. "
                    "10.0.0.0/8); give 1 to allow every private address"
                ) from None
        return cls(networks=tuple(networks))

    def refuses(self, address: str) -> str | None:
        """Why the address may not be fetched ("a loopback address", ...), or None when it may."""
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1
            ip = ip.ipv4_mapped
        if ip.is_global and not ip.is_multicast:
            return None
        if self.allow_all or any(ip.version == net.version and ip in net for net in self.networks):
            return None
        kind = (
            "a loopback" if ip.is_loopback
            else "a link-local" if ip.is_link_local
            else "a private" if ip.is_private
            else "a non-public"
        )  # fmt: skip
        return f"{kind} address"


ANY_ADDRESS = AddressPolicy(allow_all=True)


@dataclass(frozen=True)
class Response:
    url: str  # where it came from, after redirects
    content_type: str  # the media type, lower case, without parameters ("" when the server sent none)
    charset: str | None
    body: bytes


def check_url(url: str) -> urllib.parse.SplitResult:
    """The parts of an http(s) URL; BadUrlError for another scheme, no host, a bad port or credentials."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        scheme = f"{parts.scheme}:" if parts.scheme else "a link without a scheme"
        raise BadUrlError(f"{url!r}: only http:// and https:// links can be added, not {scheme}")
    try:
        parts.port  # noqa: B018  (raises for a port that is not a number in range)
    except ValueError:
        raise BadUrlError(f"{url!r}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise BadUrlError(f"{url!r}: the link names no host")
    if parts.username is not None or parts.password is not None:
        raise BadUrlError(f"{url!r}: a link with a user name or password in it is not fetched")
    return parts


def fetch(url: str, addresses: AddressPolicy, timeout: float, max_bytes: int) -> Response:
    """GET the URL, following at most MAX_REDIRECTS redirects (each checked as the first link was), within
    `timeout` seconds in all and `max_bytes` of body. Raises BadUrlError, AddressRefusedError, FetchError."""
    deadline = time.monotonic() + timeout
    current = url.strip()
    for _ in range(MAX_REDIRECTS + 1):
        parts = check_url(current)
        status, reason, headers, body = _get(current, parts, addresses, deadline, timeout, max_bytes)
        if status in _REDIRECTS:
            location = headers.get("location")
            if not location:
                raise FetchError(f"{current}: the server answered {status} (a redirect) without saying where")
            current = urllib.parse.urljoin(current, location.strip())
            log.debug("redirected to %s", current)
            continue
        if status >= 400 or status < 200:
            raise FetchError(f"{current}: the server answered {status} {reason}".rstrip())
        media, _, params = headers.get("content-type", "").partition(";")
        charset = next(
            (v.strip().strip("\"'") for k, _, v in (p.partition("=") for p in params.split(";"))
             if k.strip().lower() == "charset" and v.strip()),
            None,
        )  # fmt: skip
        return Response(current, media.strip().lower(), charset, body)
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _resolve(url: str, host: str, port: int, addresses: AddressPolicy) -> list[str]:
    """Every address the host has, each allowed by the policy (AddressRefusedError naming the first one
    that is not)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"{url}: cannot find the host {host} ({exc.strerror})") from None
    except UnicodeError:
        raise BadUrlError(f"{url!r}: {host!r} is not a host name") from None
    ips = list(dict.fromkeys(str(info[4][0]) for info in found))
    for ip in ips:
        why = addresses.refuses(ip)
        if why:
            named = host if host == ip else f"{host} ({ip})"
            raise AddressRefusedError(
                f"{url}: {named} is {why}; a server fetches links only from public addresses unless "
                "ASSISTANT_ALLOW_PRIVATE_URLS allows it"
            )
    return ips


def _connect(url: str, ips: list[str], port: int, deadline: float) -> socket.socket:
    """A connection to the first of the checked addresses that answers."""
    last: OSError | None = None
    for ip in ips:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            return socket.create_connection((ip, port), timeout=min(CONNECT_SECONDS, left))
        except OSError as exc:
            last = exc
    if isinstance(last, TimeoutError | socket.timeout) or last is None:
        raise FetchError(f"{url}: no connection within the time allowed")
    raise FetchError(f"{url}: cannot connect ({last.strerror or last})")


def _get(
    url: str,
    parts: urllib.parse.SplitResult,
    addresses: AddressPolicy,
    deadline: float,
    timeout: float,
    max_bytes: int,
) -> tuple[int, str, dict[str, str], bytes]:
    """One request: (status, reason, headers with lower-case names, body; empty for a redirect)."""
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    ips = _resolve(url, host, port, addresses)
    sock = _connect(url, ips, port, deadline)
    # The deadline holds for the whole response, however slowly it trickles in: shut the socket then.
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, (sock,))
    watchdog.start()
    try:
        if https:
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        conn = (http.client.HTTPSConnection if https else http.client.HTTPConnection)(host, port)
        conn.sock = sock  # connected to the address that was checked, never looked up again
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        conn.request(
            "GET", target, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "identity"}
        )
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if response.status in _REDIRECTS:
            return response.status, response.reason, headers, b""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(_too_large(url, f"{int(length):,} bytes, over", max_bytes))
        body = bytearray()
        while block := response.read(min(65536, max_bytes + 1 - len(body))):
            body += block
            if len(body) > max_bytes:
                raise FetchError(_too_large(url, "over", max_bytes))
            if time.monotonic() > deadline:
                raise TimeoutError
        return response.status, response.reason, headers, bytes(body)
    except TimeoutError:
        raise FetchError(
            f"{url}: no complete answer within {timeout:g} s (ASSISTANT_FETCH_TIMEOUT)"
        ) from None
    except ssl.SSLError as exc:
        raise FetchError(f"{url}: the secure connection failed ({exc.reason or exc})") from None
    except (http.client.HTTPException, OSError) as exc:
        if time.monotonic() >= deadline:  # the watchdog shut the socket
            raise FetchError(
                f"{url}: no complete answer within {timeout:g} s (ASSISTANT_FETCH_TIMEOUT)"
            ) from None
        raise FetchError(
            f"{url}: the server's answer broke off or is not HTTP ({exc.__class__.__name__})"
        ) from None
    finally:
        watchdog.cancel()
        sock.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _too_large(url: str, size: str, max_bytes: int) -> str:
    return f"{url}: the answer is {size} the limit of {max_bytes:,} bytes (ASSISTANT_FETCH_MAX_BYTES)"
