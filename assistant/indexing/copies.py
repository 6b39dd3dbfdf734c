"""Copies of one story: near-duplicate articles (the same wire story under two names, a copy with another
headline, a trimmed ending, a paragraph added or reworded), found at ingest and recorded in the manifest.

An article is the set of its 5-word shingles (its text's words, lower case, the headline left out; each
shingle a 64-bit hash). Two articles are copies when at least CONTAINMENT of the smaller one's shingles
are in the larger one and the smaller holds at least SIZE_RATIO of the larger one's shingles (a short
brief that a long round-up quotes whole is not a copy of it), unless each states a figure the other does
not (counted: "90" four times against five is one "90" fewer): a changed figure is an update or a
correction, and both stay searchable (a trimmed or extended copy states only figures of the other, or
more of them). Candidate pairs come from MinHash signatures (126 hashes) banded for locality-sensitive
hashing (42 bands of 3 rows: a pair of Jaccard similarity 0.4 becomes a candidate with probability 0.94,
0.5 with 0.996), so thousands of articles are not compared pair by pair; each candidate pair is then
measured exactly. Copies form groups (connected pairs); the group's representative, the one retrieval
shows, is its earliest published article (dated before undated, then the one indexed first, then by
doc_id); the others carry `copy_of` in their DocEntry. Measured in docs/design.md, "Copies of one story".
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..text import NUMBER, words
from .store import DocEntry

DETECTOR = 1  # the manifest records which detector marked its copies: another one marks them again
SHINGLE_WORDS = 5
CONTAINMENT = 0.6
SIZE_RATIO = 0.5
BANDS, ROWS = 42, 3
_RNG = np.random.default_rng(20)  # fixed: the same signatures in every process
_MULTIPLIERS = _RNG.integers(1, 2**63, size=BANDS * ROWS, dtype=np.uint64) | np.uint64(1)
_OFFSETS = _RNG.integers(0, 2**63, size=BANDS * ROWS, dtype=np.uint64)
_POSITIONS = _RNG.integers(1, 2**63, size=SHINGLE_WORDS, dtype=np.uint64) | np.uint64(1)


def shingles(text: str) -> np.ndarray:
    """The text's 5-word shingles as sorted unique 64-bit hashes (a text under 5 words has none): each word's
    CRC-32, the five of a shingle mixed by multiplying each with its own odd constant (numpy, no Python
    loop over shingles)."""
    tokens = np.fromiter((zlib.crc32(w.encode()) for w in words(text)), dtype=np.uint64)
    count = len(tokens) - SHINGLE_WORDS + 1
    if count < 1:
        return np.empty(0, dtype=np.uint64)
    mixed = np.zeros(count, dtype=np.uint64)
    for position in range(SHINGLE_WORDS):
        mixed += tokens[position : position + count] * _POSITIONS[position]
    return np.unique(mixed)


def _signature(hashes: np.ndarray) -> np.ndarray:
    """MinHash: for each of the 126 hash functions (multiply-shift on 64 bits), the least value."""
    mixed = (_MULTIPLIERS[:, None] * hashes[None, :] + _OFFSETS[:, None]) >> np.uint64(32)
    return np.asarray(mixed.min(axis=1))


def figures(text: str) -> Counter[str]:
    """The numbers the text states and how often, as written less their thousands commas ("11,200" =
    "11200")."""
    return Counter(n.replace(",", "") for n in NUMBER.findall(text))


@dataclass(frozen=True)
class Article:
    """What the detector compares of an article."""

    shingles: np.ndarray
    figures: Counter[str]

    @classmethod
    def of(cls, text: str) -> Article:
        return cls(shingles(text), figures(text))


@dataclass(frozen=True)
class Likeness:
    containment: float  # of the smaller article's shingles, the share the larger one holds
    size_ratio: float  # the smaller article's shingles over the larger one's
    figures_differ: bool  # each states a figure the other does not (or states it more often)

    @property
    def copies(self) -> bool:
        return self.containment >= CONTAINMENT and self.size_ratio >= SIZE_RATIO and not self.figures_differ


def likeness(a: Article, b: Article) -> Likeness:
    """How much of one article's shingles the other holds, and whether their figures differ."""
    small, large = sorted((len(a.shingles), len(b.shingles)))
    differ = bool(a.figures - b.figures) and bool(b.figures - a.figures)  # changed, not only cut or added
    if not small:
        return Likeness(0.0, 0.0, differ)
    shared = len(np.intersect1d(a.shingles, b.shingles, assume_unique=True))
    return Likeness(shared / small, small / large, differ)


def find_copies(texts: Mapping[str, str]) -> list[list[str]]:
    """Groups (of two or more doc_ids, each sorted) of articles that are copies of one story."""
    sets = {doc_id: Article.of(text) for doc_id, text in texts.items()}
    sets = {doc_id: article for doc_id, article in sets.items() if len(article.shingles)}
    buckets: dict[bytes, list[str]] = {}
    for doc_id, article in sets.items():
        signature = _signature(article.shingles)
        for band in range(BANDS):
            key = band.to_bytes(1, "big") + signature[band * ROWS : (band + 1) * ROWS].tobytes()
            buckets.setdefault(key, []).append(doc_id)
    candidates = {
        (a, b) for bucket in buckets.values() if len(bucket) > 1
        for i, a in enumerate(bucket) for b in bucket[i + 1 :]
    }  # fmt: skip
    parent = {doc_id: doc_id for doc_id in sets}

    def root(doc_id: str) -> str:
        while parent[doc_id] != doc_id:
            parent[doc_id] = parent[parent[doc_id]]
            doc_id = parent[doc_id]
        return doc_id

    for a, b in candidates:
        if root(a) != root(b) and likeness(sets[a], sets[b]).copies:
            parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for doc_id in sets:
        groups.setdefault(root(doc_id), []).append(doc_id)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


def representative(group: list[str], entries: Mapping[str, DocEntry]) -> str:
    """The copy retrieval shows: the earliest published (dated before undated), then the first indexed."""

    def order(doc_id: str) -> tuple[bool, str, float, str]:
        entry = entries[doc_id]
        return entry.published is None, entry.published or "", entry.indexed_at, doc_id

    return min(group, key=order)


def mark_copies(entries: Mapping[str, DocEntry], texts: Mapping[str, str]) -> list[list[str]]:
    """Set every entry's `copy_of` (its group's representative, or None) from the articles' texts; returns
    the groups, representative first."""
    groups = []
    for entry in entries.values():
        entry.copy_of = None
    for group in find_copies({d: t for d, t in texts.items() if d in entries}):
        first = representative(group, entries)
        for doc_id in group:
            if doc_id != first:
                entries[doc_id].copy_of = first
        groups.append([first, *(d for d in group if d != first)])
    return groups
