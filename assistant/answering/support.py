"""Does a passage state a sentence's claim, and do the sentences that state it meet the question's terms?

The checks after generation (checks.py) use this for every answer sentence, from any generator:

- A sentence is **supported** by the window of its cited passage (one sentence, or two in a row) that holds
  most of its words: every figure of the sentence must be in that window, by value; every name in it or in
  the sentence just before (which is where "he" or "she" is named); a sentence that says who said something
  must have that person speaking there; a figure must keep its relation ("by 145%" is not "from 145%");
  and the window must hold most of the sentence's other words, weighted by how rare each is in the corpus,
  so a sentence that restates the question ("the tariff is still in force") is not taken for the passage's.
- The **question's terms** must be met by the windows that support the answer: its names and figures all
  of them, its other words most of them (again by rarity), and its type (when: a time; how many or how
  much: a figure; who: a name).

Words match by their stem, by the aliases of text.ALIAS_GROUPS ("American" is "U.S."), and, for words
that are not names, by the embedding model's similarity of the two words ("freight" and "cargo"): names
of different countries are close in the embedding space too, so names never match that way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..text import (
    CALENDAR_WORDS,
    NOT_A_CLAIM,
    NUMBER,
    QUESTION_FUNCTION_WORDS,
    SUPPORT_STOPWORDS,
    TIME_EXPRESSION,
    alias_of,
    aliases_in,
    paragraphs,
    plain,
    sentences,
    stem,
)

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from ..indexing.keyword_index import KeywordIndex

# Two different words mean the same here when their embeddings are this close (measured on word pairs:
# docs/design.md, "Checking answers against passages").
SYNONYM = 0.55
# Words that carry no claim of their own: function words, speech and light verbs, question words.
LIGHT = (
    SUPPORT_STOPWORDS
    | QUESTION_FUNCTION_WORDS
    | frozenset(
        """yes no also just very more most much many some any each other such than then there here
        only even ever again about into over under during until through across among toward towards
        within amid amidst upon onto hold holds held holding happen happens happened
        mr ms mrs dr
        up down out off per via according say says said told tell telling stated state states asked ask
        make makes made get gets got go goes going went come comes coming came take takes took give
        gives gave put puts do does did done doing can could may might must shall should will would
        being having kind sort thing things way ways part parts something anything nothing lot lots
        article articles report reports passage passages source sources mention mentions mentioned""".split()
    )
)
# Words of a question that say what kind of answer it wants, or that it wants the latest ("now, still"):
# met by the answer's type and by the latest figure, not by the word itself.
QUESTION_LIGHT = LIGHT | frozenset(
    """still now currently current latest today anymore yet date day days time year month percentage
    percent rate number amount figure name named force change changed changes else supposed""".split()
)
# A sentence whose words are the question's and not its passage's restates the question: this much of the
# weight of the words it shares with the question may be missing from its passage.
ECHO_GAP = 0.25
# Two sentences in a row support a claim instead of the best single one when they hold this much more of
# its words ("… a 90-day exemption …" "This temporary measure took effect immediately last Wednesday.").
PAIR_GAIN = 0.15
SPEECH_VERBS = (
    "said|says|say|stated|states|told|tells|noted|notes|emphasized|emphasised|asserted|asserts|"
    "acknowledged|replied|added|remarked|warned|stressed|expressed|announced|revealed|claimed|argued|"
    "indicated|suggested|conceded|explained|insisted|mentioned|maintained|declared|analyzed|pointed out|"
    "denied|denies"
)
_SPEECH = re.compile(rf"\b(?:{SPEECH_VERBS})\b")
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
FIGURE = re.compile(NUMBER.pattern + r"(?:\s?%| percent)?")
# The "Yes, " or "No: " an answer opens with: the answer to a yes-or-no question, not a claim.
YES_OR_NO = re.compile(r"^(?:yes|no)\b[,.:;]?\s*", re.I)
PRONOUNS = frozenset("he she they it his her their its him them".split())
PERSONAL_PRONOUNS = PRONOUNS | frozenset("i we you us our my your me".split())


def figure_value(text: str) -> str:
    """A figure by its value as written: "1,000" is "1000", "30 percent" is "30%"."""
    number = re.sub(r"[^\d.,]", "", text).replace(",", "")
    number = number.rstrip("0").rstrip(".") if "." in number else number
    return number + ("%" if "%" in text or "percent" in text else "")


def figures(text: str) -> set[str]:
    return {figure_value(m.group()) for m in FIGURE.finditer(text)}


def content_words(text: str) -> list[str]:
    """The words of text that carry its claim: no function or light words, no figures, no names' aliases."""
    return [w for w in _WORD.findall(plain(text)) if w not in LIGHT and len(w) > 1]


NAME_CONNECTORS = frozenset("of von der van de del bin al".split())
_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’.]*")


def names(text: str, skip_first: bool = True) -> list[str]:
    """The names in text: runs of capitalised words ("Karoline Leavitt", "Council of Economic Advisers"),
    a hyphenated pair split ("US-China" is "US" and "China"). Not the first word (capitalised anyway), nor
    titles, months and weekdays, nor words capitalised for grammar."""
    out: list[str] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1].lower() in NAME_CONNECTORS:
            run.pop()
        if run:
            out.append(" ".join(run))
        run.clear()

    position = 0
    for match in _NAME_TOKEN.finditer(text.replace("-", " ").replace("–", " ")):
        gap = text[position : match.start()]
        position = match.end()
        if gap.strip(" \"'“”(") or "\n" in gap:  # punctuation between words ends a run
            close()
        raw = re.sub(r"['’]s$", "", match.group()).strip("'’.")
        first = not text[: match.start()].strip(" \"'“(*-")
        if raw.lower() in NAME_CONNECTORS and run:
            run.append(raw.lower())
            continue
        is_name = (
            raw[:1].isupper()
            and len(raw) > 1
            and (raw.lower() not in NOT_A_CLAIM or alias_of(raw) is not None)
            and (raw.lower() not in LIGHT or alias_of(raw) is not None)
            and raw.lower() not in CALENDAR_WORDS
            and not (raw.lower() in PERSONAL_PRONOUNS and not raw.isupper())  # "We want ...", not "US"
            and not (skip_first and first)
        )
        if is_name:
            run.append(raw)
        else:
            close()
    close()
    return out


# Opposites the embedding model puts close together (later/earlier 0.72): never each other's synonym.
OPPOSITES = (
    ("earli", "later"), ("befor", "after"), ("incre", "decre"), ("raise", "lower"), ("rise", "fall"),
    ("rose", "fell"), ("highe", "lower"), ("more", "less"), ("impor", "expor"), ("buy", "sell"),
    ("bough", "sold"), ("win", "lose"), ("won", "lost"), ("accep", "rejec"), ("allow", "ban"),
    ("open", "close"), ("start", "end"), ("first", "last"), ("gain", "loss"), ("up", "down"),
    ("cut", "raise"), ("lift", "impos"), ("agree", "disag"), ("confi", "deni"), ("admit", "deny"),
)  # fmt: skip


def opposite(a: str, b: str) -> bool:
    sa, sb = stem(a), stem(b)
    return any(
        (sa.startswith(x) and sb.startswith(y)) or (sa.startswith(y) and sb.startswith(x))
        for x, y in OPPOSITES
    )


@dataclass
class Lexicon:
    """What the checks know about words: how rare each is in the corpus (from the keyword index) and how
    close two words are (from the embedding model, one vector a word, kept)."""

    embed_model: BaseEmbedding | None
    keyword_index: KeywordIndex | None
    _vectors: dict[str, list[float]] = field(default_factory=dict)

    def weight(self, word: str) -> float:
        """Inverse document frequency over the chunks: a word found in few chunks weighs more."""
        from ..indexing.keyword_index import chunk_count, document_frequency

        n = chunk_count(self.keyword_index)
        if n == 0:
            return 1.0
        return math.log((n + 1) / (document_frequency(self.keyword_index, word) + 0.5))

    def vectors(self, words: Iterable[str]) -> None:
        new = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if new and self.embed_model is not None:
            self._vectors.update(zip(new, self.embed_model.get_text_embedding_batch(new), strict=True))

    def similarity(self, a: str, b: str) -> float:
        va, vb = self._vectors.get(a), self._vectors.get(b)
        if va is None or vb is None:
            return 0.0
        return sum(x * y for x, y in zip(va, vb, strict=True))


@dataclass
class Window:
    """The text a claim is checked against: one or two passage sentences, and the one before them."""

    text: str
    before: str = ""
    start: int = 0  # offset in the passage
    pair: bool = False  # two sentences in a row
    paragraph: str = ""  # the paragraph it stands in: names a question asks about may be anywhere in it
    passage: str = ""  # the whole passage, with its article's title
    article: str = ""  # the whole article: the place or occasion a question names may be anywhere in it

    @property
    def words(self) -> set[str]:
        return set(_WORD.findall(plain(self.text)))


def windows(passage: str, title: str = "", article: str = "") -> list[Window]:
    """Every sentence of the passage, and every two in a row within a paragraph. Their `passage` is the
    article's title with the passage: a title names the setting of all it heads; their `article` the title
    with the whole article, when it is known."""
    whole = f"{title}\n{passage}" if title else passage
    story = f"{title}\n{article}" if article else whole
    out = []
    for para in paragraphs(passage):
        paragraph = passage[para.start : para.end]
        spans = list(sentences(passage, para.start, para.end))
        for i, span in enumerate(spans):
            before = passage[spans[i - 1].start : spans[i - 1].end] if i else ""
            out.append(
                Window(passage[span.start : span.end], before, span.start, False, paragraph, whole, story)
            )
            if i + 1 < len(spans):
                text = passage[span.start : spans[i + 1].end]
                out.append(Window(text, before, span.start, True, paragraph, whole, story))
    return out


# Words between the name an answer gives and what a "which" question calls it (Checker.called).
HEAD_NEAR = 6
# A person by a title and one of their names: "Mr. Guo", "Ms. Leavitt".
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+([A-Z][\w'’-]+)")


class Checker:
    """The support and constraint checks over one lexicon."""

    def __init__(self, lexicon: Lexicon, articles: Callable[[str], str] | None = None) -> None:
        self.lexicon = lexicon
        self.articles = articles  # doc_id -> the article's text, where the index can tell

    def article(self, doc_id: str) -> str:
        return self.articles(doc_id) if self.articles else ""

    # --- words ---------------------------------------------------------------------------------------

    def found(self, word: str, window_words: set[str], window_stems: set[str]) -> bool:
        if stem(word) in window_stems or word in window_words:
            return True
        if alias_of(word):
            return False  # a name's aliases are matched as names, never by similarity
        return any(
            self.lexicon.similarity(word, other) >= SYNONYM and not opposite(word, other)
            for other in window_words
        )

    def coverage(self, words: list[str], window: Window) -> tuple[float, list[str]]:
        """The rarity-weighted share of words the window holds, and those it lacks."""
        if not words:
            return 1.0, []
        have = window.words - LIGHT
        self.lexicon.vectors([*words, *have])
        stems = {stem(w) for w in have}
        missing = [w for w in words if not self.found(w, have, stems)]
        total = sum(self.lexicon.weight(w) for w in words)
        lacking = sum(self.lexicon.weight(w) for w in missing)
        return (1.0 - lacking / total if total else 1.0), missing

    def coverage_with_names(self, asked: Asked, window: Window) -> float:
        """The question's coverage by the window, its names (which the window is known to hold) counted
        among its words by their rarity: "Wiley Rein" found is most of a question about that firm."""
        share, _ = self.coverage(asked.words, window)
        name_words = [
            w
            for n in asked.names
            if alias_of(n) is None
            for w in _WORD.findall(plain(n))
            if w not in NAME_CONNECTORS and len(w) > 1
        ]
        where = {stem(w) for w in _WORD.findall(plain(window.paragraph or f"{window.before} {window.text}"))}
        named = sum(self.lexicon.weight(w) for w in name_words)
        found = sum(self.lexicon.weight(w) for w in name_words if stem(w) in where)
        total = sum(self.lexicon.weight(w) for w in asked.words)
        if not named:
            return share
        return (share * total + found) / (total + named)

    def called(self, asked: Asked, text: str) -> bool:
        """Whether text gives a name the question does not, within HEAD_NEAR words of what the question
        calls it ("Which automaker …?": "Chinese companies, notably including Huawei" for "Which company";
        not "Trump signed an order … that follows intense lobbying from automakers"). A role must be its own
        word (a minister is not a secretary); a kind of body may be a synonym (a firm, a company)."""
        head = asked.head
        if asked.type != "which-named" or not head or role_form(head) in _ANY_PERSON:
            return True
        spans = [(m.start(), plain(m.group())) for m in re.finditer(r"[\w'’.-]+", text)]
        tokens = [t for _, t in spans]
        self.lexicon.vectors([head, *tokens])
        role = is_role(head)
        want = role_form(head)

        def is_head(token: str) -> bool:
            if role_form(token) == want:
                return True
            return not role and self.lexicon.similarity(head, token) >= SYNONYM

        heads = [i for i, t in enumerate(tokens) if is_head(t)]
        for name in new_names(asked, text, skip_first=False):
            at = text.find(name)
            where = max((i for i, (start, _) in enumerate(spans) if start <= at), default=0)
            last = where + len(name.split()) - 1
            if any(where - HEAD_NEAR <= h <= last + HEAD_NEAR for h in heads):
                return True
        return False

    @staticmethod
    def names_missing(wanted: list[str], text: str) -> list[str]:
        """The names of `wanted` that text does not mention: a country or body by any of its aliases, a
        person or anything else by the last word of its name ("Leavitt" for "Karoline Leavitt")."""
        groups = aliases_in(text)
        stems = {stem(w) for w in _WORD.findall(plain(text))}
        out = []
        titled = {stem(plain(m.group(1))) for m in _TITLED.finditer(text)}
        for name in wanted:
            named = aliases_in(name)
            last = name.split()[-1]
            if named and (alias_of(last) or len(name.split()) == 1 or alias_of(name)):
                if not named <= groups:
                    out.append(name)
            elif stem(plain(last)) not in stems and not {stem(plain(w)) for w in name.split()} & titled:
                # "Mr. Guo" names Guo Jiakun too: a family name may come first.
                out.append(name)
        return out

    # --- a sentence against a passage ----------------------------------------------------------------

    def best_window(
        self, sentence: str, passage: str, threshold: float = 0.0, title: str = "", article: str = ""
    ) -> tuple[Window, float]:
        """The passage sentence that holds most of the sentence's words (and all its figures, when one
        does); two sentences in a row only when no single one reaches the threshold and the two do."""
        words = content_words(sentence)
        wanted = figures(sentence)
        all_windows = windows(passage, title, article) or [Window(passage)]
        candidates = [w for w in all_windows if wanted <= figures(w.text)] or all_windows
        scored = [(self.coverage(words, w)[0], w) for w in candidates]
        best_single = max([sw for sw in scored if not sw[1].pair] or scored, key=lambda sw: sw[0])
        score, window = max(scored, key=lambda sw: sw[0])
        if best_single[0] >= threshold and score < best_single[0] + PAIR_GAIN:
            return best_single[1], best_single[0]
        return window, score

    def why_unsupported(
        self, sentence: str, passage: str, threshold: float, question: Asked | None = None
    ) -> str | None:
        """None when the passage states the sentence's claim; else the reason it does not. With the question,
        countries and bodies it names may stand in the sentence unsupported (they are the asker's), and a
        sentence answering a yes-or-no question must not restate it."""
        claim = YES_OR_NO.sub("", sentence.strip())  # the answer, not a claim
        if quoted(claim, passage):
            return None  # a passage states what it says word for word
        window, score = self.best_window(claim, passage, threshold)
        context = f"{window.before} {window.text}"
        missing_figures = sorted(figures(claim) - figures(window.text))
        if missing_figures:
            return f"its passage does not state {', '.join(missing_figures)}"
        anchor = context
        if figures(claim) and window.pair:
            # A pair of sentences: the names must stand with the figures, in the sentence that holds them
            # (or the one before it), not in its neighbour ("34 countries" is Leavitt's, not von der Leyen's).
            holders = [w for w in windows(passage) if not w.pair and figures(claim) <= figures(w.text)]
            anchor = " ".join(f"{w.before} {w.text}" for w in holders) or context
        asked_groups = aliases_in(question.text) if question else set()
        # A person must be named where the claim is; a country or body anywhere in its paragraph, or in the
        # question ("from the U.S." where the paragraph quotes the EU's commissioner on what it wants).
        missing_names = [
            n
            for n in self.names_missing(names(claim), anchor)
            if not (
                aliases_in(n)
                and (
                    not self.names_missing([n], window.paragraph or context) or aliases_in(n) <= asked_groups
                )
            )
        ]
        if missing_names and "?" in speakers(window.text) and not self.names_missing(missing_names, passage):
            # "she replied": who "she" is was said before this chunk begins; the passage does name her.
            missing_names = []
        if missing_names:
            return f"its passage does not name {', '.join(missing_names)} there"
        relation = changed_relation(claim, window.text)
        if relation:
            return relation
        speaker = wrong_speaker(claim, context)
        if speaker:
            return speaker
        denial = opposed_clause(claim, window.text)
        if denial:
            return denial
        if score < threshold:
            return "its passage does not state this"
        if question is not None and question.type == "yes-no":
            asked_words = {stem(q) for q in content_words(question.text)}  # "still", "in force" included
            echoed = [w for w in content_words(claim) if stem(w) in asked_words and not alias_of(w)]
            if echoed:
                share, missing = self.coverage(echoed, window)
                if 1.0 - share > ECHO_GAP:
                    return (
                        f"its passage does not say {', '.join(missing)}: the sentence restates the question"
                    )
        return None


NEGATION = re.compile(
    r"\b(?:not|no|never|none|nothing|neither|nor|denied|denies|deny|without|let alone)\b|n't\b", re.I
)


_CLAUSE_BREAK = re.compile(r"[,;:–—]|\s-\s|\b(?:while|but|whereas)\b")
# A clause of a sentence with fewer content words than this ("he said") is checked with the one before it.
CLAUSE_WORDS = 2


def clauses(text: str) -> list[str]:
    """The clauses of a text: split at commas, semicolons, dashes and "while", "but", "whereas"."""
    return [c for c in _CLAUSE_BREAK.split(text) if c.strip()] or [text]


def closest_clause(sentence: str, text: str) -> str:
    """The clause of text that shares most words with the sentence: a negation elsewhere in the text
    ("without making overt concessions") is another claim's."""
    words = set(content_words(sentence))
    return max(clauses(text), key=lambda c: len(words & set(content_words(c))))


def opposed_clause(claim: str, text: str) -> str | None:
    """Why the claim says no where the text says yes, or yes where it says no, clause by clause: each
    clause of the claim against the clause of the text closest to it (a claim quoting "…, but will not
    include …" keeps its "not" with the clause that has it). None when they agree."""
    parts: list[str] = []
    for clause in clauses(claim):
        if parts and len(content_words(parts[-1])) < CLAUSE_WORDS:
            parts[-1] = f"{parts[-1]} {clause}"
        else:
            parts.append(clause)
    if len(parts) > 1 and len(content_words(parts[-1])) < CLAUSE_WORDS:
        parts[-2:] = [f"{parts[-2]} {parts[-1]}"]
    for part in parts:
        match = closest_clause(part, text)
        if negated(part) != negated(match):
            return "its passage says the opposite" if negated(match) else "it denies what its passage states"
    return None


MIN_QUOTE = 6
# Where a quote may begin in its passage: at a sentence or clause, not after "denied that" or "not".
_QUOTE_START = re.compile(r"(?:^|[.!?;:,(\n]\s*|\" )$")


def quoted(claim: str, passage: str) -> bool:
    """The claim (markers and outer quotes aside) is the passage's own words from the start of one of its
    sentences or clauses: one or more sentences, or a clause, of at least MIN_QUOTE words."""
    text = _flat(re.sub(r"\s*\[\d+\]", "", claim)).strip(" \"'“”‘’«»").rstrip(".!?")
    if len(text.split()) < MIN_QUOTE:
        return False
    flat = _flat(passage)
    at = flat.find(text)
    while at >= 0:
        if _QUOTE_START.search(flat[max(0, at - 3) : at]):
            return True
        at = flat.find(text, at + 1)
    return False


def _flat(text: str) -> str:
    """Text compared as a quote: quotes of every kind as one, runs of white space as one space."""
    return re.sub(r"\s+", " ", re.sub(r"[“”«»\"]", '"', re.sub(r"[‘’]", "'", text)))


def negated(text: str) -> bool:
    """Whether the text says no: "have not conducted", "denied that", "No, …"."""
    return bool(NEGATION.search(text))


def changed_relation(sentence: str, passage: str) -> str | None:
    """A figure the sentence gives with "by", "from" or "to" that the passage gives only with another of
    them ("decreased by 145%" where the passage says "from 145% to 30%")."""
    for match in re.finditer(r"\b(by|from|to)\s+(" + FIGURE.pattern + ")", plain(sentence)):
        preposition, value = match.group(1), figure_value(match.group(2))
        used = {
            m.group(1)
            for m in re.finditer(r"\b(by|from|to)\s+(" + FIGURE.pattern + ")", plain(passage))
            if figure_value(m.group(2)) == value
        }
        if used and preposition not in used:
            return f"its passage gives {value} {'/'.join(sorted(used))}, not {preposition} it"
    return None


_CHANGE = re.compile(r"\bfrom\s+(" + FIGURE.pattern + r")\s+(?:down |up )?to\s+(" + FIGURE.pattern + ")")


def changes(text: str) -> list[tuple[str, str]]:
    """The figures text says changed, as (from, to): "decreased from 145% to 30%" is ("145%", "30%")."""
    return [(figure_value(m.group(1)), figure_value(m.group(2))) for m in _CHANGE.finditer(plain(text))]


# Where one sentence ends and the next begins ("… to 10%. The goal …"; not "U.S. Trade").
_SENTENCE_END = re.compile(r"(?<=[a-z0-9%)][.!?])[\"”’]?\s+(?=[A-Z\"“])")


def speakers(text: str, exact: bool = False, resolve: bool = False) -> set[str]:
    """Who may be speaking in text: the names in the words before a speech verb ("Guo said", "a post by the
    account Yuyuantantian, affiliated with CCTV, indicated"), or the first after one ("said Guo Jiakun");
    "?" for a pronoun ("she replied"). exact: only the name nearest the verb (a sentence's own speaker).
    resolve: a pronoun is one of those the sentence before it names, where text holds that sentence."""
    found: set[str] = set()
    for verb in _SPEECH.finditer(text):
        lead = _SENTENCE_END.split(text[max(0, verb.start() - 80) : verb.start()])[-1]  # this sentence's
        before = names(lead, skip_first=False)
        after = names(text[verb.end() : verb.end() + 40], skip_first=False)
        tail = lead.split()
        if _QUOTE_CLOSED.search(lead):
            # '"… not effective," said Chinese Foreign Ministry spokesperson Guo Jiakun': the names before
            # the verb are the quote's; the speaker is the person after it, past the body they speak for.
            attribution = _SENTENCE_END.split(text[verb.end() : verb.end() + 90])[0]
            named = names(attribution, skip_first=False)
            people = [n for n in named if alias_of(n) is None]
            found.update((people or named)[:1] if exact else named)
        elif tail and tail[-1].lower() in PRONOUNS:
            earlier = _SENTENCE_END.split(text[: verb.start()])
            found.update((resolve and len(earlier) > 1 and referents(earlier[-2])) or {"?"})
        elif before:
            found.update(before[-1:] if exact else before)
        elif after:
            found.add(after[0])
    return found


# A quote that ends where its attribution begins: '…," said', '…?" asked'.
_QUOTE_CLOSED = re.compile(r"[,!?][\"”’]\s*$")


def referents(sentence: str) -> set[str]:
    """Whom a "he" or "she" opening the next sentence stands for: the subject of this one, the first person
    or body it names past an opening phrase ("Bessent dismissed talk that Trump would cut tariffs before
    talks with Xi Jinping." "He emphasized …": Bessent; "In a call with Xi, Trump said …": Trump); none
    when it names no one but countries."""
    whole = sentence.strip()
    main = _OPENING_PHRASE.sub("", whole, count=1)
    people = [n for n in names(main, skip_first=False) if alias_of(n) is None]
    if main == whole and people and people[0] not in names(main):
        # One capitalised word opening the sentence may be a name ("Bessent said …") or not ("Trade fell."):
        # with the next person named, either may be the subject; alone, it is taken for a word.
        return set(people[:2]) if len(people) > 1 else set()
    return set(people[:1])


# A phrase before a sentence's subject: "In a call with Xi, ", "According to some sources, ".
_OPENING_PHRASE = re.compile(
    r"^(?:In|On|At|After|Before|During|Despite|Following|According to|Amid|Amidst|Since|With|Without|"
    r"Under|Earlier|Later|Meanwhile|However|While|When|As)\b[^,]{0,80},\s*"
)


def same_name(a: str, b: str) -> bool:
    group = alias_of(a)
    if group is not None:
        return group == alias_of(b) or group in aliases_in(b)
    return stem(plain(a.split()[-1])) in {stem(plain(w)) for w in b.split()}


# A passage's unnamed holders of a view: "some observers believe …", "analysts fear …". An answer that gives
# the view to a name ("China says …") has someone else saying it.
GROUP_SPEAKS = re.compile(
    r"\b(observers|analysts|experts|economists|critics|commentators|insiders|investors|traders|sources)\s+"
    rf"(?:have\s+|had\s+)?(?:{SPEECH_VERBS}|believe[sd]?|think|thinks|thought|fears?|feared|expects?|expected)\b",
    re.I,
)


def wrong_speaker(sentence: str, context: str) -> str | None:
    """The sentence says someone said it, and the passage has someone else saying it (a name, or an
    unnamed group holding the view)."""
    mine = {s for s in speakers(sentence, exact=True) if s != "?"}
    theirs = speakers(context) or {m.group(1).lower() for m in GROUP_SPEAKS.finditer(context)}
    if not mine or not theirs or "?" in theirs:
        return None
    if any(same_name(s, t) for s in mine for t in theirs):
        return None
    return f"its passage has {', '.join(sorted(theirs))} saying it, not {', '.join(sorted(mine))}"


# --- the question ------------------------------------------------------------------------------------

_YES_NO = re.compile(r"^(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would|should)\b", re.I)
_WHEN = re.compile(r"^(?:when\b|(?:on |in |by )?(?:what|which) (?:date|day|month|year|time)\b)", re.I)
_NUMBER = re.compile(
    r"^(?:(?:by |to |at )?how (?:many|much|far|high|low|long)\b"
    r"|(?:by |at |to )?(?:what|which) (?:percentage|percent|rate|share|number|amount)\b)",
    re.I,
)
_WHO = re.compile(r"^(?:who|whom|whose)\b", re.I)
# What a person is asked about as: "which minister", "South Korea's trade minister".
PERSON_ROLES = (
    r"officials?|ministers?|secretary|secretaries|spokes(?:person|man|woman)|representatives?|"
    r"commissioners?|lawmakers?|senators?|leaders?|presidents?|chancellors?|governors?|economists?|"
    r"analysts?|advis[eo]rs?|experts?|executives?|ceos?|negotiators?|envoys?|ambassadors?|diplomats?|judges?"
)
_PERSON_ROLE = re.compile(rf"^(?:{PERSON_ROLES})$")
# "Which Japanese official …", "What company …": a person or an organisation the answer must name.
_WHICH_NAMED = re.compile(
    r"^(?:which|what)\s+(?:(?!(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should|the|"
    rf"a|an)\b)[\w.'’-]+\s+){{0,3}}?(?P<head>{PERSON_ROLES}|courts?|compan(?:y|ies)|firms?|automakers?|"
    r"carmakers?|manufacturers?|retailers?|banks?|agenc(?:y|ies)|ministr(?:y|ies)|departments?|outlets?|"
    r"newspapers?|networks?|accounts?|organi[sz]ations?|institutions?|think tanks?|person|people|"
    r"individuals?)\b",
    re.I,
)
_SAID_BY = re.compile(rf"\b(?:did|does|do)\s+(.+?)\s+(?:{SPEECH_VERBS}|say|tell|state)\b", re.I)
NUMBER_WORDS = re.compile(
    r"\b(?:dozen|dozens|hundreds?|thousands?|millions?|billions?|half|double|twice)\b", re.I
)


@dataclass
class Asked:
    """What a question (or one part of it) constrains an answer to."""

    text: str
    type: str  # when | number | who | which-named | yes-no | other
    names: list[str]
    figures: set[str]
    words: list[str]
    speaker: str | None = None  # "What did X say": X must be the one speaking
    head: str | None = None  # "Which automaker …": what the name the answer gives must be called

    @classmethod
    def of(cls, question: str) -> Asked:
        text = question.strip()
        # The type is the last sentence's: "Trump says they are negotiating. Does Beijing agree?"
        last = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text)[-1]
        opening = re.sub(r"^(?:and|so|but|then|also|ok|okay)[,\s]+", "", last, flags=re.I)
        head = None
        if _WHEN.match(opening):
            kind = "when"
        elif _NUMBER.match(opening):
            kind = "number"
        elif _WHO.match(opening):
            kind = "who"
        elif which := _WHICH_NAMED.match(opening):
            kind = "which-named"
            head = which.group("head").lower()
        elif _YES_NO.match(opening):
            kind = "yes-no"
        else:
            kind = "other"
        asked_names = [n for n in names(text, skip_first=False) if n.lower() not in QUESTION_WORDS]
        said = _SAID_BY.search(text)
        speaker = None
        # "What did Karoline Leavitt say" (not "What did Trump's spokeswoman say": a role, not a name).
        if said:
            said_names = names(said.group(1), skip_first=False)
            ends = re.sub(r"['’]s$", "", said.group(1).split()[-1]) if said.group(1).split() else ""
            if said_names and said_names[-1].split()[-1] == ends:
                speaker = said_names[-1]
        name_words = {plain(w) for n in asked_names for w in n.split()}
        # "after the Geneva talks": the setting; its place is checked in the passage, not its words.
        setting = {plain(w) for m in SETTING.finditer(text) for w in m.group().split()}
        # "ex-government", "early-stage": each part is a word of its own ("government", "stage"); not
        # "US-China".
        parts = [
            p
            for w in content_words(text)
            for p in (w.split("-") if "-" in w and not any(alias_of(x) for x in w.split("-")) else [w])
        ]
        words = [
            w
            for w in dict.fromkeys(parts)
            if len(w) > 2
            and w not in LIGHT
            and w not in name_words
            and alias_of(w) is None
            and w not in QUESTION_LIGHT
            and w not in setting
        ]
        return cls(text, kind, asked_names, figures(text), words, speaker, head)


# A setting of place or time around a name: "in Geneva", "after the Geneva talks", "during the truce".
SETTING = re.compile(
    r"\b(?i:in|at|after|before|during|since|outside)\s+(?:the\s+)?(?:[A-Z][\w.'’-]*\s+)+(?:talks|truce|summit|"
    r"meeting|meetings|deal|negotiations|ceasefire|agreement)?\b"
)
QUESTION_WORDS = frozenset("what which who whom whose when where why how is are was were did does do".split())


def roles_missing(asked: Asked, text: str) -> list[str]:
    """The roles a who or which question asks for a person in ("Who is South Korea's trade minister?")
    that text does not give. Matched by their own word only: to the embedding model a minister, a secretary
    and an adviser are alike (0.56-0.57), and naming one for another is the error this catches."""
    if asked.type not in ("who", "which-named"):
        return []
    given = {role_form(w) for w in _WORD.findall(plain(text))}
    return [w for w in asked.words if is_role(w) and role_form(w) not in given]


def is_role(word: str) -> bool:
    """A role a person holds that names them apart ("minister"), not one any of them fills ("official")."""
    return bool(_PERSON_ROLE.match(word)) and role_form(word) not in _ANY_PERSON


def role_form(word: str) -> str:
    return _ROLE_FORM.get(word, stem(word))


# What any person named in the articles may be called: a minister is an official, a president a leader.
_ANY_PERSON = {stem(w) for w in "official leader expert person people individual".split()}
# Spellings of one role.
_ROLE_FORM = {
    **{w: "spokesperson" for w in "spokesperson spokespersons spokespeople spokesman spokesmen".split()},
    **{w: "spokesperson" for w in "spokeswoman spokeswomen".split()},
    **{w: "adviser" for w in "adviser advisers advisor advisors".split()},
}


def meets_type(asked: Asked, text: str) -> bool:
    """Whether text holds what the question's type asks for."""
    if asked.type == "when":
        return bool(TIME_EXPRESSION.search(text))
    if asked.type == "number":
        return bool(figures(text) or NUMBER_WORDS.search(text) or TIME_EXPRESSION.search(text))
    if asked.type == "who":  # a name that is not a country's or a body's
        return any(alias_of(n) is None for n in names(text))
    if asked.type == "which-named":  # "Which official …": a name the question does not already give
        return bool(new_names(asked, text))
    return True


def new_names(asked: Asked, text: str, skip_first: bool = True) -> list[str]:
    """The names of people and bodies in text that the question does not already give (countries and
    other aliased bodies left out)."""
    return [
        n
        for n in names(text, skip_first=skip_first)
        if alias_of(n) is None and not any(same_name(q, n) or same_name(n, q) for q in asked.names)
    ]
