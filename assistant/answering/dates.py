"""A date range for retrieval (`since` / `until`): only articles published inside it are searched. An
undated article is left out by any range, and the answer says how many were."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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
        undated = sum(1 for entry in documents.values() if entry.published is None)
        span = (
            f"{self.since} to {self.until}" if self.since and self.until
            else f"since {self.since}" if self.since else f"until {self.until}"
        )  # fmt: skip
        text = f"Only articles published {span} were searched ({inside} of {len(documents)})"
        if undated:
            text += f"; {undated} undated {'article was' if undated == 1 else 'articles were'} left out"
        return text + "."
