"""As-of answers and timelines over dated articles (dated_corpus/, the dated eval's articles): which quantity
a figure is a value of, the time a question asks about, a later report's figure put first with both dates,
and a "how did X change" question answered by a dated table quoted from the reports. Real index, real
embedding model; the answers here need no model (timelines are quoted, the checks are given a reply)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.answering.checks import check_reply
from assistant.answering.dates import AskedTime
from assistant.answering.pipeline import TIMELINE_MODEL
from assistant.answering.quantities import Quantity, current_value, quantity_before, values
from assistant.answering.timeline import asked_quantity
from assistant.results import Context
from assistant.ui.render import answer_html

DATED = Path(__file__).resolve().parent.parent / "dated_corpus"
SEED = Path(__file__).resolve().parent.parent / "docs_corpus"


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    assistant = Assistant(
        corpus_dir=DATED, index_dir=tmp_path_factory.mktemp("dated-index"), llm="extractive"
    )
    assistant.ingest()
    return assistant


def test_a_figure_is_a_value_of_the_noun_before_it_and_a_change_ends_on_the_current_one():
    [old, new] = values("Halden's single ferry fare rose from 3.20 crowns to 3.60 crowns on Sunday.")
    assert (old.figure, old.current, new.figure, new.current) == ("3.2", False, "3.6", True)
    assert new.quantity == Quantity("price", frozenset({"single", "ferry"}))  # a fare is a price
    # "the cost of X": a price, of X ("cost" is a verb elsewhere); "had" is not a word of the quantity.
    assert quantity_before("the cost of Halden's monthly ferry pass ") == Quantity(
        "price", frozenset({"pass", "ferry", "monthly"})
    )
    # Not the lenders: the phrase before "offered by" names it.
    [mortgage] = values("The average mortgage rate offered by lenders stood at 6.2%.")
    assert mortgage.quantity.head == "rate" and "mortgage" in mortgage.quantity.modifiers
    key = values("The bank cut its key rate from 5.00% to 4.50%, its first cut since 2023.")
    assert [(v.figure, v.current) for v in key] == [("5%", False), ("4.5%", True)]  # 2023 is a year
    assert not mortgage.quantity.same(key[1].quantity)  # "average mortgage rate" is not "key rate"
    asked = Quantity("rate", frozenset({"key", "interest"}))
    assert current_value("The Bank of Norvik left its key rate unchanged at 5.00%.", asked) == "5%"
    assert current_value("Inflation fell to 2.9% in June.", asked) is None


def test_the_quantity_a_timeline_question_asks_about():
    assert asked_quantity("How did the Bank of Norvik's key rate change over 2026?") == Quantity(
        "rate", frozenset({"key"})
    )
    assert asked_quantity("How did average mortgage rates in Norvik move?") == Quantity(
        "rate", frozenset({"average", "mortgage"})
    )
    assert asked_quantity("Give me a timeline of the Bank of Norvik's interest rate decisions.") == Quantity(
        "rate", frozenset({"interest"})
    )
    assert asked_quantity("Walk me through how the Halden ferry fare moved.") == Quantity(
        "price", frozenset({"ferry"})
    )
    assert asked_quantity("What did the Bank of Norvik decide in May?") is None


def test_the_time_a_question_asks_about():
    april = AskedTime.of("What was the Bank of Norvik's key rate in April 2026?")
    assert april is not None and (april.until, april.month, april.label) == (
        "2026-04-30",
        "April",
        "April 2026",
    )
    assert AskedTime.of("What was it on 9 September 2026?").until == "2026-09-09"  # type: ignore[union-attr]
    assert AskedTime.of("What was it in December 2025?").until == "2025-12-31"  # type: ignore[union-attr]
    assert AskedTime.of("What is the rate now?") is None


def test_a_how_did_it_change_question_gets_a_dated_table_quoted_from_the_reports(dated: Assistant):
    answer = dated.ask("How did the Halden ferry fare change in 2026?")
    assert answer.model == TIMELINE_MODEL and not answer.abstained
    dates = [row.published for row in answer.timeline]
    assert dates == ["2026-02-02", "2026-06-20", "2026-10-05"]  # one row a report, oldest first
    for figure in ("3.20", "3.60", "3.00"):
        assert figure in answer.text
    # Every row is its passage's own sentence, and cites it.
    for row in answer.timeline:
        assert row.text in answer.passages[row.marker - 1].text
        assert row.doc_id == answer.passages[row.marker - 1].doc_id
    assert [c.marker for c in answer.citations] == sorted({r.marker for r in answer.timeline})
    assert all(s.status == "supported" for s in answer.sentences)
    table = answer_html(answer)
    assert table.count("<tr>") == 4 and "2026-06-20" in table and 'href="#source-2"' in table

    # Another quantity of the same noun is left out: the mortgage rate is not the key rate.
    mortgage = dated.ask("How did average mortgage rates in Norvik move?")
    assert [r.published for r in mortgage.timeline] == ["2026-01-14", "2026-05-06"]
    assert all("mortgage" in r.text for r in mortgage.timeline)


def test_no_timeline_over_undated_articles(tmp_path: Path):
    seed = Assistant(corpus_dir=SEED, index_dir=tmp_path / "index", llm="extractive")
    seed.ingest()
    context = seed.prepare_context("How did the U.S. tariff on Chinese goods change?")
    assert context.timeline == []  # their order could only be guessed: the question goes to the model


def test_a_later_report_s_figure_is_put_first_with_both_dates(dated: Assistant):
    passages = dated.retrieve("Bank of Norvik key rate held cut", k=12)
    july = next(p for p in passages if p.published == "2026-07-15")
    september = next(p for p in passages if p.published == "2026-09-09" and "4.50%" in p.text)
    question = "Is the Bank of Norvik's key rate still 5.00%?"
    context = Context(question, question, [july, september], True)
    checked = check_reply(
        "Yes, the Bank of Norvik left its key rate unchanged at 5.00% [1].", context, dated.pipeline.checker
    )
    assert not checked.refused
    assert checked.text.startswith("Latest (report of 2026-09-09):"), checked.text
    assert "4.50%" in checked.text.split("Earlier")[0]
    assert "Earlier (report of 2026-07-15):" in checked.text and "Yes," not in checked.text
    assert {c.marker for c in checked.citations} == {1, 2}

    # The same reply over the July report alone stands, dated by its report.
    alone = check_reply(
        "The Bank of Norvik left its key rate unchanged at 5.00% [1].",
        Context(question, question, [july], True),
        dated.pipeline.checker,
    )
    assert alone.text.startswith("As of the report of 2026-07-15, the Bank of Norvik"), alone.text


def test_a_question_about_a_month_searches_the_reports_of_that_time(dated: Assistant):
    context = dated.prepare_context("What was the Bank of Norvik's key rate in April 2026?")
    assert context.as_of == "2026-04-30"
    assert context.passages
    for p in context.passages:
        article = dated.pipeline.retriever.article_text(p.doc_id)
        assert p.published and (p.published <= "2026-04-30" or re.search(r"\bApril\b", article)), p.doc_id
    assert "April 2026" in context.dates_note and "undated article was left out" in context.dates_note
    # A sentence only a later report gives, not said of April, is removed.
    may = next(
        p for p in dated.retrieve("raised its key rate again to 5.00%", k=6) if p.published == "2026-05-06"
    )
    late = Context(context.question, context.question, [may], True, as_of="2026-04-30")
    checked = check_reply(
        "The Bank of Norvik raised its key rate from 4.75% to 5.00% [1].", late, dated.pipeline.checker
    )
    assert checked.refused
    assert any("after 2026-04-30" in s.reason for s in checked.sentences)


@pytest.mark.browser
def test_the_chat_shows_a_timeline_as_a_table_with_a_citation_a_row(tmp_path: Path):
    """A real `assistant serve` over a copy of the dated articles (no model: a timeline is quoted) and a real
    Chromium: the table's rows are the reports, oldest first, and each row's marker opens its source card."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import launch_chromium, serve_on

    corpus = tmp_path / "corpus"
    shutil.copytree(DATED, corpus)
    with (
        serve_on(corpus, tmp_path / "index", tmp_path / "serve.log", ASSISTANT_LLM="extractive") as running,
        sync_playwright() as p,
    ):
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(running["url"], wait_until="load")
            box = page.locator("#question textarea")
            box.fill("How did the Halden ferry fare change in 2026?")
            box.press("Enter")
            page.wait_for_selector("#chat table.timeline tbody tr", timeout=60_000)
            rows = page.locator("#chat table.timeline tbody tr")
            assert rows.count() == 3
            cells = [rows.nth(i).locator("td").first.inner_text() for i in range(3)]
            assert cells == ["2026-02-02", "2026-06-20", "2026-10-05"]
            assert "3.20" in rows.nth(0).inner_text() and "3.00" in rows.nth(2).inner_text()
            link = rows.nth(2).locator("a.cite")
            target = link.get_attribute("href")
            assert target and target.startswith("#source-")
            link.click()
            page.wait_for_function(f"location.hash === '{target}'", timeout=10_000)
            assert "students" in page.locator(target).inner_text().lower()
        finally:
            browser.close()


def test_a_year_no_passage_states_is_refused_not_answered_by_a_quoted_passage(dated: Assistant):
    question = "How much did Halden raise its ferry fare in 2024?"
    passages = [p for p in dated.retrieve("Halden ferry fare rose froze", k=6) if p.published]
    context = Context(question, question, passages, True)
    refused = check_reply("The articles do not answer this question.", context, dated.pipeline.checker)
    assert refused.refused, refused.text
    # The same question about the year the reports give is answered from the passage that states it.
    asked = "How much did Halden raise its ferry fare in 2026?"
    answered = check_reply(
        "The articles do not answer this question.",
        Context(asked, asked, passages, True),
        dated.pipeline.checker,
    )
    assert not answered.refused and "3.60" in answered.text, answered.text
