from assistant.answering.citations import normalise_markers, resolve, split_sentences
from assistant.results import Passage

PASSAGES = [
    Passage(
        "geneva",
        "Talks",
        "Tariffs on Chinese goods were decreased from 145% to 30% after Geneva.",
        0.7,
        10,
        80,
    ),
    Passage("bessent", "Bessent", 'Bessent said a deal in 90 days was "nearly impossible".', 0.6, 0, 55),
]


def test_markers_pointing_at_no_passage_are_removed():
    assert normalise_markers("Tariffs fell [1][7]. Also [0].", 2) == "Tariffs fell [1]. Also."


def test_marker_variants_are_normalised():
    assert (
        normalise_markers("A [Passage 2]. B [1, 2]. C [1-2]. D 【1】.", 2)
        == "A [2]. B [1][2]. C [1][2]. D [1]."
    )


def test_each_kept_marker_maps_to_its_passage_and_sentences():
    text, citations = resolve(
        'The tariff fell from 145% to 30% [1]. Bessent called it "nearly impossible" [2][5].', PASSAGES
    )
    assert text == 'The tariff fell from 145% to 30% [1]. Bessent called it "nearly impossible" [2].'
    assert [(c.marker, c.doc_id, c.start, c.end) for c in citations] == [
        (1, "geneva", 10, 80),
        (2, "bessent", 0, 55),
    ]
    assert citations[0].text == PASSAGES[0].text
    assert citations[1].sentences == ('Bessent called it "nearly impossible".',)


def test_markers_after_the_full_stop_belong_to_the_sentence_before():
    assert split_sentences("Tariffs fell to 30%. [1] Bessent spoke.") == [
        "Tariffs fell to 30%. [1]",
        "Bessent spoke.",
    ]


def test_an_uncited_sentence_gets_the_passage_it_plainly_comes_from():
    text, citations = resolve("Tariffs on Chinese goods decreased from 145% to 30%.", PASSAGES)
    assert text == "Tariffs on Chinese goods decreased from 145% to 30% [1]."
    assert [c.marker for c in citations] == [1]


def test_a_sentence_with_a_number_no_passage_has_stays_uncited():
    text, citations = resolve("Tariffs on Chinese goods decreased from 145% to 50%.", PASSAGES)
    assert citations == [] and "[" not in text


def test_a_citation_whose_passage_lacks_the_number_is_moved_to_the_passage_that_has_it():
    passages = [PASSAGES[1], PASSAGES[0]]  # the 145%/30% passage is now [2]
    text, citations = resolve("Tariffs on Chinese goods fell from 145% to 30% [1].", passages)
    assert text == "Tariffs on Chinese goods fell from 145% to 30% [2]."
    assert [c.marker for c in citations] == [2]


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
