"""The check that leaves out sentences stating names or figures no passage holds."""

from assistant.answering.checks import Grounds

PASSAGES = [
    "After mutual retaliatory measures, the U.S. currently imposes a 145% tariff on Chinese goods. "
    "China’s list of exempt goods includes ethane. US-China talks stalled, Bessent said. "
    "Exports fell by 1,000 tonnes, or 1.50 percent.",
    "Karoline Leavitt said the administration received 18 written proposals.",
]


def test_made_up_names_and_figures_are_named():
    grounds = Grounds(PASSAGES, "Who is the U.S. ambassador to China?")
    assert grounds.missing("The U.S. ambassador to China is John F. Kerry [1].") == ["John", "Kerry"]
    assert grounds.missing("The automaker was General Motors (GM) [1].") == ["General", "Motors", "GM"]
    assert grounds.missing("The U.S. imposed a 145% tariff in 2018 [1].") == ["2018"]
    assert grounds.missing("It received 25 proposals [2].") == ["25"]  # "125" or "145" is not "25"


def test_the_same_names_and_figures_written_differently_are_grounded():
    grounds = Grounds(PASSAGES)
    for sentence in (
        "The US imposes a 145% tariff on Chinese goods [1].",  # "US" for "U.S."
        "The United States and America's partners talked [1].",
        "China's list includes ethane [1].",  # straight apostrophe for the passage's curly one
        "US-China talks stalled, Bessent said [1].",
        "Exports fell by 1000 tonnes, or 1.5 percent [1].",
        "**Answer:** Leavitt said 18 proposals came in [2].",  # the first word, after markdown, is left alone
        "1. Overall, Leavitt said 18 proposals came in [2].",
    ):
        assert Grounds(PASSAGES).missing(sentence) == [], sentence
    assert grounds.missing("Bessent said talks stalled [1].") == []


def test_a_name_may_come_from_the_question_but_a_figure_must_come_from_a_passage():
    grounds = Grounds(PASSAGES, "What did Angela Merkel say about the tariff in 2018?")
    assert grounds.missing("The tariff was 145% in 2018, said Angela Merkel [1].") == ["2018"]
