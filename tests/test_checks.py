"""The checks after generation, on hand-made passages: every answer sentence against its passage, every
question's terms against the passages that answer it. No model: words match by stem and alias only here
(test_local_model and the evaluation run them with the embedding model's synonyms too)."""

from assistant.answering.checks import Grounds, check_reply
from assistant.answering.citations import normalise_markers, split_sentences
from assistant.answering.support import Asked, Checker, Lexicon, speakers
from assistant.results import Context, Passage

GENEVA = Passage(
    "geneva", "Talks", "Tariffs on Chinese goods were decreased from 145% to 30% after Geneva.", 0.7, 10, 80
)
BESSENT = Passage("bessent", "Bessent", 'Bessent said a deal in 90 days was "nearly impossible".', 0.6, 0, 55)
LEAVITT = Passage(
    "leavitt",
    "Race",
    "White House Press Secretary Karoline Leavitt stated that the administration has received 18 written "
    'proposals and the U.S. trade team "met with 34 countries just this week."\n'
    # another paragraph
    "European Commission President Ursula von der Leyen said she has had countless negotiations "
    "with heads of state.",
    0.6,
    0,
    300,
)
KOREA = Passage(
    "korea",
    "Race",
    "However, it is unclear whether the South Korean government has the capacity to negotiate, as its "
    "president has been impeached and elections will not take place until June 3.",
    0.6,
    0,
    160,
)
DENIAL = Passage(
    "denial",
    "Race",
    "Beijing also denied that it is negotiating trade with Washington. "
    '"China and the U.S. have not conducted any consultations or negotiations related to tariffs," '
    "Mr. Guo said. However, a White House official stated that some low-level direct meetings took "
    "place this week.",
    0.6,
    0,
    300,
)
CHECKER = Checker(Lexicon(None, None))


def _check(reply: str, question: str, passages: list[Passage]):
    return check_reply(reply, Context(question, question, passages, True), CHECKER)


def test_a_supported_sentence_keeps_its_marker_and_a_bad_marker_goes():
    checked = _check(
        'The tariff fell from 145% to 30% [1]. Bessent called it "nearly impossible" [2][5].',
        "What happened to the tariff on Chinese goods, and what did Bessent say about a deal?",
        [GENEVA, BESSENT],
    )
    assert not checked.refused
    assert checked.text == 'The tariff fell from 145% to 30% [1]. Bessent called it "nearly impossible" [2].'
    assert [(c.marker, c.doc_id, c.start, c.end) for c in checked.citations] == [
        (1, "geneva", 10, 80),
        (2, "bessent", 0, 55),
    ]
    assert checked.citations[1].sentences == ('Bessent called it "nearly impossible".',)
    assert [s.status for s in checked.sentences] == ["supported", "supported"]


def test_an_uncited_sentence_gets_the_passage_that_states_it():
    checked = _check(
        "Tariffs on Chinese goods decreased from 145% to 30%.", "What happened to tariffs?", [GENEVA]
    )
    assert checked.text == "Tariffs on Chinese goods decreased from 145% to 30% [1]."


def test_a_sentence_cited_to_the_wrong_passage_is_re_pointed_at_the_one_that_states_it():
    checked = _check(
        "Tariffs on Chinese goods fell from 145% to 30% [1].", "What happened to tariffs?", [BESSENT, GENEVA]
    )
    assert checked.text == "Tariffs on Chinese goods fell from 145% to 30% [2]."


def test_a_figure_its_passage_does_not_state_is_removed_and_the_passage_quoted_instead():
    checked = _check(
        "Tariffs on Chinese goods decreased from 145% to 50% [1].", "What happened to tariffs?", [GENEVA]
    )
    wrong, quoted = checked.sentences
    assert wrong.status == "removed" and "does not state 50%" in wrong.reason
    assert quoted.status == "supported" and quoted.reason == "quoted from passage [1]"
    assert checked.text == "Tariffs on Chinese goods were decreased from 145% to 30% after Geneva [1]."
    # With nothing in the passages that answers, a wrong figure leaves a refusal.
    assert _check(
        "Bessent's pipeline deal cost 50 dollars [1].",
        "How much did Bessent's pipeline deal cost in dollars?",
        [BESSENT],
    ).refused


def test_a_changed_relation_is_removed():
    checked = _check("Tariffs on Chinese goods decreased by 145% [1].", "What happened to tariffs?", [GENEVA])
    assert "its passage gives 145% from, not by it" in checked.sentences[0].reason
    assert "decreased by 145%" not in checked.text


def test_a_name_the_supporting_sentence_does_not_hold_is_removed():
    # 34 countries is Leavitt's figure, of the U.S. team; von der Leyen is quoted elsewhere in the passage.
    checked = _check(
        "The EU trade team met with 34 countries, according to Ursula von der Leyen [1].",
        "How many countries did the EU trade team meet this week?",
        [LEAVITT],
    )
    assert checked.refused
    assert "does not name" in checked.sentences[0].reason


def test_a_sentence_that_restates_the_question_is_not_taken_for_the_passage():
    checked = _check(
        "Yes, the 145% tariff on Chinese goods is still in force [1].",
        "Is the 145% tariff on Chinese goods still in force?",
        [GENEVA],
    )
    assert checked.sentences[0].status == "removed"


def test_a_blank_where_the_claim_should_be_never_survives():
    checked = _check("The official who ruled on it was [1].", "Who ruled on the tariffs?", [GENEVA])
    assert checked.refused and "blank" in checked.sentences[0].reason


def test_a_stray_quote_mark_with_a_marker_is_not_an_answer_sentence():
    checked = _check(
        'Bessent called a deal in 90 days "nearly impossible" [1]. " [1]',
        "What did Bessent say about a deal in 90 days?",
        [BESSENT],
    )
    assert not checked.refused and checked.text.endswith("[1].")
    assert [s.status for s in checked.sentences] == ["supported", "removed"]
    assert checked.sentences[1].reason == "it states nothing"


def test_a_swapped_speaker_is_removed():
    passage = Passage(
        "xi",
        "Talks",
        "President Donald Trump has publicly maintained that Chinese President Xi "
        "Jinping must take the first step in any resolution.",
        0.6,
        0,
        120,
    )
    checked = _check(
        "Xi Jinping said that President Trump must take the first step [1].",
        "What did Xi Jinping say about the first step?",
        [passage],
    )
    assert checked.sentences[0].status == "removed" and "saying it" in checked.sentences[0].reason
    assert checked.refused  # and no sentence has Xi saying anything


def test_a_true_sentence_about_another_subject_does_not_answer_the_question():
    # Leavitt's 34 countries is true, but the question asks about the EU.
    checked = _check(
        'The U.S. trade team "met with 34 countries just this week" [1].',
        "How many countries did the EU trade team meet this week?",
        [LEAVITT],
    )
    assert checked.sentences[0].status == "supported" and checked.refused


def test_a_model_that_refuses_what_a_passage_states_is_answered_from_the_passage():
    checked = _check(
        "The articles do not answer this question.",
        "On what date will South Korea hold its elections?",
        [KOREA],
    )
    assert not checked.refused and "June 3" in checked.text and checked.text.endswith("[1].")
    assert (
        checked.sentences[0].status == "removed" and checked.sentences[1].reason == "quoted from passage [1]"
    )
    # ... but not what no passage states: its twin asks about Japan.
    twin = _check(
        "The articles do not answer this question.", "On what date will Japan hold its elections?", [KOREA]
    )
    assert twin.refused


def test_the_answer_fits_the_question_type():
    # "When" wants a time the passage states; a sentence with none does not answer it.
    checked = _check(
        "Tariffs on Chinese goods were decreased from 145% to 30% [1].",
        "When were tariffs on Chinese goods decreased?",
        [GENEVA],
    )
    assert checked.refused
    assert Asked.of("How many proposals did Leavitt get?").type == "number"
    assert Asked.of("Who is Greta Peisch?").type == "who"
    assert Asked.of("Is Beijing still charging 125%?").type == "yes-no"


def test_a_part_no_passage_answers_is_said_so():
    checked = _check(
        "Tariffs on Chinese goods were decreased from 145% to 30% [1].",
        "What happened to tariffs on Chinese goods, and what did Xi Jinping say about it?",
        [GENEVA],
    )
    assert not checked.refused and checked.unanswered == ["what did Xi Jinping say about it"]
    assert checked.text.endswith("The articles do not answer this part: “What did Xi Jinping say about it?”")


def test_markers_pointing_at_no_passage_are_removed():
    assert normalise_markers("Tariffs fell [1][7]. Also [0].", 2) == "Tariffs fell [1]. Also."


def test_marker_variants_are_normalised():
    assert (
        normalise_markers("A [Passage 2]. B [1, 2]. C [1-2]. D 【1】.", 2)
        == "A [2]. B [1][2]. C [1][2]. D [1]."
    )


def test_markers_after_the_full_stop_belong_to_the_sentence_before():
    assert split_sentences("Tariffs fell to 30%. [1] Bessent spoke.") == [
        "Tariffs fell to 30%. [1]",
        "Bessent spoke.",
    ]


def test_made_up_names_are_told_to_the_reader():
    checked = _check(
        "The U.S. ambassador to China is John Kerry [1].", "Who is the U.S. ambassador to China?", [GENEVA]
    )
    assert checked.refused and checked.named and checked.unsupported == ["John", "Kerry"]
    assert Grounds([GENEVA.text]).missing("It was 25% in 2018 [1].") == ["25", "2018"]


def test_strip_markers_leaves_the_claims_for_a_judge():
    from assistant.answering.citations import strip_markers

    assert strip_markers('She replied: "Be patient and you will see [1]." Rates fell [1, 2].') == (
        'She replied: "Be patient and you will see." Rates fell.'
    )


def test_initials_the_model_spaced_out_are_written_as_the_sources_write_them():
    from assistant.answering.citations import join_initials

    sources = "talks with U.S. Trade Representative Jamieson Greer; a novel by J. K. Rowling"
    text = "He met U. S. Trade Representative Greer, then read J. K. Rowling and the E. U. report [1]."
    assert join_initials(text, sources) == (
        "He met U.S. Trade Representative Greer, then read J. K. Rowling and the E. U. report [1]."
    )


def test_a_sentence_that_says_the_opposite_of_its_passage_is_removed():
    checked = _check(
        "Guo said China and the U.S. have conducted consultations related to tariffs [1].",
        "What did Guo say about consultations related to tariffs?",
        [DENIAL],
    )
    assert checked.sentences[0].status == "removed" and "opposite" in checked.sentences[0].reason


def test_a_question_with_two_sides_gets_each_side_with_its_passage():
    text = (
        'President Trump also asserted that the U.S. and China are "actively" conducting trade negotiations.'
    )
    trump = Passage("trump", "Race", text, 0.6, 0, 110)
    checked = _check(
        "The articles do not answer this question.",
        "Trump says they are actively negotiating trade. Does Beijing agree?",
        [DENIAL, trump],
    )
    assert not checked.refused and checked.differ is not None
    assert "actively" in checked.text and "denied" in checked.text
    assert sorted(checked.differ) == [1, 2]
    assert any(s.reason.endswith("the sources differ") for s in checked.sentences)


def test_the_other_side_is_never_the_sentence_the_answer_already_cites():
    meetings = Passage(
        "meetings",
        "Race",
        "However, a White House official stated that some low-level direct meetings and a phone call "
        "between U.S. and Chinese officials took place this week.",
        0.6,
        0,
        150,
    )
    checked = _check(
        "Yes, a White House official stated that some low-level direct meetings and a phone call between "
        "U.S. and Chinese officials took place this week [1].",
        "Did U.S. and Chinese officials hold low-level meetings this week?",
        [meetings, DENIAL],
    )
    # Not the "However, …" of the very sentence the answer gives, nor another passage saying it again.
    assert not checked.refused and checked.text.count("low-level direct meetings") == 1
    assert not any(s.reason.endswith("the sources differ") for s in checked.sentences)


OBSERVERS = Passage(
    "observers",
    "Talks",
    "Amid these tensions, some observers believe a phone call between Donald Trump and Xi Jinping could "
    "revive the stalled negotiations.",
    0.6,
    0,
    140,
)


def test_a_view_given_to_a_name_when_its_passage_gives_it_to_unnamed_observers_is_removed():
    checked = _check(
        "China says that a phone call between Donald Trump and Xi Jinping could revive the stalled "
        "negotiations [1].",
        "How could the stalled negotiations be revived?",
        [OBSERVERS],
    )
    assert checked.sentences[0].status == "removed" and "observers saying it" in checked.sentences[0].reason
    # The same claim given to whom the passage gives it stands.
    checked = _check(
        "Some observers believe a phone call between Donald Trump and Xi Jinping could revive the stalled "
        "negotiations [1].",
        "How could the stalled negotiations be revived?",
        [OBSERVERS],
    )
    assert not checked.refused and checked.sentences[0].status == "supported"


def test_what_does_x_say_is_met_only_by_x_speaking():
    assert Asked.of("What does China say about the talks?").speaker == "China"
    bessent = Passage(
        "bessent-talks", "Talks", "Bessent said further talks with China are expected in the coming weeks.",
        0.6, 0, 80,
    )  # fmt: skip
    checked = _check(
        "Further talks with China are expected in the coming weeks [1].",
        "What does China say about the talks?",
        [bessent],
    )
    assert checked.refused  # Bessent's words are not China's
    guo = Passage(
        "guo", "Talks", "Chinese foreign ministry spokesperson Guo Jiakun said the talks had not begun.",
        0.6, 0, 80,
    )  # fmt: skip
    checked = _check(
        "Guo Jiakun said the talks had not begun [1].", "What does China say about the talks?", [guo]
    )
    assert not checked.refused


def test_a_he_who_speaks_is_someone_the_sentence_before_names():
    # "He" is Bessent, whom the sentence before names: his words are not China's. The question's speaker
    # met by a "he" whose sentence before names no one is still possible.
    passage = Passage(
        "bessent-he", "Talks",
        "Bessent remains optimistic about talks between President Trump and Chinese President Xi Jinping. "
        "He emphasized that the Chinese government will be responsive once Trump sets out his expectations.",
        0.6, 0, 80,
    )  # fmt: skip
    checked = _check(
        "The Chinese government will be responsive once Trump sets out his expectations [1].",
        "What does China say about the talks?",
        [passage],
    )
    assert checked.refused
    assert speakers("Trade fell. He emphasized that talks will go on.", resolve=True) == {"?"}
    spoke = 'Press secretary Karoline Leavitt spoke on Monday. She replied: "Be patient."'
    assert speakers(spoke, resolve=True) == {"Karoline Leavitt"}


CURRENT = Passage(
    "current",
    "Race",
    "After mutual retaliatory measures, the U.S. currently imposes a 145% tariff on Chinese goods.",
    0.6,
    0,
    90,
)


def test_a_figure_a_later_passage_changes_gives_the_latest_first_and_keeps_what_it_replaced():
    checked = _check(
        "Yes, the U.S. currently imposes a 145% tariff on Chinese goods [1].",
        "What is the tariff on Chinese goods?",
        [CURRENT, GENEVA],
    )
    assert checked.text == (
        "Tariffs on Chinese goods were decreased from 145% to 30% after Geneva [2]. "
        "Earlier: the U.S. currently imposes a 145% tariff on Chinese goods [1]."
    ) or checked.text == (
        "Tariffs on Chinese goods were decreased from 145% to 30% after Geneva [2]. "
        "Earlier: The U.S. currently imposes a 145% tariff on Chinese goods [1]."
    )
    assert {c.marker for c in checked.citations} == {1, 2}
    assert "changes 145% to 30%" in checked.sentences[-1].reason


def test_an_answer_that_gives_the_new_figure_is_left_as_it_is():
    checked = _check(
        "Tariffs on Chinese goods were decreased from 145% to 30% [2].",
        "What is the tariff on Chinese goods?",
        [CURRENT, GENEVA],
    )
    assert checked.text == "Tariffs on Chinese goods were decreased from 145% to 30% [2]."


def test_a_change_of_another_quantity_is_not_taken_for_a_later_figure():
    other = Passage(
        "other", "Race", "Chinese tariffs on American soybeans went from 145% to 60% at one port.", 0.6, 0, 70
    )
    checked = _check(
        "The U.S. currently imposes a 145% tariff on Chinese goods [1].",
        "What is the tariff on Chinese goods?",
        [CURRENT, other],
    )
    assert checked.text == "The U.S. currently imposes a 145% tariff on Chinese goods [1]."


def test_a_quote_whose_speaker_is_she_is_met_by_the_name_given_earlier_in_the_passage():
    passage = Passage(
        "leavitt2",
        "Race",
        "Press Secretary Karoline Leavitt spoke on Monday.\n"
        'When asked whether tariffs are really effective, she replied: "Be patient and you will see."',
        0.6,
        0,
        150,
    )
    checked = _check(
        "The articles do not answer this question.",
        "What did Karoline Leavitt reply when asked whether tariffs are really effective?",
        [passage],
    )
    assert not checked.refused
    assert checked.text.startswith("When asked whether tariffs are really effective, she replied")
    assert [c.marker for c in checked.citations] == [1]


def test_the_country_a_question_acts_towards_may_be_named_anywhere_in_the_passage():
    passage = Passage(
        "eu",
        "Race: the U.S. and others",
        'Talks go on.\n"We wanted more clarity on expectations," said Valdis Dombrovskis, '
        "the European Commissioner.",
        0.6,
        0,
        120,
    )
    asked = "What did Valdis Dombrovskis say the EU wanted from the U.S.?"
    checked = _check("The articles do not answer this question.", asked, [passage])
    assert not checked.refused and "clarity" in checked.text
    # The subject itself must stand where the claim does: another bloc's commissioner is not the EU's.
    twin = "What did Valdis Dombrovskis say Japan wanted from the U.S.?"
    assert _check("The articles do not answer this question.", twin, [passage]).refused


def test_hyphenated_question_words_count_by_their_parts():
    assert "government" in Asked.of("Who is the ex-government trade official?").words
    assert "stage" in Asked.of("Who went for early-stage talks?").words


def test_a_marker_after_an_initialism_keeps_its_dot_and_adds_no_second_one():
    from assistant.answering.citations import append_marker

    assert append_marker("The EU wants more clarity from the U.S. [1].", [1]) == (
        "The EU wants more clarity from the U.S. [1]"
    )
    assert append_marker("It fell to 30%..", [2]) == "It fell to 30% [2]."


def test_the_setting_a_question_names_may_stand_anywhere_in_the_article():
    article = "The talks were held in Geneva.\nTariffs on Chinese goods were cut from 145% to 30%."
    passage = Passage("art", "Talks", "Tariffs on Chinese goods were cut from 145% to 30%.", 0.6, 31, 83)
    question = "What is the tariff on Chinese goods after the Geneva talks?"
    context = Context(question, question, [passage], True)
    reply = "Tariffs on Chinese goods were cut from 145% to 30% [1]."
    assert check_reply(reply, context, CHECKER).refused  # the chunk alone never names Geneva
    knowing = Checker(Lexicon(None, None), lambda doc_id: article if doc_id == "art" else "")
    assert check_reply(reply, context, knowing).text == reply


def test_a_follow_up_searched_with_the_question_before_it_is_held_to_its_own_words():
    from assistant.answering.checks import held_to

    follow_up = "And what did China do?"
    joined = f"What tariff did the U.S. impose after Geneva? {follow_up}"
    assert held_to(Context(follow_up, joined, [], True)) == follow_up
    rewritten = "What did China do after the Geneva talks?"
    assert held_to(Context(follow_up, rewritten, [], True)) == rewritten


JAPAN = Passage(
    "japan",
    "Talks",
    'Bessent stated that negotiations with Japan will include many factors such as "tariffs, non-tariff '
    'trade barriers, currency manipulation," but will not include specific targets for the USD - yen '
    "exchange rate. Trump denied that China would bear the brunt of the costs.",
    0.6,
    0,
    300,
)


def test_a_sentence_quoted_word_for_word_is_supported_negation_in_a_later_clause_and_all():
    """Before, the whole sentence's "not" was held against the one clause of the passage closest to it, so
    the passage's own sentence was removed as denying itself."""
    sentence = JAPAN.text.split(" Trump")[0]
    checked = _check(sentence + " [1]", "What will the U.S.-Japan negotiations cover, and what not?", [JAPAN])
    assert [s.status for s in checked.sentences][:1] == ["supported"], checked.sentences
    # Clause by clause: a paraphrase that keeps each clause's yes and no is supported too ...
    said = (
        "Negotiations with Japan will include tariffs and currency manipulation, but will not include targets"
    )
    assert CHECKER.why_unsupported(said, JAPAN.text, 0.5) is None
    # ... and one that moves the "not" to the other clause is not.
    flipped = (
        "Negotiations with Japan will not include tariffs, but will include targets for the exchange rate"
    )
    assert CHECKER.why_unsupported(flipped, JAPAN.text, 0.5) is not None


def test_a_quote_that_starts_after_a_denial_is_not_the_passage_saying_it():
    """ "China would bear the brunt of the costs" is in the passage, after "Trump denied that": not a
    quote of what the passage states."""
    from assistant.answering.support import quoted

    assert not quoted("China would bear the brunt of the costs [1].", JAPAN.text)
    assert quoted("Trump denied that China would bear the brunt of the costs [1].", JAPAN.text)
    assert not quoted("Trump denied it [1].", JAPAN.text)  # too short to be a quote of its own


WEIBO = Passage(
    "weibo",
    "Talks",
    "However, a Weibo post by the account Yuyuantantian, affiliated with China Central Television (CCTV), "
    "indicated that Beijing would only be willing to engage in talks if the United States took meaningful "
    "measures.",
    0.6,
    0,
    200,
)


def test_which_official_or_account_is_answered_by_a_name_the_question_does_not_give():
    question = "Which Weibo account affiliated with China Central Television said Beijing wanted measures?"
    assert Asked.of(question).type == "which-named"
    assert Asked.of("What did the court ruling say about the tariffs?").type != "which-named"
    # The model restates the question without the name: the passage sentence that names it is quoted.
    checked = _check(
        "The Weibo account affiliated with China Central Television said Beijing wanted measures [1].",
        question,
        [WEIBO],
    )
    assert "Yuyuantantian" in checked.text
    assert any(s.reason.startswith("quoted") for s in checked.sentences)


def test_two_of_the_passage_own_sentences_quoted_as_one_are_supported():
    """Two paragraphs of the passage the reply runs together ("… with the U.S. [1] She …"): no window spans
    both, so the second's "not" meets no clause of the first's; word for word they are the passage's own."""
    reeves = Passage(
        "reeves",
        "Europe",
        "In Europe, UK Treasury Secretary Rachel Reeves stated that the country has no plans to rush into "
        "signing a trade agreement with the U.S.\n\nShe emphasized that she wants to reduce trade barriers "
        "between the UK and other countries, but there are hard boundaries that the UK government will not "
        "cross, such as changing food safety or automotive standards.",
        0.6,
        0,
        330,
    )
    reply = reeves.text.replace("the U.S.\n\nShe", "the U.S. [1] She") + " [1]"
    checked = _check(reply, "What did Rachel Reeves say about a trade agreement with the U.S.?", [reeves])
    assert not checked.refused and all(s.status == "supported" for s in checked.sentences), checked.sentences


def test_who_speaks_is_read_in_the_speech_verb_own_sentence():
    from assistant.answering.support import speakers

    text = (
        "China's retaliatory tariffs on American imports dropped from 125% to 10%. The goal behind these "
        "tariffs, as stated by President Trump, is to persuade consumers."
    )
    assert "American" not in speakers(text) and "Trump" in speakers(text)
    assert "U.S" in " ".join(speakers("The U.S. trade team said it met 34 countries."))


GUO = Passage(
    "guo",
    "Race",
    '"If the U.S. really wants to resolve issues through dialogue, they should stop threatening China. '
    'Applying maximum pressure on China is not the right way to deal with China," said Chinese Foreign '
    "Ministry spokesperson Guo Jiakun.\n"
    'Beijing also denied it is negotiating. "China and the U.S. have not conducted any negotiations," '
    "Mr. Guo said.",
    0.6,
    0,
    330,
)


def test_the_speaker_of_a_quote_is_named_after_it_not_inside_it():
    # '"… deal with China," said … spokesperson Guo Jiakun': China is in the quote, Guo Jiakun speaks.
    said = speakers(GUO.text.split("\n")[0])
    assert "Guo Jiakun" in said and "China" not in said
    assert speakers('"We are ready," said the White House. Guo Jiakun left.', exact=True) == {"White House"}
    assert speakers('"No," he said.') == {"?"}  # a pronoun is still a pronoun
    checked = _check("The articles do not answer this question.", "What did Guo Jiakun say?", [GUO])
    assert not checked.refused and "maximum pressure" in checked.text


def test_a_person_named_by_a_title_and_their_family_name_is_named():
    # Chinese names put the family name first: "Mr. Guo" is Guo Jiakun, "Mr. Jiakun" would not be said.
    assert CHECKER.names_missing(["Guo Jiakun"], '"… any negotiations," Mr. Guo said.') == []
    assert CHECKER.names_missing(["Guo Jiakun"], "Mr. Wang said.") == ["Guo Jiakun"]
    assert CHECKER.names_missing(["Karoline Leavitt"], "Ms. Leavitt said.") == []


def test_the_role_a_who_question_asks_for_must_be_the_one_the_passage_gives():
    # Bessent is named in the passage, but as a Treasury Secretary and negotiator, not a trade minister.
    bessent = Passage(
        "bessent2",
        "Race",
        "U.S. Treasury Secretary Bessent, the chief trade adviser and negotiator, expressed optimism about "
        "a trade agreement with South Korea.",
        0.6,
        0,
        140,
    )
    checked = _check("Bessent is South Korea's trade negotiator [1].", "Who is South Korea's trade minister?",
                     [bessent])  # fmt: skip
    assert checked.refused
    amari = Passage(
        "amari",
        "Race",
        "On Wednesday, Japan's Minister for Economic Revitalization, Akira Amari, will travel to Washington.",
        0.6,
        0,
        100,
    )
    checked = _check("Akira Amari [1].", "Which Japanese minister travelled to Washington?", [amari])
    assert not checked.refused and "Amari" in checked.text
    # A spokeswoman is a spokesperson; who asks no role ("Who is Bessent?") is not held to one.
    checked = _check("Guo Jiakun [1].", "Who is the foreign ministry's spokeswoman?", [GUO])
    assert not checked.refused


def test_which_automaker_is_answered_by_a_name_standing_by_that_word():
    # Trump is a name the question does not give, but nothing calls him an automaker.
    lobbying = Passage(
        "autos",
        "Autos",
        "President Trump signed an executive order that grants exemptions to certain car and parts tariffs, "
        "a move that follows intense lobbying from automakers. The order also restricts AI chip sales to "
        "Chinese companies, notably including Huawei.",
        0.6,
        0,
        230,
    )
    checked = _check(
        "President Trump signed the order after lobbying from automakers [1].",
        "Which automaker lobbied hardest for the auto parts exemption?",
        [lobbying],
    )
    assert checked.refused
    checked = _check("Huawei [1].", "Which Chinese company is named in the AI chip restrictions?", [lobbying])
    assert not checked.refused and "Huawei" in checked.text
    assert Asked.of("Which automaker lobbied hardest?").head == "automaker"


def test_an_official_or_a_leader_asked_for_may_be_any_named_person():
    # "Official" is what any minister or secretary is: it is not held to its own word as "minister" is.
    said = 'U.S. Treasury Secretary Scott Bessent said a deal in 90 days was "nearly impossible".'
    passage = Passage("bessent3", "Race", said, 0.6, 0, 90)
    checked = _check(
        "Scott Bessent [1].", 'Which U.S. official said a deal in 90 days was "nearly impossible"?', [passage]
    )
    assert not checked.refused and "Bessent" in checked.text
