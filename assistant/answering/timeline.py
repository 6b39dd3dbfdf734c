"""A "how did X change" question answered by a dated timeline: one row a report, each the report's own
sentence giving X's value, in the order the reports were published, each citing its passage.

The rows are quoted, not written: no model call, nothing to check but the choice of sentence. A timeline is
given only when two or more of its rows are dated; over undated articles the question goes to the model
as any other (their order could only be guessed).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..results import Passage, TimelineRow
from .citations import append_marker
from .quantities import Quantity, noun, quantity_before, singular, values
from .support import Checker, content_words, windows
from .support import names as support_names

# "How did/has X change", "Give me a timeline of X", "What happened to X": the phrase X names the quantity.
_ASKED = (
    re.compile(
        r"\bhow\s+(?:(?:did|has|have|had|does|do)\s+)?(?P<x>.+?)\s+(?:change[sd]?|move[sd]?|evolve[sd]?|"
        r"develop(?:ed|s)?|shift(?:ed|s)?|var(?:y|ied|ies)|went|gone)\b",
        re.I,
    ),
    re.compile(r"\btimeline\s+(?:of|for)\s+(?P<x>.+?)[?.!]*$", re.I),
    re.compile(r"\bwhat\s+(?:has\s+)?happened\s+to\s+(?P<x>.+?)[?.!]*$", re.I),
)
# Words that name the changes rather than what changed ("the bank's rate decisions").
_CHANGE_WORDS = re.compile(
    r"\s+(?:decisions?|changes?|moves?|movements?|history|path|trend|evolution|developments?)\s*$", re.I
)
# At most this many rows: a short timeline.
MAX_ROWS = 8


def _asked_phrase(question: str) -> str | None:
    """The words a timeline question names its quantity with ("the Bank of Norvik's key rate"), or None."""
    for pattern in _ASKED:
        match = pattern.search(question.strip())
        if match:
            return match.group("x")
    return None


def asked_quantity(question: str) -> Quantity | None:
    """The quantity a timeline question asks about, or None when the question is not one."""
    phrase = _asked_phrase(question)
    if phrase is None:
        return None
    # "the tariff on Chinese goods", "inflation in Norvik": the quantity is named before it.
    phrase = re.split(r"\s(?:on|for|against|to|from|in|at|over|since|during)\s", phrase)[0]
    quantity = quantity_before(_CHANGE_WORDS.sub("", phrase) + " ")
    return quantity if quantity.head else None


def timeline_rows(
    question: str, passages: list[Passage], checker: Checker, article: Callable[[str], str]
) -> list[TimelineRow]:
    """The rows of the question's timeline from these passages (markers are their positions, from 1), or []
    when it is not a timeline question or fewer than two dated reports give the quantity."""
    asked = asked_quantity(question)
    if asked is None:
        return []
    # Who or where the quantity is of ("Halden", "the Bank of Norvik"), from the words that name it: not
    # "Walk me through how …".
    names = support_names(_asked_phrase(question) or "", skip_first=False)
    best: dict[str, tuple[tuple[int, bool, int], TimelineRow, frozenset[str] | None]] = {}
    for i, passage in enumerate(passages):
        whole = article(passage.doc_id) or passage.text
        if checker.names_missing(names, f"{passage.title}\n{whole}"):
            continue
        # "Halden cuts ferry fare for students": a report whose headline names the quantity gives its value
        # in its first sentence with a figure, whatever that sentence calls it ("pay 3.00 crowns").
        headline = {noun(w) for w in content_words(passage.title)}
        for window in windows(passage.text, passage.title):
            if window.pair:
                continue
            found = [v for v in values(window.text) if _measures(asked, v.quantity)]
            modifiers: frozenset[str] | None = None
            if found:
                value = max(found, key=lambda v: _overlap(asked, v.quantity))
                modifiers = (value.quantity.modifiers | {value.quantity.head}) - {asked.head}
                overlap = _overlap(asked, value.quantity)
            elif asked.head in headline and values(window.text) and passage.start == 0:
                said = headline | {singular(w) for w in content_words(window.text)}
                overlap = len(asked.modifiers & said)
            else:
                continue
            # The report's first sentence on the quantity, the one naming it most nearly as asked, and
            # one that names it before one its headline stands for.
            rank = (overlap, bool(found), -(passage.start + window.start))
            row = TimelineRow(
                passage.published, window.text.strip(), i + 1, passage.doc_id, passage.title, passage.outlet
            )
            if passage.doc_id not in best or rank > best[passage.doc_id][0]:
                best[passage.doc_id] = (rank, row, modifiers)
    # Reports that name the quantity as the question does ("average mortgage rate") say which words it
    # goes by; a row whose words are all others is another quantity of the same noun ("key rate").
    named = [b for b in best.values() if b[0][0]]
    if named:
        accepted = set(asked.modifiers).union(*(b[2] or () for b in named))
        best = {
            d: b for d, b in best.items() if b[0][0] or (b[2] is not None and (not b[2] or b[2] & accepted))
        }
    rows = [row for _, row, _ in best.values()]
    if sum(1 for r in rows if r.published) < 2:
        return []
    rows.sort(key=lambda r: (r.published is None, r.published or "", r.marker))
    return rows[:MAX_ROWS]


def _measures(asked: Quantity, quantity: Quantity) -> bool:
    """Whether a figure of `quantity` can be a value of what the question asks about: the same head, or a
    head the question names beside its own ("the inflation rate": "inflation rose to 3.8%"; "the price of
    a monthly pass": "the monthly pass went up to 110 crowns")."""
    return quantity.head == asked.head or quantity.head in asked.modifiers


def _overlap(asked: Quantity, quantity: Quantity) -> int:
    """How nearly the figure's quantity is named as asked: the question's words it has (its head among
    them). Words only: the embedding model's synonyms are too loose here ("loan" is near both "mortgage"
    and "interest", so a home-loan timeline kept the key rate's rows)."""
    return len(asked.modifiers & (quantity.modifiers | {quantity.head}))


def timeline_text(rows: list[TimelineRow]) -> str:
    """The timeline as plain text, a row a line: "2026-03-11 (Norvik Wire): The bank raised … [2]"."""
    lines = []
    for row in rows:
        where = f"{row.published or 'undated'}" + (f" ({row.outlet})" if row.outlet else "")
        lines.append(f"{where}: {append_marker(row.text, [row.marker])}")
    return "\n".join(lines)
