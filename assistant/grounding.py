"""Names and figures an answer states that neither the passages nor the question contain.

Asked something the articles come close to but do not answer ("Who is the U.S. ambassador to China?"), the
small local model fills the gap from memory ("John F. Kerry [1]") and cites a passage anyway. A name or a
number found in no passage is the plainest sign of such a claim, and cheap to check, so a sentence that
states one is left out of the answer; an answer with nothing cited left is a refusal.
"""

from __future__ import annotations

import re

from .citations import NUMBER, normalise_markers, split_sentences, strip_markers

# A capitalised word, with any inner dots, apostrophes or hyphens ("U.S.", "O'Brien", "US-China").
CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9.'-]*")
# Capitalised for grammar, as a title, or as a name of the United States the articles spell many ways
# ("U.S.", "US", "United States", "America"): none of these is a claim the model could have made up.
NOT_A_CLAIM = frozenset(
    """a an the and or but if so as at by for from in into of on to with yes no not this that these those
    it its he she they his her their there here while when where after before during despite although
    according however also both each all overall mr ms mrs dr president secretary minister prime press
    treasury commerce foreign ministry spokesperson us united states america american americans""".split()
)
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
