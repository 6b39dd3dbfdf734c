"""Names and figures an answer states that neither the passages nor the question contain.

Asked something the articles come close to but do not answer ("Who is the U.S. ambassador to China?"), the
small local model fills the gap from memory ("John F. Kerry [1]") and cites a passage anyway. A name or a
number found in no passage is the plainest sign of such a claim, and cheap to check, so a sentence that
states one is left out of the answer; an answer with nothing left is a refusal.
"""

from __future__ import annotations

import re

from .citations import normalise_markers, split_sentences, strip_markers

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A capitalised word, with any inner dots, apostrophes or hyphens ("U.S.", "O'Brien", "US-China").
CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9.'-]*")
# Capitalised for grammar or as a title, not as a name of their own.
NOT_NAMES = frozenset(
    """a an the and or but if so as at by for from in into of on to with yes no not this that these those
    it its he she they his her their there here while when where after before during despite although
    according however also both each all mr ms mrs dr president secretary minister prime press treasury
    commerce foreign ministry spokesperson""".split()
)


def ungrounded_terms(sentence: str, passages: list[str], question: str = "") -> list[str]:
    """The numbers of the sentence that no passage states, and its names that neither a passage nor the
    question holds (its first word excepted: capitalised as the start of the sentence). A figure the
    question brings ("… in 2018?") must still come from a passage to be stated as an answer."""
    text = strip_markers(sentence).replace("’", "'")
    haystack = " ".join(passages).replace("’", "'")
    named = f"{haystack} {question}".replace("’", "'").lower()
    figures = set(NUMBER.findall(haystack))
    terms = [n for n in NUMBER.findall(text) if n not in figures]
    for match in CAPITALISED.finditer(text):
        if match.start() == len(text) - len(text.lstrip(" \"'“(")):
            continue  # the sentence's first word
        for part in match.group().split("-"):
            part = re.sub(r"'s$", "", part).strip(".'")
            if len(part) < 2 or part.lower() in NOT_NAMES:
                continue
            if not re.search(rf"(?<![a-z0-9]){re.escape(part.lower())}(?![a-z0-9])", named):
                terms.append(part)
    return list(dict.fromkeys(terms))


def drop_ungrounded(
    answer: str, passages: list[str], question: str, n_passages: int
) -> tuple[str, list[str]]:
    """The answer without its sentences that state a name or number the sources lack, and those terms."""
    kept, terms = [], []
    for sentence in split_sentences(normalise_markers(answer, n_passages)):
        missing = ungrounded_terms(sentence, passages, question)
        if missing:
            terms += missing
        else:
            kept.append(sentence)
    return " ".join(kept), list(dict.fromkeys(terms))
