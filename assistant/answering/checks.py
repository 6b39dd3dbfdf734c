"""The checks after generation: the reply a generator wrote → checked sentences → the answer, or a refusal.

`check_reply` runs once per answer, for every generator (the local model, a served or hosted one, the
extractive mode), in this order:

1. Initialisms the model spaced out are written as the passages write them; markers are normalised.
2. Every sentence is checked against the passage it cites (support.Checker: its figures, names, speaker
   and relation must be in the window of that passage that holds most of its words, and most of its words
   too). A sentence its passage does not support is re-pointed at a passage that does, or removed, with
   the reason. A sentence with no marker gets the passage that supports it, if one does. A sentence that
   leaves a blank where a name or figure should be ("The official who ruled was [1].") is removed, and so
   is a reply that only says the articles do not answer.
3. Each part of the question must be met by the passages that support the answer: its names and figures,
   most of its words, its type (when, how many, who), and for "What did X say" X speaking. A part the
   model's sentences leave unmet gets the passage sentence that meets it, quoted with its marker, when one
   does (so a model that refused or answered half is not the last word); otherwise the answer says the
   articles do not say it.
4. Nothing met → a refusal with the closest passages.

Asked something the articles come close to but do not answer, the small local model fills the gap from
memory or from a passage about something else, and cites a passage anyway; these checks are what stands
between that and the reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..results import Citation, Context, Passage, SentenceCheck
from ..text import NOT_A_CLAIM, NUMBER, aliases_in
from .citations import cite, join_initials, markers_in, normalise_markers, split_sentences, strip_markers
from .dates import month_of, names_month
from .evidence import question_parts
from .quantities import current_value, values
from .support import (
    SETTING,
    YES_OR_NO,
    Asked,
    Checker,
    Window,
    changes,
    content_words,
    figure_value,
    figures,
    meets_type,
    negated,
    roles_missing,
    same_name,
    speakers,
    windows,
)

# A capitalised word, with any inner dots, apostrophes or hyphens ("U.S.", "O'Brien", "US-China").
CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9.'-]*")
LIST_MARK = re.compile(r"^[\s*#>•-]*(?:\d+[.)]\s+)?")  # "- ", "**", "1. " before a sentence
# The share of a sentence's words (weighted by rarity) its passage's window must hold, and of a question's.
SENTENCE_SUPPORT = 0.5
# A sentence moved to a passage it did not cite, or given one it cited none of, needs more of its words there.
REPOINT_SUPPORT = 0.75
QUESTION_TERMS = 0.6
# A sentence the model wrote, that its passage supports, needs less of the question's words in that
# passage than a sentence the checks would quote on their own.
MODEL_QUESTION_TERMS = 0.4
FIGURE_QUESTION_TERMS = 0.3
COUNTER_TERMS = 0.4  # the other side must be about the same thing
RESTATES = 0.8  # a passage sentence whose words the answer holds this much of says nothing new
# A sentence that ends where its claim should be: "… was [1].", "… by [2]."
BLANK = re.compile(
    r"\b(?:is|are|was|were|be|been|by|of|to|the|a|an|as|at|from|with|named|called)\s*(?:\[\d+\]\s*)+[.!?]?\s*$",
    re.I,
)
# A reply that says the articles do not answer ("The articles do not mention ...").
MODEL_REFUSAL = re.compile(
    r"\b(articles?|passages?|sources?|context)\s+(do|does)\s*(not|n't)\s+"
    r"(answer|contain|mention|say|cover|provide|include|specify|state|address)",
    re.I,
)
REFUSAL_WORDS = 8  # "No, the articles do not answer this question."
# What the checks append to an answer, after its sentences: the parts, and the figures, no passage answers.
# Notes, not claims: they cite nothing.
PART_NOT_ANSWERED = "The articles do not answer"
NOTHING_FOR = "The articles give nothing for"


def _key(word: str) -> str:
    """A name as it is compared: lower case, no dots ("U.S." is "us"), no possessive."""
    return re.sub(r"'s$", "", word.replace("’", "'").lower()).replace(".", "").strip("'")


class Grounds:
    """What the passages (and, for names, the question) state: the names and figures a removed sentence
    stated that none of them do are told to the reader (Answer.unsupported)."""

    def __init__(self, passages: list[str], question: str = "") -> None:
        text = " ".join(passages)
        self.figures = {figure_value(n) for n in NUMBER.findall(text)}
        self.words = {_key(w) for w in re.findall(r"[\w.'’]+", f"{text} {question}")}

    def missing(self, sentence: str) -> list[str]:
        """The sentence's figures no passage states and its names no passage or the question holds; the
        first word is left alone (it is capitalised as the start of the sentence)."""
        text = LIST_MARK.sub("", strip_markers(sentence)).lstrip(" \"'“(")
        terms = [n for n in NUMBER.findall(text) if figure_value(n) not in self.figures]
        for match in CAPITALISED.finditer(text):
            if match.start() == 0:
                continue
            for part in match.group().split("-"):
                key = _key(part)
                if len(key) > 1 and key not in NOT_A_CLAIM and key not in self.words:
                    terms.append(part.strip(".'"))
        return list(dict.fromkeys(terms))


@dataclass
class Checked:
    """What the checks made of a reply."""

    text: str  # the answer as shown: the supported sentences, markers normalised ("" when refused)
    citations: list[Citation]
    refused: bool  # nothing was left that answers: the answer is a refusal
    sentences: list[SentenceCheck] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # names and figures no passage states
    unanswered: list[str] = field(default_factory=list)  # parts of the question no passage meets
    # A refusal because the model named what no passage states: said to the reader (not for a reply that
    # only refused, which may repeat the question's own "2018").
    named: bool = False
    differ: tuple[int, int] | None = None  # the markers of two passages that disagree


@dataclass
class _Kept:
    text: str
    markers: list[int]
    windows: list[Window]


def is_refusal(sentence: str) -> bool:
    return bool(MODEL_REFUSAL.search(sentence)) and len(strip_markers(sentence).split()) <= REFUSAL_WORDS


def held_to(context: Context) -> str:
    """The question the answer is held to: a follow-up's standalone rewrite, or the follow-up itself when
    the search ran on it joined to the question before (no rewrite: generation.joined)."""
    query, question = context.search_query, context.question
    return question if query == question or query.endswith(f" {question}") else query


def check_reply(raw: str, context: Context, checker: Checker) -> Checked:
    """The reply checked against the passages the answer stands on, and against the question."""
    passages = context.passages
    sources = [f"{p.title} {p.text}" for p in passages]
    reply = normalise_markers(join_initials(raw, " ".join(sources)), len(passages))
    checks: list[SentenceCheck] = []
    kept: list[_Kept] = []
    grounds = Grounds(sources, f"{context.question} {context.search_query}")
    made_up: list[str] = []
    asked_text = held_to(context)
    whole = Asked.of(asked_text)
    for sentence in split_sentences(reply):
        sentence = LIST_MARK.sub("", sentence).strip()
        markers = markers_in(sentence)
        bare = strip_markers(sentence)
        if not bare:
            continue
        if not re.search(r"\w", bare):
            # A stray quote mark or dash the model left between sentences ("\" [3]"): it states nothing.
            checks.append(SentenceCheck(sentence, tuple(markers), "removed", "it states nothing"))
            continue
        if MODEL_REFUSAL.search(sentence) and (is_refusal(sentence) or not _claims(sentence)):
            checks.append(
                SentenceCheck(sentence, tuple(markers), "removed", "it says the passages do not answer")
            )
            continue
        if MODEL_REFUSAL.search(sentence):
            # "The articles do not say when, but the U.S. cut its tariff to 30% [1]": the claim is the rest.
            rest = re.split(r",?\s+but\s+", sentence, maxsplit=1)[-1]
            sentence = rest[:1].upper() + rest[1:]
        if BLANK.search(sentence):
            checks.append(
                SentenceCheck(
                    sentence, tuple(markers), "removed", "it leaves a blank where a name or figure should be"
                )
            )
            continue
        markers, reason, found = _supporting(sentence, markers, context, checker, whole)
        if reason:
            checks.append(SentenceCheck(sentence, tuple(markers), "removed", reason))
            made_up += grounds.missing(sentence)
            continue
        checks.append(SentenceCheck(sentence, tuple(markers), "supported"))
        kept.append(_Kept(sentence, markers, found))

    if context.as_of:
        kept = _reported_by(kept, checks, context)
    unanswered = []
    any_met = False
    in_text = figures(" ".join(p.text for p in passages))
    # A year a dated article was published in is stated by it ("in April 2026"), though not in its text.
    stated = in_text | {p.published[:4] for p in passages if p.published}
    unstated: list[str] = []
    asked_parts = question_parts(asked_text)
    for part in asked_parts:
        asked = Asked.of(part)
        # A year or figure no passage states ("in 2018") is a part the articles do not answer; the rest of
        # the question may still be answered.
        unstated += sorted(asked.figures - stated)
        asked.figures &= in_text
        if any(_meets(asked, k.windows, k.text, checker, MODEL_QUESTION_TERMS) for k in kept):
            any_met = True
            continue
        quoted = _quote_for(asked, context, checker, exclude={k.text for k in kept})
        if quoted is not None:
            any_met = True
            text, marker = quoted
            checks.append(SentenceCheck(text, (marker,), "supported", f"quoted from passage [{marker}]"))
            kept.append(_Kept(text, [marker], []))
        else:
            unanswered.append(part)
    differ = None
    if not any_met and _asks_for_sides(whole):
        sides = _two_sides(whole, context, checker)
        if sides:
            for text, marker in sides:
                reason = f"quoted from passage [{marker}]: the sources differ"
                checks.append(SentenceCheck(text, (marker,), "supported", reason))
                kept.append(_Kept(text, [marker], []))
            differ = (sides[0][1], sides[1][1])
            any_met, unanswered = True, []
    elif any_met and kept and _asks_for_sides(whole):
        counter = _other_side(whole, context, checker, kept)
        if counter is not None:
            text, marker = counter
            checks.append(
                SentenceCheck(
                    text, (marker,), "supported", f"quoted from passage [{marker}]: the sources differ"
                )
            )
            differ = (kept[0].markers[0] if kept[0].markers else marker, marker)
            kept.append(_Kept(text, [marker], []))
    if any_met and kept:
        written = list(kept)
        for stale, text, marker, old, new in _later_reports(written, context):
            published = passages[marker - 1].published
            reason = f"quoted from passage [{marker}]: a later report ({published}) gives {new}, not {old}"
            checks.append(SentenceCheck(text, (marker,), "supported", reason))
            _mark_stale(stale, passages)
            kept.insert(0, _Kept(_dated(text, published, LATEST), [marker], []))
        for stale, text, marker, old, new in _later_figures(written, kept, context, checker):
            reason = f"quoted from passage [{marker}]: it changes {old} to {new}"
            checks.append(SentenceCheck(text, (marker,), "supported", reason))
            _mark_stale(stale, passages)
            kept.insert(0, _Kept(_dated(text, passages[marker - 1].published, LATEST), [marker], []))
    if context.as_of:
        kept = _reported_by(kept, checks, context)
    if unstated and not any(k.windows for k in kept):
        # The model refused, and the question names a year or figure no passage states ("in 2024"): a
        # passage sentence the checks could quote is about another one.
        kept = []
    if any_met and kept and (ASKS_LATEST.search(asked_text) or whole.type == "when"):
        _date_latest(kept, passages, "As of the report of" if whole.type != "when" else "The report of")
    made_up = list(dict.fromkeys(made_up))
    if not any_met or not kept:
        named = bool(made_up) and not MODEL_REFUSAL.search(raw)
        return Checked("", [], True, checks, made_up, [], named)
    text, citations = cite([(k.text, k.markers) for k in kept], passages)
    if unanswered and len(unanswered) < len(asked_parts):
        parts = " ".join(f"“{_as_question(p)}”" for p in unanswered)
        which = "this part" if len(unanswered) == 1 else "these parts"
        text += f" {PART_NOT_ANSWERED} {which}: {parts}"
    if unstated:
        text += f" {NOTHING_FOR} {', '.join(unstated)}."
        unanswered += [f"anything for {figure}" for figure in unstated]
    return Checked(text, citations, False, checks, made_up, unanswered, differ=differ)


# Questions whose answer has sides: yes or no, "X or Y", "according to each side", "does X agree".
SIDES = re.compile(r"\b(?:or|each side|each government|both sides|agree|disagree|admit|deny|denied)\b", re.I)
# A sentence that takes the other side: a denial, a dismissal, a contrast.
COUNTER = re.compile(
    r"\b(?:denied|denies|deny|dismissed|rejected|refused|have not|has not|had not|did not|stopped short|"
    r"however|although|despite|in contrast|contrast to|doubts?|while maintaining)\b",
    re.I,
)


def _asks_for_sides(asked: Asked) -> bool:
    return asked.type == "yes-no" or bool(SIDES.search(asked.text))


def _other_side(
    asked: Asked, context: Context, checker: Checker, kept: list[_Kept]
) -> tuple[str, int] | None:
    """The passage sentence, on the question's subject, that takes the other side of what the answer says
    (a denial where it asserts, an assertion where it denies, a "however"), with its marker."""
    said = " ".join(k.text for k in kept)
    answer = Window(said)
    answer_denies = negated(said)
    best: tuple[float, str, int] | None = None
    for i, passage in enumerate(context.passages):
        for window in windows(passage.text, passage.title, checker.article(passage.doc_id)):
            text = window.text.strip()
            if window.pair or len(text.split()) < 5:
                continue
            if checker.coverage(content_words(text), answer)[0] >= RESTATES:
                continue  # the answer's own sentence ("However, …"), or a passage saying it again
            if negated(text) == answer_denies and not COUNTER.search(text):
                continue
            where = window.paragraph or text
            if asked.names and len(checker.names_missing(asked.names, where)) == len(asked.names):
                continue  # the other side names at least one of the question's names
            coverage, _ = checker.coverage(asked.words, Window(f"{window.before} {text}"))
            if coverage >= COUNTER_TERMS and (best is None or coverage > best[0]):
                best = (coverage, text, i + 1)
    return (best[1], best[2]) if best else None


def _two_sides(asked: Asked, context: Context, checker: Checker) -> list[tuple[str, int]] | None:
    """For a question with sides that no one sentence answers ("Trump says they are negotiating. Does
    Beijing agree?"): the sentence that asserts and the one that denies or counters it, each on the
    question's subject and naming one of its names at least, together naming all of them."""
    scored: list[tuple[float, bool, str, int, set[str]]] = []
    for i, passage in enumerate(context.passages):
        for window in windows(passage.text, passage.title, checker.article(passage.doc_id)):
            text = window.text.strip()
            if window.pair or len(text.split()) < 5:
                continue
            where = window.paragraph or text
            present = {n for n in asked.names if not checker.names_missing([n], where)}
            if asked.names and not present:
                continue
            coverage, _ = checker.coverage(asked.words, Window(f"{window.before} {text}"))
            if coverage >= COUNTER_TERMS:
                scored.append((coverage, negated(text) or bool(COUNTER.search(text)), text, i + 1, present))
    scored.sort(key=lambda s: -s[0])
    for first in scored:
        for second in scored:
            if second[1] == first[1] or second[2] == first[2]:
                continue
            if set(asked.names) <= first[4] | second[4]:
                plain_first, counter = (first, second) if not first[1] else (second, first)
                return [(plain_first[2], plain_first[3]), (counter[2], counter[3])]
    return None


# The same quantity: a sentence giving a figure and one that says it changed share this much of its words.
SAME_QUANTITY = 0.4
EARLIER = "Earlier: "


def _later_figures(
    written: list[_Kept], kept: list[_Kept], context: Context, checker: Checker
) -> list[tuple[_Kept, str, int, str, str]]:
    """A figure the answer gives that a passage says was changed ("decreased from 145% to 30%"), when the
    answer does not give the new one: (the sentence giving it, the passage sentence that changes it, its
    marker, the old figure, the new one). Over undated articles the change itself is what says which
    figure is later; a dated change older than the sentence's own report is not later."""
    said = " ".join(k.text for k in kept)
    stated = figures(said)
    found: list[tuple[_Kept, str, int, str, str]] = []
    for i, passage in enumerate(context.passages):
        if _after(passage, context):
            continue
        for window in windows(passage.text, passage.title, checker.article(passage.doc_id)):
            text = window.text.strip()
            if window.pair or text in said:
                continue
            for old, new in changes(text):
                holder = next(
                    (k for k in written if old in figures(k.text) and not _older(passage, k, context)), None
                )
                if holder is not None and _restated_later(passage, holder, old, context):
                    continue
                if holder is None or new in stated or any(f[1] == text for f in found):
                    continue
                share, _ = checker.coverage(content_words(strip_markers(holder.text)), Window(text))
                if share >= SAME_QUANTITY:
                    found.append((holder, text, i + 1, old, new))
                    stated.add(new)
    return found


# The labels of a changed figure from dated reports: "Latest (report of D): …", "Earlier (report of D): …".
LATEST = "Latest"
EARLIER_DATED = "Earlier"


def _report_dates(markers: list[int], passages: list[Passage]) -> list[str]:
    """The dates of the dated reports these markers cite, oldest first (undated ones left out)."""
    return sorted(d for m in markers if (d := passages[m - 1].published))


# A question that wants the value in force now: the answer says as of which report.
ASKS_LATEST = re.compile(
    r"\b(?:now|still|latest|current|currently|these days|today|anymore|at present)\b", re.I
)


def _date_latest(kept: list[_Kept], passages: list[Passage], label: str) -> None:
    """ "As of the report of 2026-09-09, …" for a "now" question ("The report of 2026-09-09, …" for "when",
    whose answer may say only "on Wednesday"): the first sentence from a dated report is dated, unless the
    answer already says which report is the latest."""
    if any(k.text.startswith((LATEST, f"{EARLIER_DATED} (")) for k in kept):
        return
    for k in kept:
        dates = _report_dates(k.markers, passages)
        if dates:
            text = YES_OR_NO.sub("", k.text)
            k.text = f"{label} {dates[-1]}, {_continuing(text)}"
            return


def _after(passage: Passage, context: Context) -> bool:
    """Whether the passage's report came out after the time the question asks about."""
    return bool(context.as_of and passage.published and passage.published > context.as_of)


def _older(passage: Passage, sentence: _Kept, context: Context) -> bool:
    """Whether the passage's report came out before every dated report the sentence cites."""
    dates = _report_dates(sentence.markers, context.passages)
    return bool(passage.published and dates and passage.published < dates[0])


def _restated_later(passage: Passage, sentence: _Kept, figure: str, context: Context) -> bool:
    """Whether a report dated after the passage's gives the quantity the sentence's figure is a value of:
    the change the passage states is then not the latest word ("raised from 4.50% to 4.75%" in March, "cut
    to 4.50%" in September)."""
    if not passage.published:
        return False
    quantity = next((v.quantity for v in values(strip_markers(sentence.text)) if v.figure == figure), None)
    if quantity is None or not quantity.head:
        return False
    return any(
        current_value(window.text, quantity) is not None
        for other in context.passages
        if other.published and other.published > passage.published and not _after(other, context)
        for window in windows(other.text, other.title)
        if not window.pair
    )


def _reported_by(kept: list[_Kept], checks: list[SentenceCheck], context: Context) -> list[_Kept]:
    """For a question about a time ("in April 2026"), the sentences whose reports came out by then, or later
    but saying it of that month ("3.8% in February", reported in March); the others are removed."""
    assert context.as_of
    out = []
    for k in kept:
        late = bool(k.markers) and all(_after(context.passages[m - 1], context) for m in k.markers)
        said = [f"{w.before} {w.text}" for w in k.windows] or [k.text]
        if late and not any(names_month(context.as_of, text) for text in said):
            reason = (
                f"its report came out after {context.as_of} and does not say it of {month_of(context.as_of)}"
            )
            checks[:] = [
                SentenceCheck(c.text, c.markers, "removed", reason) if c.text == k.text else c for c in checks
            ]
            continue
        out.append(k)
    return out


def _dated(text: str, published: str | None, label: str) -> str:
    """ "Latest (report of 2026-09-09): …" for a figure from a dated report; undated, the text as it is."""
    if not published:
        return text
    return f"{label} (report of {published}): {_continuing(text)}"


def _continuing(text: str) -> str:
    """A sentence that goes on after a label: "the bank …", but "Halden …" and "U.S. …" as they are."""
    return re.sub(
        r"^(?:The|A|An|Its|It|This|That|These|Those|Their|They)\b", lambda m: m.group().lower(), text
    )


def _mark_stale(stale: _Kept, passages: list[Passage]) -> None:
    """The sentence a later figure replaces, said to be the earlier one (with its report's date)."""
    if stale.text.startswith((EARLIER, f"{EARLIER_DATED} (")):
        return
    dates = _report_dates(stale.markers, passages)
    text = YES_OR_NO.sub("", stale.text)
    stale.text = _dated(text, dates[-1], EARLIER_DATED) if dates else EARLIER + text


def _later_reports(kept: list[_Kept], context: Context) -> list[tuple[_Kept, str, int, str, str]]:
    """A figure the answer gives from a dated report when a later report among the passages gives the same
    quantity another value ("held at 5.00%" of July, "cut to 4.50%" of September): (the sentence giving it,
    the latest report's sentence, its marker, the old figure, the new one). The date of each article says
    which is later; an undated article is never put in order."""
    passages = context.passages
    said = " ".join(k.text for k in kept)
    found: list[tuple[_Kept, str, int, str, str]] = []
    for holder in list(kept):
        dates = _report_dates(holder.markers, passages)
        if not dates:
            continue
        for value in values(strip_markers(holder.text)):
            if not value.current or not value.quantity.head:
                continue
            latest: tuple[str, str, int, str] | None = None
            for i, passage in enumerate(passages):
                if not passage.published or passage.published <= dates[-1] or _after(passage, context):
                    continue
                for window in windows(passage.text, passage.title):
                    now = None if window.pair else current_value(window.text, value.quantity)
                    if now is not None and (latest is None or passage.published > latest[0]):
                        latest = (passage.published, window.text.strip(), i + 1, now)
            if latest and latest[3] == value.figure:
                # The latest report gives the same figure: the sentence is cited to it, and dated by it.
                holder.markers = [latest[2]]
            elif latest and latest[1] not in said:
                found.append((holder, latest[1], latest[2], value.figure, latest[3]))
                said += " " + latest[1]
    return found


def _claims(sentence: str) -> bool:
    """A sentence that refuses one part and answers another ("… do not give the date, but the U.S. cut its
    tariff to 30%") still claims something: a figure, or a clause after "but"."""
    return bool(figures(sentence)) or bool(re.search(r",?\s+but\s+\S+\s+\S+", sentence))


def _supporting(
    sentence: str, markers: list[int], context: Context, checker: Checker, asked: Asked
) -> tuple[list[int], str | None, list[Window]]:
    """(markers, None, the supporting windows) when the cited passages state the sentence, re-pointed at
    the passage that states it when the cited one does not; else (markers, why not, [])."""
    passages = context.passages
    reasons: list[str] = []
    good: list[int] = []
    found: list[Window] = []
    claim = strip_markers(sentence)
    for m in markers:
        why = checker.why_unsupported(claim, passages[m - 1].text, SENTENCE_SUPPORT, asked)
        if why is None:
            good.append(m)
            found.append(_best_window(checker, claim, passages[m - 1])[0])
        else:
            reasons.append(f"[{m}]: {why}")
    if good:
        return good, None, found
    # Small models cite the passage next to the one they quote, or none: the one that states it, if any.
    others = [i + 1 for i in range(len(passages)) if i + 1 not in markers]
    scored = []
    for m in others:
        if checker.why_unsupported(claim, passages[m - 1].text, REPOINT_SUPPORT, asked) is None:
            window, score = _best_window(checker, claim, passages[m - 1])
            scored.append((score, m, window))
    if scored:
        _, m, window = max(scored, key=lambda s: s[0])
        return [m], None, [window]
    if not markers:
        return [], "no passage states this", []
    return markers, "; ".join(reasons) if len(reasons) > 1 else reasons[0].split(": ", 1)[1], []


def _best_window(checker: Checker, claim: str, passage: Passage) -> tuple[Window, float]:
    article = checker.article(passage.doc_id)
    return checker.best_window(claim, passage.text, SENTENCE_SUPPORT, passage.title, article)


def _meets(
    asked: Asked, found: list[Window], sentence: str, checker: Checker, terms: float = QUESTION_TERMS
) -> bool:
    """Whether the passages supporting a sentence meet the question's terms (and the sentence its type)."""
    if not found:
        return False
    text = " ".join(f"{w.before} {w.text}" for w in found)
    core = " ".join(w.text for w in found)
    # Who or what is asked about must be named in the paragraph of the supporting sentence; where or after
    # what, and the country its subject acts towards, anywhere in its article ("after the Geneva talks"
    # over "discussions held in Switzerland", in another chunk; but "the EU trade team" is the subject, and
    # must stand where the claim does).
    places = [n for n in asked.names if aliases_in(n) and _is_setting(n, asked.text)]
    people = [n for n in asked.names if n not in places]
    where = " ".join(w.paragraph or f"{w.before} {w.text}" for w in found)
    missing = checker.names_missing(people, where)
    if missing and any("?" in speakers(w.text) for w in found):
        # "she replied": who "she" is was named before the paragraph, in the passage.
        where = " ".join(w.passage or w.paragraph for w in found)
        missing = checker.names_missing(missing, where)
    if missing:
        return False
    if checker.names_missing(
        places, " ".join(w.article or w.passage or w.paragraph or w.text for w in found)
    ):
        return False
    if asked.figures - figures(core):
        return False
    if asked.speaker and not _speaks(asked.speaker, text):
        return False
    if not meets_type(asked, strip_markers(sentence)):
        return False
    if roles_missing(asked, where):
        return False  # "Which Indian minister …": Bessent, whose paragraph gives no minister
    if not any(checker.called(asked, w.text) for w in found):
        return False  # "Which automaker …": Trump, in a sentence that mentions automakers
    coverage = checker.coverage_with_names(asked, Window(text, paragraph=where))
    # A figure the question names, found where the names are, is itself most of the match.
    return coverage >= (FIGURE_QUESTION_TERMS if asked.figures else terms)


def _is_setting(name: str, question: str) -> bool:
    """The name is the place or occasion of the question ("in Geneva", "after the Geneva talks") or the
    country its subject acts towards ("wanted from the U.S.", "tariffs on Chinese goods")."""
    return any(name in m.group() for m in (*SETTING.finditer(question), *TOWARDS.finditer(question)))


# A country or body the subject of a question acts towards: named anywhere in the passage will do.
TOWARDS = re.compile(
    r"\b(?:from|to|on|against|toward|towards|with|into)\s+(?:the\s+)?(?:[A-Z][\w.'’-]*\s*){1,3}"
)


def _speaks(name: str, text: str) -> bool:
    who = speakers(text, resolve=True)
    return "?" in who or any(same_name(name, s) for s in who)


def _quote_for(asked: Asked, context: Context, checker: Checker, exclude: set[str]) -> tuple[str, int] | None:
    """The sentence of the evidence (what the model read first, then the rest of its passages) that meets
    the question's terms best, with its passage's marker; None when none meets them."""
    candidates: list[tuple[int, str, Window]] = []
    read = {i: texts for i, texts in context.evidence.items()}
    for i, passage in enumerate(context.passages):
        for window in windows(passage.text, passage.title, checker.article(passage.doc_id)):
            text = window.text.strip()
            if len(text.split()) < 4 or text in exclude:
                continue
            if not re.search(r"[.!?…][\"'”’»)]*$", text) or "\n" in text:  # a heading states nothing
                continue
            candidates.append((i + 1, text, window))
    best: tuple[bool, float, bool, int, str] | None = None
    for marker, text, window in candidates:
        if not _meets(asked, [window], text, checker):
            continue
        coverage, _ = checker.coverage(asked.words, window)
        in_read = any(text in t for t in read.get(marker - 1, []))
        # One sentence before two (two only when no one sentence meets the question: "Earlier this month,
        # … announced plans to reduce tariffs." "Specifically, … from 145% to 30% …").
        key = (not window.pair, coverage, in_read, -marker, text)
        if best is None or key[:4] > best[:4]:
            best = key
    if best is None:
        return None
    return best[4], -best[3]


def _as_question(part: str) -> str:
    """A part of a question as its own question: "what did X say" → "What did X say?"."""
    part = part.strip().rstrip("?").strip()
    return part[:1].upper() + part[1:] + "?"
