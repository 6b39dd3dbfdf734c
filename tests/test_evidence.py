"""What the model reads: the best sentences of the retrieved passages, within a word budget."""

from pathlib import Path

from assistant import Assistant
from assistant.answering.coverage import missing_names
from assistant.answering.evidence import (
    RELEVANCE_GAP,
    Evidence,
    question_parts,
    rank_sentences,
    select_evidence,
)
from assistant.answering.prompts import answer_messages
from assistant.results import Passage
from tests.conftest import CORPUS


def _evidence(texts: list[str], scores: list[float]) -> list[Evidence]:
    """One passage's sentences in reading order, returned best first as rank_sentences does."""
    found = [
        Evidence(score, 0, 100 * i, text) for i, (text, score) in enumerate(zip(texts, scores, strict=True))
    ]
    return sorted(found, key=lambda e: -e.score)


def test_budget_is_kept_and_the_best_sentence_always_comes():
    ranked = _evidence(
        ["one two three four five six", "alpha beta gamma delta", "a b c d e f g h"], [0.9, 0.8, 0.7]
    )
    assert [e.text for e in select_evidence(ranked, 10)] == [
        "one two three four five six",
        "alpha beta gamma delta",
    ]
    assert [e.text for e in select_evidence(ranked, 2)] == ["one two three four five six"]


def test_a_sentence_that_points_back_brings_the_one_before_it():
    ranked = _evidence(
        [
            "Other news came in that day.",
            "Kevin Hassett spoke on Monday about trade.",
            "He said talks went well.",
        ],
        [0.1, 0.2, 0.9],
    )
    chosen = [e.text for e in select_evidence(ranked, 100)]
    assert chosen[:2] == ["Kevin Hassett spoke on Monday about trade.", "He said talks went well."]


def test_the_best_sentence_brings_a_following_one_that_continues_it():
    ranked = _evidence(
        [
            "China compiled a list of exempt U.S. goods.",
            "This list includes ethane.",
            "Unrelated words here.",
        ],
        [0.9, 0.1, 0.5],
    )
    assert "This list includes ethane." in [e.text for e in select_evidence(ranked, 12)]


def test_a_pronoun_after_an_opening_clause_points_back():
    ranked = _evidence(
        [
            "Other news came in that day.",
            '"We are moving quickly," Ms. Leavitt said.',
            'When asked whether tariffs work, she replied: "Be patient."',
        ],
        [0.1, 0.2, 0.9],
    )
    assert [e.text for e in select_evidence(ranked, 10)] == [
        '"We are moving quickly," Ms. Leavitt said.',
        'When asked whether tariffs work, she replied: "Be patient."',
    ]


def test_a_quote_left_open_brings_the_sentence_that_names_its_speaker():
    ranked = _evidence(
        [
            '"If the U.S. wants dialogue, it should stop threatening.',
            'Pressure will not work," said spokesperson Guo Jiakun.',
            "Unrelated words here.",
        ],
        [0.9, 0.1, 0.5],
    )
    chosen = [e.text for e in select_evidence(ranked, 12)]
    assert chosen[:2] == [
        '"If the U.S. wants dialogue, it should stop threatening.',
        'Pressure will not work," said spokesperson Guo Jiakun.',
    ]


def test_the_sentence_after_the_best_comes_when_it_holds_what_was_asked():
    ranked = _evidence(
        [
            "Bessent said the talks stalled after a temporary truce.",
            "The truce followed discussions held in Switzerland.",
            "Unrelated words here.",
        ],
        [0.9, 0.1, 0.8],
    )
    question = "In which country were the discussions held that led to the truce?"
    assert [e.text for e in select_evidence(ranked, 13, question)] == [
        "Bessent said the talks stalled after a temporary truce.",
        "The truce followed discussions held in Switzerland.",
    ]
    # It adds nothing the question did not ask for: without the question, the budget goes by rank.
    assert [e.text for e in select_evidence(ranked, 13)][1] == "Unrelated words here."


def test_sentences_far_below_the_best_are_left_out_though_they_fit():
    ranked = _evidence(
        ["Leavitt said 18 proposals were received.", "Talks went on.", "Tariffs rose last year."],
        [0.9, 0.8, 0.9 - RELEVANCE_GAP - 0.01],
    )
    assert [e.text for e in select_evidence(ranked, 100)] == [
        "Leavitt said 18 proposals were received.",
        "Talks went on.",
    ]


def test_each_part_of_a_question_gets_its_best_sentence_however_far_below():
    question = "What did Bessent say about the talks, and what did observers suggest?"
    best, part, other = (
        Evidence(0.9, 0, 0, "Bessent said the talks were a bit stalled."),
        Evidence(0.5, 0, 200, "Observers suggest a call between the two leaders."),
        Evidence(0.4, 0, 400, "Tariffs rose sharply last year."),
    )
    # rank_sentences puts the best sentence for each further part second.
    assert [e.text for e in select_evidence([best, part, other], 100, question)] == [best.text, part.text]


def test_an_opening_clause_naming_this_thing_continues_the_best_sentence():
    ranked = _evidence(
        [
            "President Trump signed an executive order on car tariffs.",
            "Under this order, carmakers pay no extra levies on steel.",
            "Automakers lobbied hard.",
        ],
        [0.9, 0.3, 0.85],
    )
    chosen = [e.text for e in select_evidence(ranked, 12)]
    assert chosen == [
        "President Trump signed an executive order on car tariffs.",
        "Under this order, carmakers pay no extra levies on steel.",
    ]


def test_the_model_reads_the_sentences_that_answer_not_whole_passages(extractive_assistant):
    pipeline = extractive_assistant.pipeline
    context = pipeline.prepare_context("Which U.S. goods did China exempt from its 125% tariffs?")
    read = " ".join(" ".join(texts) for texts in context.evidence.values())
    assert "ethane" in read
    assert len(read.split()) <= extractive_assistant.settings.evidence_words + 40
    prompt = str(answer_messages(context)[1].content)
    assert "ethane" in prompt and len(prompt.split()) < sum(len(p.text.split()) for p in context.passages)
    # Every passage the model reads is shown, and the markers it sees are the shown passages' numbers.
    for i in context.evidence:
        assert f"[{i + 1}] " in prompt and context.passages[i]


def test_a_short_question_matching_one_sentence_is_answered(extractive_assistant):
    # The chunk that names Kevin Hassett is mostly about other things; his sentence matches well.
    answer = extractive_assistant.ask("Who is Kevin Hassett?")
    assert not answer.abstained and "National Economic Council" in answer.text


def test_a_who_question_is_answered_by_a_person_in_the_role_it_asks_for(extractive_assistant):
    # To the embedding model a minister, a secretary and an adviser are alike (0.56-0.57): the articles name
    # Japan's minister, and Bessent (Treasury Secretary, chief trade adviser) beside India and South Korea.
    japanese = "Which Japanese minister travelled to Washington for talks with Bessent?"
    answer = extractive_assistant.ask(japanese)
    assert not answer.abstained and "Amari" in answer.text
    for question in (
        "Which Indian minister travelled to Washington for talks with Bessent?",
        "Who is South Korea's trade minister?",
    ):
        answer = extractive_assistant.ask(question)
        assert answer.abstained, (question, answer.text)


def test_what_a_spokesperson_said_is_found_where_the_quote_names_them_after_it(extractive_assistant):
    # '"… not the right way to deal with China …," said Chinese Foreign Ministry spokesperson Guo Jiakun.'
    answer = extractive_assistant.ask(
        "What does the White House say about contacts with Chinese officials, and what does Guo Jiakun say?"
    )
    assert not answer.abstained and not answer.unanswered, answer.text
    assert any("Guo" in c.text and "pressure" in c.text for c in answer.citations)


def test_a_month_in_the_question_is_not_taken_for_a_missing_name(extractive_assistant):
    context = extractive_assistant.prepare_context(
        "By how much were U.S. tariffs on Chinese goods cut in May?"
    )
    assert context.covered and context.missing_names == []


def test_whole_passages_when_the_budget_is_zero(built_index: Path):
    assistant = Assistant(corpus_dir=CORPUS, index_dir=built_index, llm="extractive", evidence_words=0)
    context = assistant.prepare_context("Which U.S. goods did China exempt from its 125% tariffs?")
    assert context.evidence == {} and len(context.passages) == assistant.settings.top_k


def test_passages_shown_are_k_and_hold_everything_the_model_reads(extractive_assistant):
    pipeline = extractive_assistant.pipeline
    for k in (1, 2, 4):
        context = pipeline.prepare_context("Were the U.S. and China negotiating on tariffs?", k=k)
        assert len(context.passages) == k and context.evidence
        for i, texts in context.evidence.items():
            assert all(" ".join(t.split()) in " ".join(context.passages[i].text.split()) for t in texts)


def test_a_question_in_two_parts_gets_a_sentence_for_each(extractive_assistant):
    question = (
        "What did Bessent say would be needed to move the stalled US-China talks forward, "
        "and what did observers suggest?"
    )
    assert question_parts(question) == [
        "What did Bessent say would be needed to move the stalled US-China talks forward",
        "what did observers suggest",
    ]
    # "and what after?" names nothing to look for: the question stays whole.
    assert len(question_parts("What tariff did China impose before the talks, and what after?")) == 1
    context = extractive_assistant.pipeline.prepare_context(question)
    read = " ".join(" ".join(texts) for texts in context.evidence.values())
    assert "observers" in read and "stalled" in read


def test_headings_are_never_evidence(extractive_assistant):
    heading = "China and US Trade Talks Hit a Roadblock, Says Treasury Secretary"
    # A blank line or a single newline may follow the heading.
    for gap in ("\n\n", "\n"):
        passage = Passage(
            doc_id="d",
            title="t",
            text=f"{heading}{gap}Bessent said the talks were a bit stalled.",
            score=1.0,
            start=0,
            end=0,
        )
        ranked = rank_sentences(
            "Did the trade talks hit a roadblock?", [passage], extractive_assistant.pipeline.embed_model
        )
        assert [e.text for e in ranked] == ["Bessent said the talks were a bit stalled."]


def test_a_country_or_body_named_another_way_is_not_a_missing_name():
    passage = Passage(
        "eu", "Talks", "European officials offered to buy more natural gas from the U.S.", 0.6, 0, 80
    )
    assert missing_names("What did Brussels put on the table for Washington?", [passage]) == []
    assert missing_names("What did Brazil offer Washington?", [passage]) == ["Brazil"]
