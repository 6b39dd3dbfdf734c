"""The values the public API returns: passages, a prepared context, citations, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk. score is the cosine similarity of the passage to the question (0..1)."""

    doc_id: str
    title: str
    text: str
    score: float
    start: int
    end: int
    chunk_id: str = ""
    source: str = ""
    # What the article says of itself; None when it does not say (an undated article: published None).
    published: str | None = None  # ISO date, YYYY-MM-DD
    outlet: str | None = None
    author: str | None = None
    # The other copies of this article's story (their doc_ids), which retrieval does not show.
    also_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimelineRow:
    """One report in a timeline: its date (None: undated), its own sentence giving the value asked about,
    and the marker of the passage it stands in."""

    published: str | None
    text: str
    marker: int
    doc_id: str
    title: str
    outlet: str | None = None


@dataclass
class Context:
    """What retrieval found for a question, ready to show before the answer is generated
    (`Assistant.prepare_context`); `Assistant.answer_stream` writes the answer from it."""

    question: str
    search_query: str  # the standalone question retrieval ran on (differs from question for follow-ups)
    passages: list[Passage]
    covered: bool  # False: the evidence is too weak, the model will not be called
    timings: dict[str, float] = field(default_factory=dict)
    missing_names: list[str] = field(default_factory=list)  # names in the question no passage mentions
    # What the model reads: passage index -> its chosen sentences; empty: the whole passages.
    evidence: dict[int, list[str]] = field(default_factory=dict)
    # With a date range: which articles it searched and how many undated ones it left out ("" without).
    dates_note: str = ""
    # A "how did X change" question: the dated reports of X, oldest first (empty for other questions).
    timeline: list[TimelineRow] = field(default_factory=list)
    # The day a question asks about ("in April 2026": 2026-04-30), when the articles are dated: no report
    # published after it may give a figure for it unless it names the month.
    as_of: str | None = None


@dataclass(frozen=True)
class Citation:
    """A marker in the answer ([marker]) and the passage it points at."""

    marker: int
    doc_id: str
    title: str
    text: str
    score: float
    start: int
    end: int
    source: str = ""
    sentences: tuple[str, ...] = ()  # the answer's sentences that cite this passage
    published: str | None = None  # the cited article's date (ISO, YYYY-MM-DD), outlet and author, if stated
    outlet: str | None = None
    author: str | None = None
    also_in: tuple[str, ...] = ()  # the other copies of the cited article's story (doc_ids)


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence of the answer as written (by the model, or quoted from a passage by the checks), and
    what its check found: "supported" by the passages its markers name, or "removed" with the reason."""

    text: str
    markers: tuple[int, ...]
    status: str  # "supported" | "removed"
    reason: str = ""  # why it was removed; for a sentence the checks quoted, where it comes from


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    abstained: bool
    passages: list[Passage]  # everything shown to the model (or, when abstaining, the closest passages)
    question: str
    search_query: str  # the standalone question retrieval ran on (differs from question for follow-ups)
    model: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    # What the model read: marker -> the sentences of that passage it was given (empty: whole passages).
    evidence: dict[int, list[str]] = field(default_factory=dict)
    # Names and numbers the model wrote that no passage states: the sentences holding them were left out.
    unsupported: list[str] = field(default_factory=list)
    # Every sentence written, with its check; `text` holds the supported ones only.
    sentences: list[SentenceCheck] = field(default_factory=list)
    # Parts of the question the articles do not answer, while the answer answers others.
    unanswered: list[str] = field(default_factory=list)
    # Two passages that disagree on the question (their markers): the chat shows them side by side.
    differ: tuple[int, int] | None = None
    # With a date range: which articles it searched and how many undated ones it left out ("" without).
    dates_note: str = ""
    # A "how did X change" question over dated reports: one row a report, oldest first; `text` holds the
    # same rows a line each. Empty for other answers.
    timeline: list[TimelineRow] = field(default_factory=list)

    @property
    def left_out(self) -> str:
        """What the sentences left out of a kept answer named ("" when none was): told to the reader."""
        if self.abstained or not self.unsupported:
            return ""
        return f"a sentence naming {', '.join(self.unsupported)}, which no passage states"

    @property
    def removed(self) -> list[SentenceCheck]:
        """The sentences the checks took out, each with its reason: shown below the answer."""
        return [s for s in self.sentences if s.status == "removed"]

    def to_dict(self) -> dict:
        return asdict(self)
