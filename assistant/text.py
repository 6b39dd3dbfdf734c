"""Text utilities both pipelines share, at the bottom of the package: it imports nothing of ours.

Normalising text (articles as they are read, questions as they are asked), sentence and paragraph
splitting (chunking cuts documents with it; evidence, citations and the UI cut passages and answers with
the same rule), the word patterns, the stem rule, and the word lists each named
for the check that uses it. The word lists differ on purpose: merging them changes answers, so each stays
beside the others under its own name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# --- sentences and paragraphs ------------------------------------------------------------------------

# Words after which a full stop does not end a sentence.
ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "st", "jr", "sr", "inc", "ltd", "co",
    "corp", "vs", "etc", "e.g", "i.e", "u.s", "u.k", "u.n", "e.u", "no", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})  # fmt: skip
# The punctuation that ends a sentence: a closing quote may follow; French quotes are spaced ("… . »").
SENTENCE_CLOSE = r"[.!?…]+(?:\s?»)?[\"'”’»)\]]*"
_SENTENCE_END = re.compile(SENTENCE_CLOSE + r"(?=\s|$)")
_LAST_WORD = re.compile(r"([\w.]+)[.!?…]*[\"'”’»)\]]*$")
LAST_WORD_WINDOW = 64  # characters searched for the last word (a longer word is no abbreviation anyway)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def paragraphs(text: str) -> Iterator[Span]:
    """Every non-empty line is a paragraph (the articles use single and double newlines alike)."""
    for match in re.finditer(r"[^\n]+", text):
        if match.group().strip():
            yield Span(match.start(), match.end())


def sentences(text: str, start: int = 0, end: int | None = None) -> Iterator[Span]:
    """Sentence spans within text[start:end]; abbreviations such as "U.S." and "Mr." do not end one."""
    end = len(text) if end is None else end
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        # Searched in a window: over the whole sentence, this search took half of all chunking time.
        word = _LAST_WORD.search(text, max(begin, match.end() - LAST_WORD_WINDOW), match.end())
        token = word.group(1).rstrip(".").lower() if word else ""
        following = text[match.end() : match.end() + 3].lstrip()
        if token in ABBREVIATIONS or len(token) == 1 or (following[:1].islower()):
            continue
        yield Span(begin, match.end())
        begin = match.end()
        while begin < end and text[begin].isspace():
            begin += 1
    if begin < end and text[begin:end].strip():
        yield Span(begin, end)


# --- words, numbers and the stem rule ----------------------------------------------------------------

# A number as written: "145", "1,000", "2.5".
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Lower-case words and figures ("30%"): what evidence ranking and the UI's highlighting compare.
WORD = re.compile(r"[a-z0-9%]+")
# Words are compared by their first STEM_LETTERS letters, a cheap stem ("reduced" ~ "reduce",
# "Brazilian" ~ "Brazil").
STEM_LETTERS = 5


def stem(word: str) -> str:
    return word[:STEM_LETTERS]


def words(text: str) -> list[str]:
    """The lower-case words and figures of text, in order."""
    return WORD.findall(text.lower())


# --- word lists, one per check -----------------------------------------------------------------------

# Citation support (answering.citations.support): words that carry no claim of a sentence.
SUPPORT_STOPWORDS = frozenset(
    """the a an and or of to in on for with by at from as is are was were be been that this it its their
    they he she his her which who what when said says has have had not but also will would""".split()
)
# Evidence ranking (answering.evidence): the question's words that do not say what it asks about.
QUESTION_FUNCTION_WORDS = frozenset(
    "a an the of to in on at by for from with and or but as is are was were be been it its this that these "
    "those their his her they he she what who whom which when where why how did does do say said says "
    "according".split()
)
# The name check after generation (answering.grounding): words capitalised for grammar, as a title, or as
# a name of the United States the articles spell many ways ("U.S.", "US", "United States", "America"):
# none of these is a claim the model could have made up.
NOT_A_CLAIM = frozenset(
    """a an the and or but if so as at by for from in into of on to with yes no not this that these those
    it its he she they his her their there here while when where after before during despite although
    according however also both each all overall mr ms mrs dr president secretary minister prime press
    treasury commerce foreign ministry spokesperson us united states america american americans""".split()
)
# The coverage check before generation (answering.coverage): capitalised words of a question that are not
# names, so a question about "May" needs no passage saying "May".
CALENDAR_WORDS = frozenset(
    "january february march april may june july august september october november december monday "
    "tuesday wednesday thursday friday saturday sunday".split()
)

# --- names written many ways -------------------------------------------------------------------------

# Each group names one country, body or thing in the ways news text writes it: the name, its demonym, its
# capital or seat (which news uses for its government), abbreviations. "American goods" and "U.S. goods"
# are the same constraint; "Japanese" and "South Korean" are not.
ALIAS_GROUPS: tuple[tuple[str, ...], ...] = (
    ("us", "usa", "united states", "america", "american", "americans", "washington", "dc"),
    ("china", "chinese", "beijing", "prc"),
    ("japan", "japanese", "tokyo"),
    ("uk", "britain", "british", "united kingdom", "london", "england"),
    ("eu", "european union", "europe", "european", "europeans", "brussels"),
    ("south korea", "south korean", "south koreans", "korea", "korean", "seoul"),
    ("north korea", "north korean", "pyongyang"),
    ("india", "indian", "indians", "new delhi", "delhi"),
    ("taiwan", "taiwanese", "taipei"),
    ("switzerland", "swiss", "geneva", "bern"),
    ("canada", "canadian", "canadians", "ottawa"),
    ("mexico", "mexican", "mexicans"),
    ("vietnam", "vietnamese", "hanoi"),
    ("australia", "australian", "australians", "canberra"),
    ("germany", "german", "germans", "berlin"),
    ("france", "french", "paris"),
    ("russia", "russian", "russians", "moscow", "kremlin"),
    ("brazil", "brazilian", "brazilians"),
    ("ai", "artificial intelligence"),
    ("lng", "liquefied natural gas"),
    ("cctv", "china central television"),
    ("nec", "national economic council"),
    ("ustr", "trade representative"),
)
_ALIAS_KEY = {alias: group[0] for group in ALIAS_GROUPS for alias in group}
_ALIAS_PATTERN = re.compile(
    r"\b(" + "|".join(sorted((re.escape(a) for a in _ALIAS_KEY), key=len, reverse=True)) + r")\b"
)


def plain(text: str) -> str:
    """Lower case, dots out of initialisms ("U.S." is "us", "D.C." is "dc"), apostrophes' "s" dropped."""
    text = re.sub(r"\b(?:[A-Za-z]\.){1,3}[A-Za-z]\b\.?", lambda m: m.group().replace(".", ""), text)
    return re.sub(r"['’]s\b", "", text.lower())


def aliases_in(text: str) -> set[str]:
    """The alias groups (their first names) that text mentions in any of their forms."""
    return {_ALIAS_KEY[m.group(1)] for m in _ALIAS_PATTERN.finditer(plain(text))}


def alias_of(word: str) -> str | None:
    """The group a single name belongs to ("American" -> "us"), or None."""
    return _ALIAS_KEY.get(plain(word).strip(".'"))


# --- time --------------------------------------------------------------------------------------------

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A time a sentence states: a weekday, a month or a date, a year, or a relative time ("last week").
TIME_EXPRESSION = re.compile(
    r"\b(?:" + "|".join(MONTHS + WEEKDAYS) + r"|(?:19|20)\d\d|today|yesterday|tomorrow|tonight"
    r"|(?:this|last|next|coming|past|previous|earlier this|later this)\s+(?:week|weeks|month|months|year|"
    r"years|day|days|morning|evening|quarter)|(?:days?|weeks?|months?|years?) (?:ago|later|earlier)"
    r"|recently|immediately|shortly after|soon)\b",
    re.I,
)


_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # every ASCII control but \t and \n
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def normalise(text: str) -> str:
    """Text as the index holds it, and questions as they are searched for: NFKC, no control or format
    characters (a lone surrogate included), one space between words, no trailing blanks, at most one empty
    line between paragraphs."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _ASCII_CONTROLS.sub("", text)
    # Other control and format characters are non-ASCII: only those are looked up, one at a time.
    text = _NON_ASCII.sub(lambda m: "" if unicodedata.category(m[0])[0] == "C" else m[0], text)
    text = re.sub(r"[ \t\u00a0\u2000-\u200b\u3000]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
