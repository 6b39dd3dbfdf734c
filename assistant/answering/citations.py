"""Citation markers in answers: normalise them, drop the ones that point nowhere, split sentences with their
markers, and build the Citations of a checked answer (checks.py decides which passage a sentence cites)."""

from __future__ import annotations

import re

from ..results import Citation, Passage
from ..text import SUPPORT_STOPWORDS, sentences, stem

# [1], [1, 2], [1-3], [Passage 2], 【2】 ...
_MARKER = re.compile(
    r"\s*[\[【]\s*(?:passages?\s*)?(\d+(?:\s*(?:[,;]|-|–|and)\s*(?:passage\s*)?\d+)*)\s*[\]】]", re.I
)
# A normalised marker, "[2]", as answers carry them once cleaned.
NORMALISED_MARKER = re.compile(r"\[(\d+)\]")
_CONTENT_WORD = re.compile(r"[a-z0-9%$.]+")


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for a, b in re.findall(r"(\d+)(?:\s*[-–]\s*(\d+))?", group):
        lo, hi = int(a), int(b or a)
        out.extend(range(lo, min(hi, lo + 20) + 1))
    return out


def normalise_markers(text: str, n_passages: int) -> str:
    """Rewrite every marker as [n][m]; markers outside 1..n_passages are removed."""

    def fix(match: re.Match[str]) -> str:
        valid = [n for n in dict.fromkeys(_numbers(match.group(1))) if 1 <= n <= n_passages]
        return " " + "".join(f"[{n}]" for n in valid) if valid else ""

    text = _MARKER.sub(fix, text)
    text = re.sub(r" +([.,;:!?])", r"\1", text)  # "claim [9]." with [9] removed → "claim."
    return re.sub(r"[ \t]{2,}", " ", text).strip()


_SPACED_INITIALS = re.compile(r"\b(?:[A-Z]\. ){1,3}[A-Z]\.")


def join_initials(text: str, sources: str) -> str:
    """ "U. S." written as the sources write it, "U.S." (the local model spaces out initialisms); initials
    the sources space ("J. K. Rowling") stay as they are."""

    def join(match: re.Match[str]) -> str:
        closed = match.group().replace(" ", "")
        return closed if closed in sources else match.group()

    return _SPACED_INITIALS.sub(join, text)


def markers_in(sentence: str) -> list[int]:
    """The numbers of a cleaned sentence's markers, in order."""
    return [int(m) for m in NORMALISED_MARKER.findall(sentence)]


def strip_markers(text: str) -> str:
    """The answer without its [n] markers: what a judge should read (markers are not claims)."""
    return re.sub(r"\s+([.!?,;:])", r"\1", _MARKER.sub("", text)).strip()


def split_sentences(text: str) -> list[str]:
    """Answer sentences, each keeping the markers that follow its full stop ("... 30%. [2]")."""
    spans = list(sentences(text))
    out: list[str] = []
    for span in spans:
        piece = text[span.start : span.end].strip()
        leading = re.match(r"(?:\s*\[\d+\])+\.?\s*", piece)
        if out and leading:  # markers placed after the previous sentence's full stop belong to it
            out[-1] += " " + leading.group().strip()
            piece = piece[leading.end() :]
        if piece:
            out.append(piece)
    return out


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words found in the passage (0..1); 0 if a number of it is not there.

    Words are compared by their stem (text.stem: "reduced" ~ "reduce").
    """
    tokens = {
        w.strip(".") for w in _CONTENT_WORD.findall(_MARKER.sub("", sentence).lower())
    } - SUPPORT_STOPWORDS
    tokens.discard("")
    if not tokens:
        return 0.0
    haystack = passage.lower()
    if any(t not in haystack for t in tokens if any(c.isdigit() for c in t)):
        return 0.0
    return sum(1 for t in tokens if stem(t) in haystack) / len(tokens)


def cite(sentences: list[tuple[str, list[int]]], passages: list[Passage]) -> tuple[str, list[Citation]]:
    """The answer text from its checked sentences, each with exactly its markers, and a Citation for every
    passage cited, listing the sentences that cite it."""
    cited: dict[int, list[str]] = {}
    out = []
    for sentence, markers in sentences:
        for m in markers:
            cited.setdefault(m, []).append(_MARKER.sub("", sentence).strip())
        out.append(append_marker(sentence, markers) if markers else _MARKER.sub("", sentence).strip())
    citations = [
        Citation(
            marker=m,
            doc_id=passages[m - 1].doc_id,
            title=passages[m - 1].title,
            text=passages[m - 1].text,
            score=passages[m - 1].score,
            start=passages[m - 1].start,
            end=passages[m - 1].end,
            source=passages[m - 1].source,
            sentences=tuple(cited[m]),
            published=passages[m - 1].published,
            outlet=passages[m - 1].outlet,
            author=passages[m - 1].author,
            also_in=passages[m - 1].also_in,
        )
        for m in sorted(cited)
    ]
    return " ".join(out), citations


def append_marker(sentence: str, markers: list[int]) -> str:
    """The sentence with exactly these markers, placed before its closing punctuation."""
    bare = re.sub(r"\s+([.!?])", r"\1", _MARKER.sub("", sentence).strip())
    bare = re.sub(r"\.{2,}(?=[\"'”’]*$)", ".", bare)  # "the U.S. [1]." lost its marker: "the U.S.."
    tags = "".join(f"[{m}]" for m in markers)
    if re.search(r"\b(?:[A-Z]\.){2,}$", bare):  # it ends with an initialism's dot: "… from the U.S."
        return f"{bare} {tags}"
    match = re.search(r"[.!?]+[\"'”’]*$", bare)
    if match:
        return f"{bare[: match.start()]} {tags}{bare[match.start() :]}"
    return f"{bare} {tags}"
