"""A date range for retrieval (`since` / `until`): only articles published inside it are searched. An
undated article is left out by any range, and the answer says how many were."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import InvalidQuestionError
from ..indexing.article_meta import iso_date
from ..indexing.store import DocEntry


@dataclass(frozen=True)
class DateRange:
    since: str | None = None  # ISO dates, both ends included
    until: str | None = None

    @classmethod
    def of(cls, since: str | dt.date | None = None, until: str | dt.date | None = None) -> DateRange | None:
        """The range, or None when neither end is given; InvalidQuestionError for what is not a date or a
        range that ends before it starts."""
        ends: dict[str, str | None] = {}
        for name, value in (("since", since), ("until", until)):
            if value in (None, ""):
                ends[name] = None
                continue
            ends[name] = iso_date(value if isinstance(value, dt.date) else str(value).strip())
            if ends[name] is None or (isinstance(value, str) and len(value.strip()) != 10):
                raise InvalidQuestionError(f"{name}: {value!r} is not a date; give it as YYYY-MM-DD")
        if ends["since"] is None and ends["until"] is None:
            return None
        if ends["since"] and ends["until"] and ends["since"] > ends["until"]:
            raise InvalidQuestionError(f"since {ends['since']} is after until {ends['until']}")
        return cls(ends["since"], ends["until"])

    def holds(self, published: str | None) -> bool:
        return (
            published is not None
            and (self.since is None or published >= self.since)
            and (self.until is None or published <= self.until)
        )

    def doc_ids(self, documents: Mapping[str, DocEntry]) -> set[str]:
        """The articles published inside the range."""
        return {doc_id for doc_id, entry in documents.items() if self.holds(entry.published)}

    def note(self, documents: Mapping[str, DocEntry]) -> str:
        """What the range left out, for the reader: "Only articles published 2025-06-01 to 2025-06-30 were
        searched (3 of 8); 5 undated articles were left out." """
        inside = len(self.doc_ids(documents))
        span = (
            f"{self.since} to {self.until}" if self.since and self.until
            else f"since {self.since}" if self.since else f"until {self.until}"
        )  # fmt: skip
        searched = f"Only articles published {span} were searched ({inside} of {len(documents)})"
        return f"{searched}{_undated(documents)}."


def _undated(documents: Mapping[str, DocEntry]) -> str:
    """ "; 2 undated articles were left out" (any date filter leaves them out), or "" when none is."""
    undated = sum(1 for entry in documents.values() if entry.published is None)
    if not undated:
        return ""
    return f"; {undated} undated {'article was' if undated == 1 else 'articles were'} left out"


def month_of(day: str) -> str:
    """The month's name of an ISO date, as an article names it: "April" for 2026-04-30."""
    return dt.date.fromisoformat(day).strftime("%B")


def names_month(day: str, text: str) -> bool:
    """Whether text names the month of the ISO date `day` ("inflation was 3.6% in April")."""
    return bool(re.search(rf"\b{month_of(day)}\b", text))


_MONTHS = "january february march april may june july august september october november december".split()
# "in April 2026", "as of 9 September 2026", "on September 9, 2026": the time a question asks about.
_ASKED_TIME = re.compile(
    r"\b(?:in|as of|on|by|during|at the (?:start|end) of)\s+(?:(?P<day>\d{1,2})\s+)?(?P<month>"
    + "|".join(_MONTHS)
    + r")\s+(?:(?P<day2>\d{1,2}),?\s+)?(?P<year>(?:19|20)\d\d)\b",
    re.I,
)
# A report of a month's figure comes out after the month ("inflation rose to 3.8% in February", reported in
# March): an article this many days after the time asked about is searched too when it names the month.
REPORTED_LATER_DAYS = 45


@dataclass(frozen=True)
class AskedTime:
    """The time a question asks about ("What was the rate in April 2026?"): answered from the reports
    published by its end, and from later ones only where they name it."""

    until: str  # ISO date: the last day of the month (or the day) asked about
    label: str  # as the question puts it: "April 2026"

    @classmethod
    def of(cls, question: str) -> AskedTime | None:
        match = _ASKED_TIME.search(question)
        if not match:
            return None
        month = _MONTHS.index(match.group("month").lower()) + 1
        year = int(match.group("year"))
        day = match.group("day") or match.group("day2")
        try:
            if day:
                end = dt.date(year, month, int(day))
            else:
                end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        except ValueError:
            return None
        name = match.group("month").capitalize()
        return cls(end.isoformat(), f"{day} {name} {year}" if day else f"{name} {year}")

    @property
    def month(self) -> str:
        """The month's name, as a later report would name it ("April")."""
        return month_of(self.until)

    def doc_ids(self, documents: Mapping[str, DocEntry], text: Callable[[str], str]) -> set[str]:
        """The articles published by the time asked about, and those published soon after that name its
        month."""
        late = (dt.date.fromisoformat(self.until) + dt.timedelta(days=REPORTED_LATER_DAYS)).isoformat()
        out = set()
        for doc_id, entry in documents.items():
            if entry.published is None or entry.published > late:
                continue
            if entry.published <= self.until or names_month(self.until, text(doc_id)):
                out.add(doc_id)
        return out

    def note(self, searched: int, documents: Mapping[str, DocEntry]) -> str:
        return (
            f"The question asks about {self.label}: only articles published by {self.until}, and later ones "
            f"naming {self.month}, were searched ({searched} of {len(documents)})"
            f"{_undated(documents)}."
        )
