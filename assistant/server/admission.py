"""Many users, one model: the line of answers waiting for the model, bounded, and a per-client rate limit.

The chat and the HTTP API share one `Line`: at most `slots` answers are written at once (1 for the
embedded llama.cpp model; more for a model server that answers several requests at once), the others wait
in order and can say how many are ahead of them. Past `max_waiting` waiting answers a new one is refused
at once (`Busy`: the API's 503 with Retry-After, the chat's "busy, try again") rather than left hanging.
`RateLimit` counts each client's questions over the last minute (`TooMany`: the API's 429).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class Busy(Exception):
    """Too many answers already waiting: try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooMany(Busy):
    """This client asked more than its share over the last minute."""


class Ticket:
    """One answer's place in the line, from `Line.join()` until `leave()`."""

    def __init__(self, line: Line) -> None:
        self._line = line
        self.admitted = False
        self._started = 0.0

    def ahead(self) -> int:
        """How many answers are before this one: waiting before it, and, once none wait, being written."""
        return self._line._ahead(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds for a slot; True once this answer may be written."""
        return self._line._wait(self, timeout)

    def leave(self) -> None:
        """Give the slot (or the place in the line) back; safe to call more than once."""
        self._line._leave(self)


class Line:
    def __init__(self, slots: int, max_waiting: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.slots, self.max_waiting = slots, max_waiting
        self._clock = clock
        self._waiting: deque[Ticket] = deque()
        self._running: set[Ticket] = set()
        self._changed = threading.Condition()
        self._mean_answer = 5.0  # seconds per answer, moving average (for Retry-After)

    def join(self) -> Ticket:
        """A place in the line, or Busy when `max_waiting` answers are already waiting."""
        with self._changed:
            if len(self._waiting) >= self.max_waiting and len(self._running) >= self.slots:
                raise Busy(
                    f"busy: {len(self._waiting)} answers are waiting for the model already; try again in a "
                    "moment",
                    self._retry_after(len(self._waiting)),
                )
            ticket = Ticket(self)
            self._waiting.append(ticket)
            self._promote()
            return ticket

    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def answering(self) -> int:
        with self._changed:
            return len(self._running)

    def _retry_after(self, waiting: int) -> int:
        return max(1, math.ceil(self._mean_answer * (waiting + 1) / self.slots))

    def _promote(self) -> None:
        while self._waiting and len(self._running) < self.slots:
            ticket = self._waiting.popleft()
            ticket.admitted, ticket._started = True, self._clock()
            self._running.add(ticket)
        self._changed.notify_all()

    def _ahead(self, ticket: Ticket) -> int:
        with self._changed:
            if ticket.admitted:
                return 0
            try:
                return self._waiting.index(ticket) + (len(self._running) >= self.slots) * len(self._running)
            except ValueError:
                return 0

    def _wait(self, ticket: Ticket, timeout: float | None) -> bool:
        with self._changed:
            self._changed.wait_for(lambda: ticket.admitted or ticket not in self._waiting, timeout)
            return ticket.admitted

    def _leave(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket in self._running:
                self._running.discard(ticket)
                took = self._clock() - ticket._started
                self._mean_answer = 0.8 * self._mean_answer + 0.2 * took
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            self._promote()


class RateLimit:
    """At most `per_minute` questions from one client over any 60 seconds (0: no limit)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Count a question from `client`, or raise TooMany (counting nothing) when it is over its share."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        with self._lock:
            for key in [k for k, times in self._asked.items() if times[-1] <= now - 60]:
                del self._asked[key]  # clients quiet for a minute are forgotten
            times = self._asked.setdefault(client, deque())
            while times and times[0] <= now - 60:
                times.popleft()
            if len(times) >= self.per_minute:
                wait = max(1, math.ceil(times[0] + 60 - now))
                raise TooMany(
                    f"too many questions: at most {self.per_minute} a minute from one address "
                    f"(ASSISTANT_RATE_LIMIT); try again in {wait} s",
                    wait,
                )
            times.append(now)


class Gate:
    """What every question passes on its way to the model: the client's rate, then a place in the line."""

    def __init__(self, slots: int, max_waiting: int, per_minute: int) -> None:
        self.line = Line(slots, max_waiting)
        self.rate = RateLimit(per_minute)

    def admit(self, client: str) -> Ticket:
        """A place in the line for this client's question, or TooMany / Busy."""
        self.rate.check(client)
        return self.line.join()
