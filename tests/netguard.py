"""Fail any outbound connection or name lookup that is not for the loopback interface, and record who tried.

Installed in the pytest process by conftest, and in every Python child the tests start (the `assistant`
CLI, `serve`, the judge's llama_cpp.server) by tests/offline_site/sitecustomize.py, which conftest puts on
PYTHONPATH. Children record their attempts in the file named by NETGUARD_LOG, which the session reads.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

LOG_VARIABLE = "NETGUARD_LOG"
attempts: list[str] = []
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_getaddrinfo = socket.getaddrinfo
_original_gethostbyname = socket.gethostbyname
_original_gethostbyname_ex = socket.gethostbyname_ex
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "")
_to_file = False  # children record in the shared file; the test process in `attempts`


def _is_loopback(host: object) -> bool:
    if host is None or str(host).lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False  # a name that is not localhost would need DNS: not allowed either


def _refuse(what: str) -> ConnectionRefusedError:
    attempts.append(what)
    log = os.environ.get(LOG_VARIABLE)
    if log and _to_file:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {what}\n")
    return ConnectionRefusedError(f"network guard: {what} blocked (tests stay on 127.0.0.1)")


def _check(sock: socket.socket, address: Any) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
        raise _refuse(f"connection to {address!r}")


def _connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    return _original_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _original_connect_ex(self, address)


def _is_address(host: object) -> bool:
    try:
        ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return True


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """A name other than localhost needs DNS: refused. An address is not looked up (connect checks it)."""
    name = host.decode() if isinstance(host, bytes) else host
    if not _is_loopback(name) and not _is_address(name):
        raise _refuse(f"name lookup of {name!r}")
    return _original_getaddrinfo(host, *args, **kwargs)


def _gethostbyname(host: str) -> str:
    if not _is_loopback(host):
        raise _refuse(f"name lookup of {host!r}")
    return _original_gethostbyname(host)


def _gethostbyname_ex(host: str) -> Any:
    if not _is_loopback(host):
        raise _refuse(f"name lookup of {host!r}")
    return _original_gethostbyname_ex(host)


def install(child: bool = False) -> None:
    global _to_file
    _to_file = child
    socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex


def child_attempts() -> list[str]:
    """What the children started so far tried (from the shared log file)."""
    log = os.environ.get(LOG_VARIABLE)
    if not log or not os.path.exists(log):
        return []
    with open(log, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh if line.strip()]
