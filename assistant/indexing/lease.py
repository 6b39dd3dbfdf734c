"""One writer at a time on an index on a Chroma server, across processes and machines: a lease.

Chroma has no transactions and no compare-and-set, so the lease is Fischer's timed mutual exclusion over
one record, "lease" (holder, beat, ttl, since), in the index's state collection:
- **Taking it:** read the record; if it is free (released, or never written) or expired, write a claim
  naming this attempt, wait SETTLE seconds, and read it back: the claim that is still there has the lease,
  every other claimant goes back to waiting. Two claimants cannot both read their own claim back as long as
  a claimant's read-then-write takes less than SETTLE (a claim that took over BOUND < SETTLE is never
  trusted, and it waits with the others); the server answers each request in order (read-your-writes,
  measured on `chroma run`).
- **Expiry without shared clocks:** a waiter steals a lease only when it has seen the same (holder, beat) for
  `ttl` seconds of its own monotonic clock, so clocks of different machines never meet. A holder renews
  (beat + 1) every RENEW seconds from a thread, and writes only while its last renewal began less than
  ttl - MARGIN seconds ago: by then no waiter can have stolen it. A renewal counts only if it is back
  within that time too (a busy server answers a beat in up to seconds while it stores a batch). One that
  finds another holder, or comes too late, loses the lease for good: the next write raises IndexBusyError,
  and what was written so far is repaired by the next ingest (server_store.py).
- **Release:** the record is written free, so a waiter goes on at once; a holder that dies leaves it to
  expire (ttl seconds after its last beat).
Like any lease without fencing tokens, it assumes no process pauses longer than MARGIN between checking
the lease and a write landing on the server (docs/design.md, "A shared index on a Chroma server").
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..errors import AssistantError, IndexBusyError

if TYPE_CHECKING:
    from .server_store import ChromaServer

log = logging.getLogger(__name__)

RECORD = "lease"
TTL = 10.0  # seconds a lease lasts after its last beat, on the waiter's clock
RENEW = 2.0  # seconds between beats
MARGIN = 3.0  # a holder writes only while its last beat began less than TTL - MARGIN seconds ago
BOUND = 0.5  # the longest a claimant's read-then-write may take for its claim to count
SETTLE = 1.0  # seconds between writing a claim and reading it back (> BOUND)
POLL = 0.25  # seconds between looks at a held lease


class WriterLease:
    """The writer lease of one index on a Chroma server: `acquire`, `check` before every write, `release`."""

    def __init__(self, server: ChromaServer, ttl: float = TTL) -> None:
        self.server = server
        self.ttl = ttl
        self.name = f"{socket.gethostname()} pid {os.getpid()}"
        self.holder = ""  # this process's claim while it holds the lease
        self._began = 0.0  # when the last beat (or the claim) was sent, monotonic
        self._since = 0.0  # when the claim was made, for people (time.time())
        self._lost = ""  # why the lease was lost, once it was
        self._stop = threading.Event()
        self._beats: threading.Thread | None = None

    def acquire(self, wait: float) -> None:
        """Take the lease, waiting up to `wait` seconds for its holder (saying so once); IndexBusyError
        after that, with nothing changed."""
        deadline = time.monotonic() + wait
        seen: tuple[str, int] | None = None
        seen_at = 0.0
        told = False
        while True:
            began = time.monotonic()
            record = self.server.record(RECORD)
            held = record is not None and bool(record.get("holder"))
            if held:
                assert record is not None
                key = (str(record["holder"]), int(record.get("beat", 0)))
                if key != seen:  # a new holder or a new beat: its ttl counts from now
                    seen, seen_at = key, time.monotonic()
                held = time.monotonic() - seen_at < float(record.get("ttl", self.ttl))
            if not held and self._claim(began):
                self._beats = threading.Thread(target=self._beat, name="writer-lease", daemon=True)
                self._beats.start()
                return
            if time.monotonic() >= deadline:
                raise IndexBusyError(
                    f"another process{_holder(record)} is writing the index {self.server.where} and did not "
                    f"finish within {wait:g} s; nothing was changed: try again when it is done "
                    "(or wait longer: ASSISTANT_WRITE_WAIT)"
                )
            if not told:
                log.warning("another process%s is writing the index %s: waiting", _holder(record),
                            self.server.where)  # fmt: skip
                told = True
            time.sleep(POLL)

    def _claim(self, began: float) -> bool:
        """Write a claim and read it back after SETTLE: True when it held."""
        claim = f"{self.name} #{uuid.uuid4().hex[:12]}"
        sent, self._since = time.monotonic(), time.time()
        self.server.put({RECORD: self._record(claim, 0)})
        if time.monotonic() - began > BOUND:  # another claimant may have read its own back meanwhile
            log.info("claiming the writer lease took over %.1f s: not trusted, waiting", BOUND)
            return False
        time.sleep(SETTLE)
        record = self.server.record(RECORD)
        if record is None or record.get("holder") != claim:
            return False
        self.holder, self._began = claim, sent
        return True

    def _record(self, holder: str, beat: int) -> dict[str, Any]:
        return {"holder": holder, "name": self.name, "beat": beat, "ttl": self.ttl, "since": self._since}

    def _beat(self) -> None:
        """Renew every RENEW seconds, counted from when the last beat began, until released or lost. A beat
        the server answered slowly (behind a large upsert into a large index: 2-4 s at 900,000 rows) leaves
        less time to the next one, so two slow beats in a row do not let the lease lapse."""
        beat = 0
        pause = RENEW - (time.monotonic() - self._began)
        while not self._stop.wait(max(POLL, pause)):
            began = time.monotonic()
            if began - self._began > self.ttl - MARGIN:
                self._lose(f"it was not renewed for {began - self._began:.0f} s")
                return
            try:
                record = self.server.record(RECORD)
                if record is None or record.get("holder") != self.holder:
                    self._lose(f"another process{_holder(record)} took it")
                    return
                beat += 1
                self.server.put({RECORD: self._record(self.holder, beat)})
            except AssistantError as exc:  # the server is away: try again until the lease runs out
                log.warning("could not renew the writer lease: %s", exc)
                pause = RENEW / 2  # soon, but not in a burst of requests to a server that is down
                continue
            # The beat counts only if it landed while the last one still held: a waiter can have stolen the
            # lease no sooner than TTL after the last beat was sent.
            if time.monotonic() - self._began > self.ttl - MARGIN:
                self._lose(f"renewing it took {time.monotonic() - began:.1f} s")
                return
            self._began = began
            pause = RENEW - (time.monotonic() - began)

    def _lose(self, why: str) -> None:
        self._lost = why
        log.warning("lost the writer lease of the index %s: %s", self.server.where, why)

    def check(self) -> None:
        """Before every write: IndexBusyError if this process no longer holds the lease (or may not)."""
        late = time.monotonic() - self._began > self.ttl - MARGIN
        if self._lost or late or not self.holder:
            why = self._lost or ("it was not renewed in time" if self.holder else "it was never taken")
            raise IndexBusyError(
                f"this process lost its lease on writing the index {self.server.where} ({why}); the "
                "articles written so far are kept, the next `assistant ingest` completes the rest"
            )

    def release(self) -> None:
        """Let go (free the record if it is still this process's), and stop renewing."""
        self._stop.set()
        if self._beats is not None:
            self._beats.join(timeout=RENEW + 5)
        try:
            record = self.server.record(RECORD)
            if not self._lost and record is not None and record.get("holder") == self.holder:
                self.server.put({RECORD: self._record("", 0)})
        except AssistantError as exc:  # it expires by itself
            log.warning("could not release the writer lease (it expires in %.0f s): %s", self.ttl, exc)
        self.holder = ""


def _holder(record: dict[str, Any] | None) -> str:
    """ " (host pid N, for M s)" from the lease record, or ""."""
    if not record or not record.get("name"):
        return ""
    return f" ({record['name']}, for {max(0.0, time.time() - float(record.get('since', 0))):.0f} s)"
