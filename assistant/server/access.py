"""Who may read and who may edit, in the chat and the HTTP API.

Reading is asking (the chat, /v1/chat/completions, /v1/retrieve) and looking at the corpus; editing is
adding and removing articles (the chat's upload and remove, POST and DELETE /v1/documents).

- The chat page asks for a login when ASSISTANT_UI_USER and ASSISTANT_UI_PASSWORD are set (the editor's
  login works there too). With ASSISTANT_EDITOR_USER and ASSISTANT_EDITOR_PASSWORD set, articles are added
  and removed only on the editor page, /edit, behind the editor's login; the chat page and its Gradio API
  then have no upload or remove at all.
- The HTTP API takes bearer tokens when ASSISTANT_API_TOKEN (reading) or ASSISTANT_EDITOR_TOKEN (editing and
  reading) is set: 401 without a valid one, 403 for a reader's token on an editing call. With no token set
  it answers clients on this machine only, or everyone when serve was started with --no-auth.
- Without editor credentials (an editor login or token) the corpus can be changed only when the server
  listens on 127.0.0.1, by whoever may read.
- `assistant serve` will not listen beyond 127.0.0.1 without a reader login unless --no-auth says so.
- Adding a link is editing. The server fetches links only from public addresses, not from private,
  loopback or link-local ones (its own machine, its network) unless ASSISTANT_ALLOW_PRIVATE_URLS allows them.

Secrets are compared in constant time and never logged (Settings leaves them out of its repr).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Settings
from ..errors import AssistantError
from ..indexing.fetch import AddressPolicy

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_local(host: str) -> bool:
    """Whether an address is this machine's 127.0.0.1 (or ::1): a server listening there, or a client."""
    return host in LOCAL_HOSTS


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Denied(Exception):
    """A request the rules refuse: HTTP 401 (no valid credentials) or 403 (not allowed with them)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Access:
    settings: Settings

    @property
    def reader_login(self) -> tuple[str, str] | None:
        s = self.settings
        return (s.ui_user, s.ui_password) if s.ui_user and s.ui_password else None

    @property
    def editor_login(self) -> tuple[str, str] | None:
        s = self.settings
        return (s.editor_user, s.editor_password) if s.editor_user and s.editor_password else None

    @property
    def tokens(self) -> bool:
        return bool(self.settings.api_token or self.settings.editor_token)

    @property
    def editing_open(self) -> bool:
        """Whether whoever may read may also edit: no editor credentials, and a server on 127.0.0.1."""
        has_editors = self.editor_login is not None or bool(self.settings.editor_token)
        return not has_editors and is_local(self.settings.host)

    @property
    def link_addresses(self) -> AddressPolicy:
        """The addresses a link added through the server may lead to (AssistantError for a setting that
        names no address)."""
        return AddressPolicy.from_setting(self.settings.allow_private_urls)

    def check(self) -> None:
        """Refuse a configuration that would not do what its user means (serve runs this first)."""
        s = self.settings
        self.link_addresses  # noqa: B018  (a setting that names no address is refused now)
        for user, password, name in (
            (s.ui_user, s.ui_password, "UI"),
            (s.editor_user, s.editor_password, "EDITOR"),
        ):
            if bool(user) != bool(password):
                given, missing = ("USER", "PASSWORD") if user else ("PASSWORD", "USER")
                raise AssistantError(
                    f"ASSISTANT_{name}_{given} is set but ASSISTANT_{name}_{missing} is not: "
                    "set both, or neither"
                )
        if not is_local(s.host) and self.reader_login is None and not s.no_auth:
            raise AssistantError(
                f"refusing to serve on {s.host} without a login: anyone who can reach it could read the "
                "articles and ask. Set ASSISTANT_UI_USER and ASSISTANT_UI_PASSWORD (and ASSISTANT_API_TOKEN "
                "for the HTTP API), or pass --no-auth if an open server is meant"
            )

    def page_auth(self) -> Callable[[str, str], bool] | None:
        """Gradio's auth for the chat page: a reader's or an editor's login; None (open) without a reader
        login."""
        if self.reader_login is None:
            return None
        return _login_check([self.reader_login, self.editor_login])

    def editor_auth(self) -> Callable[[str, str], bool] | None:
        """Gradio's auth for the editor page; None when there is no editor login (and no editor page)."""
        return None if self.editor_login is None else _login_check([self.editor_login])

    def editing_note(self) -> str:
        """What the chat page's corpus tab says when it cannot change the corpus."""
        if self.editor_login is not None:
            return "Editors add and remove articles on the [editor page](/edit/)."
        if self.settings.editor_token:
            return "Editors add and remove articles through the HTTP API, with the editor token."
        return (
            f"This server listens on {self.settings.host}: articles can be added and removed only when it "
            "listens on 127.0.0.1, or by an editor (set ASSISTANT_EDITOR_USER and ASSISTANT_EDITOR_PASSWORD)."
        )

    def api_role(self, client: str, authorization: str, editing: bool) -> str:
        """ "reader" or "editor" for an HTTP API request, or Denied. A token sent to a server that has none
        is ignored (the openai client always sends one)."""
        s = self.settings
        scheme, _, given = authorization.partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""
        if self.tokens:
            if s.editor_token and given and same_secret(given, s.editor_token):
                return "editor"
            if not (s.api_token and given and same_secret(given, s.api_token)):
                raise Denied(
                    401,
                    "this API needs a valid token: send 'Authorization: Bearer <token>' "
                    "(ASSISTANT_API_TOKEN to read, ASSISTANT_EDITOR_TOKEN to edit)",
                )
        elif not (is_local(client) or s.no_auth):
            raise Denied(
                403,
                "the HTTP API answers clients beyond this machine only with tokens (set ASSISTANT_API_TOKEN "
                "and ASSISTANT_EDITOR_TOKEN) or when serve is started with --no-auth",
            )
        if editing and not self.editing_open:
            if s.editor_token or self.editor_login is not None:
                raise Denied(403, "changing the corpus needs the editor token (ASSISTANT_EDITOR_TOKEN)")
            raise Denied(
                403,
                f"this server listens on {s.host}: the corpus can be changed only when it listens on "
                "127.0.0.1, or with the editor token (set ASSISTANT_EDITOR_TOKEN)",
            )
        return "editor" if editing else "reader"


def _login_check(logins: list[tuple[str, str] | None]) -> Callable[[str, str], bool]:
    accepted = [login for login in logins if login is not None]

    def check(user: str, password: str) -> bool:
        matches = [same_secret(user, u) & same_secret(password, p) for u, p in accepted]
        return any(matches)

    return check
