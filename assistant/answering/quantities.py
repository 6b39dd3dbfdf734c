"""What a figure in a sentence is a value of, so that reports of one quantity can be put in order.

"The bank cut its key rate from 5.00% to 4.50%": the phrase before a figure, back to the clause's start,
without verbs, function words and units, is the quantity's description ("key rate"); its last noun is the
head ("rate"), the words before it its modifiers ("key"). Two figures are values of one quantity when
their heads match and their modifiers do not name different things ("average mortgage rate" is not "key
rate"). The value a sentence gives as current is the figure a change ends on ("from 5.00% to 4.50%": 4.50%).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import plain
from .support import FIGURE, figure_value

# Words skipped on the way back from a figure to its quantity's noun: verbs of level and change, function
# words, units and adverbs. A verb also ends the modifiers ("the bank raised its key rate": not "bank").
VERBS = frozenset(
    """is are was were be been being stood stands stand rose rise rises risen raised raise raises fell fall
    falls fallen cut cuts lowered lower lowers reduced reduce reduces increased increase increases decreased
    decrease decreases eased ease eases slowed slow slows jumped jump jumps climbed climb climbs dropped
    drop drops held hold holds kept keep keeps froze freeze freezes frozen stays stay stayed remain remains
    remained reached reach reaches hit hits set sets pay pays paid charged charge charges cost costs
    peaked peak peaks went moved move moves lifted lift lifts doubled halved tripled offered offers
    announced said says left leave leaves brought bring brings pushed push pushes unchanged steady stable
    flat had has have""".split()
)
SKIPPED = frozenset(
    """the a an its their his her our this that these those at to from by of in on for with than about
    around nearly almost up down further still now currently new again some just over under only roughly
    about crowns crown percent per cent points point dollars dollar euros euro yuan pounds kroner cents
    level levels figure figures""".split()
)
# A clause ends the phrase: punctuation, or a conjunction between clauses.
_CLAUSE = re.compile(r"[,;:()\"“”]|\s(?:and|but|while|after|before|as|when|which|who)\s")
_TOKEN = re.compile(r"[a-z][a-z'-]*")
# Years alone are dates, not values of a quantity.
_YEAR = re.compile(r"^(?:19|20)\d\d$")
# "from 5.00% to 4.50%", "down from 3.60 crowns": the figure a change started from.
_FROM = re.compile(r"\bfrom\s+$")


@dataclass(frozen=True)
class Quantity:
    head: str  # the noun the figure is a value of, singular
    modifiers: frozenset[str]  # the words before it in its phrase

    def same(self, other: Quantity) -> bool:
        """One quantity: the same head, and modifiers that agree (or one side has none)."""
        if not self.head or self.head != other.head:
            return False
        return not self.modifiers or not other.modifiers or bool(self.modifiers & other.modifiers)


def singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def phrase_words(before: str) -> list[str]:
    """The words of the phrase that ends where a figure starts, nearest first, capitalised names left out
    (a name says who, not what: "Halden's fare" and "the fare" are one quantity)."""
    clause = _CLAUSE.split(before)[-1]
    raw = re.findall(r"[A-Za-z][A-Za-z'’-]*", clause)
    opens = clause.strip() == before.strip()  # the clause starts the sentence: its first word is not a name
    out = []
    for i, word in reversed(list(enumerate(raw))):
        if word[0].isupper() and not (i == 0 and opens and "'" not in word and "’" not in word):
            continue
        out += _TOKEN.findall(plain(word))
    return out


# Words for what something costs: one head ("the single ferry fare", "the price of a crossing").
PRICE_WORDS = frozenset("price cost fare charge fee".split())
# Words that name a measure of what follows "of" ("the price of a monthly pass", "the rate of inflation").
MEASURE_WORDS = PRICE_WORDS | frozenset("rate level value number amount share".split())


def noun(word: str) -> str:
    """A head noun as quantities are compared: singular, and every word for a price one word."""
    word = singular(word)
    return "price" if word in PRICE_WORDS else word


def quantity_before(before: str) -> Quantity:
    """The quantity of a figure from the text before it in its sentence."""
    head = ""
    modifiers: set[str] = set()
    of = False
    for word in phrase_words(before):
        if of and singular(word) in MEASURE_WORDS:
            # "the price of a single ferry crossing": a price, of a crossing ("cost" is a verb elsewhere).
            modifiers.add(head)
            head, of = noun(word), False
            continue
        if word in VERBS:
            if head:
                break
            continue
        if word == "by" and head and not modifiers:
            # "the average mortgage rate offered by lenders stood at": not the lenders.
            head = ""
            continue
        if word == "of" and head:
            of = True
            continue
        if word in SKIPPED or len(word) < 2:
            continue
        if not head:
            head = noun(word)
        else:
            modifiers.add(singular(word))
        of = False
    return Quantity(head, frozenset(modifiers))


@dataclass(frozen=True)
class Value:
    figure: str  # its value as written ("4.5%", "3.6"): support.figure_value
    quantity: Quantity
    current: bool  # what the sentence gives as the value now, not the one a change started from


def values(sentence: str) -> list[Value]:
    """Every figure of the sentence (years left out) with its quantity; a change's starting figure
    ("from 5.00%") is not current."""
    out: list[Value] = []
    for match in FIGURE.finditer(sentence):
        figure = figure_value(match.group())
        if _YEAR.match(figure):
            continue
        before = sentence[: match.start()]
        started = bool(_FROM.search(before))
        quantity = quantity_before(_FROM.sub("", before))
        if not quantity.head and out:
            # "from 3.20 crowns to 3.60 crowns": the second figure is the first one's quantity.
            quantity = out[-1].quantity
        out.append(Value(figure, quantity, not started))
    return out


def current_value(sentence: str, quantity: Quantity) -> str | None:
    """The figure the sentence gives as the quantity's value now, or None when it gives none."""
    found = [v for v in values(sentence) if v.current and v.quantity.same(quantity)]
    return found[-1].figure if found else None
