"""The checks after generation: the model's reply → the answer's text, its citations, or a refusal.

`check_reply` is the one entry, run once per answer, in this order: initialisms the model spaced out are
written as the passages write them; a sentence stating a name or figure that neither the passages nor the
question contain is dropped (the grounding check, below); markers are cleaned and mapped to passages
(`citations.resolve`); a reply left answering nothing is a refusal.

Asked something the articles come close to but do not answer ("Who is the U.S. ambassador to China?"), the
small local model fills the gap from memory ("John F. Kerry [1]") and cites a passage anyway. A name or a
number found in no passage is the plainest sign of such a claim, and cheap to check, so a sentence that
states one is left out of the answer; an answer with nothing cited left is a refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..results import Citation, Context
from ..text import NOT_A_CLAIM, NUMBER
from .citations import join_initials, normalise_markers, resolve, split_sentences, strip_markers

# A capitalised word, with any inner dots, apostrophes or hyphens ("U.S.", "O'Brien", "US-China").
CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9.'-]*")
LIST_MARK = re.compile(r"^[\s*#>•-]*(?:\d+[.)]\s+)?")  # "- ", "**", "1. " before a sentence


def _figure(number: str) -> str:
    """A number by its value as written: "1,000" is "1000", "1.50" is "1.5"."""
    number = number.replace(",", "")
    return number.rstrip("0").rstrip(".") if "." in number else number


def _key(word: str) -> str:
    """A name as it is compared: lower case, no dots ("U.S." is "us"), no possessive."""
    return re.sub(r"'s$", "", word.replace("’", "'").lower()).replace(".", "").strip("'")


class Grounds:
    """What the passages (and, for names, the question) state, prepared once per answer."""

    def __init__(self, passages: list[str], question: str = "") -> None:
        text = " ".join(passages)
        self.figures = {_figure(n) for n in NUMBER.findall(text)}
        self.words = {_key(w) for w in re.findall(r"[\w.'’]+", f"{text} {question}")}

    def missing(self, sentence: str) -> list[str]:
        """The sentence's figures no passage states and its names no passage or the question holds; the
        first word is left alone (it is capitalised as the start of the sentence)."""
        text = LIST_MARK.sub("", strip_markers(sentence)).lstrip(" \"'“(")
        terms = [n for n in NUMBER.findall(text) if _figure(n) not in self.figures]
        for match in CAPITALISED.finditer(text):
            if match.start() == 0:
                continue
            for part in match.group().split("-"):
                key = _key(part)
                if len(key) > 1 and key not in NOT_A_CLAIM and key not in self.words:
                    terms.append(part.strip(".'"))
        return list(dict.fromkeys(terms))


def drop_ungrounded(answer: str, grounds: Grounds, n_passages: int) -> tuple[str, list[str]]:
    """The answer without its sentences that state a name or figure the grounds lack, and those terms."""
    kept, terms = [], []
    for sentence in split_sentences(normalise_markers(answer, n_passages)):
        missing = grounds.missing(sentence)
        if missing:
            terms += missing
        else:
            kept.append(sentence)
    return " ".join(kept), list(dict.fromkeys(terms))


# A reply that says the articles do not answer ("The articles do not mention ...").
MODEL_REFUSAL = re.compile(
    r"\b(articles?|passages?|sources?|context)\s+(do|does)\s*(not|n't)\s+"
    r"(answer|contain|mention|say|cover|provide|include|specify|state|address)",
    re.I,
)
REFUSAL_WORDS = 8  # "No, the articles do not answer this question."


def answers_nothing(raw: str, text: str, citations: list[Citation], made_up: list[str]) -> bool:
    """The model's reply, its ungrounded sentences dropped (`text`), answers nothing: it is empty, a
    refusal with no citation, only short refusals ("The articles do not answer this question [1]."; a
    longer sentence, "… do not give the date, but …", may answer in part), or nothing cited is left."""
    if not text or made_up and not citations:
        return True
    if not MODEL_REFUSAL.search(raw):
        return False
    return not citations or all(
        MODEL_REFUSAL.search(part) and len(strip_markers(part).split()) <= REFUSAL_WORDS
        for part in split_sentences(text)
    )


@dataclass
class Checked:
    """What the checks made of a reply."""

    text: str  # the answer as shown, markers normalised ("" when refused)
    citations: list[Citation]
    refused: bool  # nothing was left that answers: the answer is a refusal
    unsupported: list[str] = field(default_factory=list)  # names and figures no passage states
    # A refusal because the model named what no passage states: said to the reader (not for a reply that
    # only refused, which may repeat the question's own "2018").
    named: bool = False


def check_reply(raw: str, context: Context) -> Checked:
    """The model's reply checked against the passages it read (and, for names, the question)."""
    # The model may read titles too (whole-passage prompts): a name from a title is grounded.
    asked = f"{context.question} {context.search_query}"
    sources = [f"{p.title} {p.text}" for p in context.passages]
    reply = join_initials(raw, " ".join(sources))
    grounded, made_up = drop_ungrounded(reply, Grounds(sources, asked), len(context.passages))
    text, citations = resolve(grounded, context.passages)
    if answers_nothing(raw, text, citations, made_up):
        return Checked("", [], True, made_up, named=bool(made_up) and not MODEL_REFUSAL.search(raw))
    return Checked(text, citations, False, made_up)
