"""Sentence-level evidence: the sentences of the retrieved passages ranked by similarity to the question.

Used twice: to give the model only the few sentences that answer (what it reads is the main cost of an
answer, and small models are misled by neighbouring figures), and, with no model, as the answer itself
(generation.Extractive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..results import Passage
from ..text import QUESTION_FUNCTION_WORDS, SENTENCE_CLOSE, paragraphs, sentences
from ..text import words as split_words

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

MIN_WORDS = 4
# A sentence sharing the question's own words (names, figures, key terms) gains up to this much cosine:
# the embedding model alone ranks paraphrases above the sentence that names what was asked (docs/design.md).
WORD_OVERLAP_WEIGHT = 0.2
# How far down the ranking to look for sentences that still fit the budget.
LOOK_AHEAD = 8
MAX_ADDITIONS = 2  # neighbouring sentences brought in beside the chosen ones, in all
# A sentence ranked this far below the best one is not read, even when the budget has room: it is rarely
# the answer and often a distractor (an older figure, another speaker's words), and every word it adds
# costs the model time (docs/design.md, "What the model reads"). The best sentence for each part of a
# question is exempt.
RELEVANCE_GAP = 0.2
# A sentence ends in a full stop, question or exclamation mark (a closing quote may follow): a heading
# does not, and as evidence it only spends the budget (it restates the article, it states no fact).
ENDS_A_SENTENCE = re.compile(SENTENCE_CLOSE + "$")
# A sentence that opens like this continues the one before it ("This list includes ethane", "He said"),
# as does one whose subject, after an opening clause, is a pronoun ("When asked …, she replied").
POINTS_BACK = re.compile(
    r"^(?:(?:This|These|That|Those|Such|It|Its|They|Their|He|His|She|Her)\b"
    r"|[^,;:\"“”]{3,80},\s+(?:he|she|they)\s)"
)
# The sentence after the best one also goes on with it when its opening clause names "this" something
# ("Under this order, companies …"); further down the ranking such a sentence stands alone.
GOES_ON = re.compile(r"^(?:\w+\s){1,3}(?:this|these|those|such)\s[^,;:\"“”]{1,40},")
CLOSES_QUOTE = re.compile(r"[\"”»]")
# "What did X say, and what did observers suggest?": each part asks for its own sentence.
NEXT_PART = re.compile(r",?\s+and\s+(?=(?:what|how|who|whom|when|where|which|why)\b)", re.I)


@dataclass(frozen=True)
class Evidence:
    score: float  # cosine similarity to the question
    passage: int  # index into the passages list
    position: int  # character offset inside the passage
    text: str
    overlap: float = 0.0  # share of the question's content words the sentence contains

    @property
    def rank(self) -> float:
        return self.score + WORD_OVERLAP_WEIGHT * self.overlap


class SentenceVectors:
    """Sentence embeddings kept in memory: the same passages come back across a chat, so their
    sentences are embedded once (bounded; the oldest are forgotten first)."""

    def __init__(self, embed_model: BaseEmbedding, capacity: int = 50_000) -> None:
        self.embed_model = embed_model
        self.capacity = capacity
        self.vectors: dict[str, list[float]] = {}

    def __call__(self, texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if new:
            self.vectors.update(zip(new, self.embed_model.get_text_embedding_batch(new), strict=True))
            for old in list(self.vectors)[: max(0, len(self.vectors) - self.capacity)]:
                del self.vectors[old]
        return [self.vectors[t] for t in texts]


def content_words(text: str) -> set[str]:
    return {w for w in split_words(text) if w not in QUESTION_FUNCTION_WORDS}


def rank_sentences(
    question: str, passages: list[Passage], embed_model: BaseEmbedding, cache: SentenceVectors | None = None
) -> list[Evidence]:
    """Every sentence of the passages (each once: overlapping chunks repeat some; headings left out), best
    first by cosine similarity to the question plus a bonus for the share of the question's content words
    it holds; in a two-part question the best sentence for each further part comes second."""
    found: dict[str, tuple[int, int]] = {}
    for i, passage in enumerate(passages):
        # Every line is a paragraph, as in chunking: a heading is a line with no full stop of its own.
        for paragraph in paragraphs(passage.text):
            for span in sentences(passage.text, paragraph.start, paragraph.end):
                text = passage.text[span.start : span.end].strip()
                if len(text.split()) >= MIN_WORDS and ENDS_A_SENTENCE.search(text):
                    found.setdefault(text, (i, span.start))
    if not found:
        return []
    texts = list(found)
    vectors = cache(texts) if cache else embed_model.get_text_embedding_batch(texts)

    def ranked_for(query: str) -> list[Evidence]:
        asked = content_words(query)
        query_vector = embed_model.get_query_embedding(query)
        # The vectors are normalised, so the dot product is the cosine similarity.
        scored = [
            Evidence(
                sum(a * b for a, b in zip(query_vector, vector, strict=True)),
                *found[text],
                text,
                len(asked & content_words(text)) / len(asked) if asked else 0.0,
            )
            for text, vector in zip(texts, vectors, strict=True)
        ]
        return sorted(scored, key=lambda e: -e.rank)

    ranked = ranked_for(question)
    # The best sentence for each further part of a several-part question follows the best one overall,
    # so the budget cannot go to the first part alone (scores stay those against the whole question).
    by_text = {e.text: e for e in ranked}
    firsts = ranked[:1]
    for part in question_parts(question)[1:]:
        best = next((e for e in ranked_for(part) if by_text[e.text] not in firsts), None)
        if best:
            firsts.append(by_text[best.text])
    return firsts + [e for e in ranked if e not in firsts]


def question_parts(question: str) -> list[str]:
    """The parts of "What did X say, and what did Y suggest?" that name something to look for (at least
    two content words each); one part (the whole question) when it does not split so."""
    parts = [p.strip(" ,?") for p in NEXT_PART.split(question)]
    specific = [p for p in parts if len(content_words(p)) >= 2]
    return specific if len(parts) > 1 and len(specific) > 1 else [question]


def select_evidence(ranked: list[Evidence], words: int, question: str = "") -> list[Evidence]:
    """The best sentences (of the first LOOK_AHEAD, within RELEVANCE_GAP of the best one, and the best for
    each part of the question) that fit in this many words, each with the sentence before it when it opens
    by pointing back at it, or the sentences after it to the end of a quote it leaves open; the best one's
    group also with the sentence after it when that one points back, opens by naming "this" something, or
    holds two or more of the question's words the group lacks. At most two such additions in all; the best
    one's group always comes, the others only within the budget."""
    asked = content_words(question)
    reading_order: dict[int, list[Evidence]] = {}
    for e in sorted(ranked, key=lambda e: (e.passage, e.position)):
        reading_order.setdefault(e.passage, []).append(e)

    def neighbour(e: Evidence, step: int) -> Evidence | None:
        run = reading_order[e.passage]
        i = run.index(e) + step
        return run[i] if 0 <= i < len(run) else None

    chosen: list[Evidence] = []
    used = additions = 0
    parts = len(question_parts(question)) if question else 1
    for n, e in enumerate(ranked[:LOOK_AHEAD]):
        if e in chosen or n >= parts and e.rank < ranked[0].rank - RELEVANCE_GAP:
            continue
        group = [e]
        before = neighbour(e, -1) if POINTS_BACK.match(e.text) else None
        if before and before not in chosen and additions + len(group) - 1 < MAX_ADDITIONS:
            group.insert(0, before)
        # The group's own members beyond e count against MAX_ADDITIONS.
        after = neighbour(e, 1)
        if (
            not chosen
            and after
            and (POINTS_BACK.match(after.text) or GOES_ON.match(after.text))
            and additions + len(group) - 1 < MAX_ADDITIONS
        ):
            group.append(after)  # it continues the best sentence
        elif leaves_quote_open(e.text):
            # The quote runs on to the sentence that closes it, which names the speaker ("…," said Guo).
            while after and after not in chosen and additions + len(group) - 1 < MAX_ADDITIONS:
                group.append(after)
                if CLOSES_QUOTE.search(after.text):
                    break
                after = neighbour(after, 1)
        if not chosen and additions + len(group) - 1 < MAX_ADDITIONS:
            # A window around the best sentence: its successor goes on with the same story and may hold
            # what was asked ("… a temporary truce." "The temporary agreement … held in Switzerland.").
            after = neighbour(group[-1], 1)
            held = set().union(*(content_words(g.text) for g in group))
            if after and len(asked & content_words(after.text) - held) >= 2:
                group.append(after)
        size = sum(len(g.text.split()) for g in group)
        if chosen and used + size > words:
            continue  # a shorter sentence further down may still fit
        chosen += group
        used += size
        additions += len(group) - 1
    return chosen


def leaves_quote_open(text: str) -> bool:
    """The sentence opens a quote it does not close. A straight quote opens when it starts the text or
    follows a space: the last sentence of a several-sentence quote ("… cut," he said.) closes one."""
    if text.count("“") > text.count("”") or text.count("«") > text.count("»"):
        return True
    last = text.rfind('"')
    return text.count('"') % 2 == 1 and (last == 0 or text[last - 1] in " (")


def focus_passages(
    candidates: list[Passage], chosen: list[Evidence], k: int
) -> tuple[list[Passage], dict[int, list[str]]]:
    """The k passages to show: those holding the best chosen sentences, topped up with the best others, in
    retrieval order; and the chosen sentences of those passages by index into that list, in reading order."""
    holders = list(dict.fromkeys(e.passage for e in chosen))[:k]
    chosen = [e for e in chosen if e.passage in holders]
    others = [i for i in range(len(candidates)) if i not in holders][: max(0, k - len(holders))]
    keep = sorted(holders + others)
    new_index = {old: new for new, old in enumerate(keep)}
    grouped: dict[int, list[str]] = {}
    for e in sorted(chosen, key=lambda e: (e.passage, e.position)):
        grouped.setdefault(new_index[e.passage], []).append(e.text)
    return [candidates[i] for i in keep], grouped
