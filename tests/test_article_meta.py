"""An article's published date, outlet and author: read from front matter, HTML meta tags and JSON-LD,
<time datetime> and PDF metadata, never invented, stored in the index and returned on every Passage and
Citation; the seed articles stay undated."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.errors import DocumentError, InvalidQuestionError
from assistant.indexing.article_meta import iso_date
from assistant.indexing.documents import load_document
from tests.conftest import CORPUS, minimal_pdf

FRONT_MATTER = """---
title: Ports reopen after the strike
date: 2025-06-03
source: Harbour Gazette
author: Mira Osei
---
Dock workers returned on Monday. Cargo moved through Long Beach again after twelve days.
"""

PAGE = """<!doctype html><html><head><title>Freight | Example Wire</title>
<meta property="og:site_name" content="Example Wire">
<meta property="article:published_time" content="2025-06-10T07:30:00+00:00">
<meta name="author" content="https://example.invalid/staff/lee">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "name": "Example Wire"},
  {"@type": ["NewsArticle"], "headline": "Freight rates climb", "datePublished": "2025-06-09",
   "author": [{"@type": "Person", "name": "Ann Lee"}, {"@type": "Person", "name": "Bo Chen"}],
   "publisher": {"@type": "Organization", "name": "Example Wire Service"}}]}</script>
</head><body><h1>Freight rates climb</h1><p>Rates from Shanghai rose 40% in June.</p></body></html>"""


def test_front_matter_gives_the_date_outlet_author_and_title(tmp_path: Path):
    path = tmp_path / "ports.md"
    path.write_text(FRONT_MATTER)
    doc = load_document(path)
    assert (doc.published, doc.outlet, doc.author) == ("2025-06-03", "Harbour Gazette", "Mira Osei")
    assert doc.title == "Ports reopen after the strike" and doc.text.startswith("Dock workers returned")
    assert "Mira" not in doc.text and "---" not in doc.text  # the front matter is not the article's text


def test_json_ld_wins_over_meta_tags_and_a_profile_url_is_no_author(tmp_path: Path):
    path = tmp_path / "freight.html"
    path.write_text(PAGE)
    doc = load_document(path)
    assert doc.published == "2025-06-09"  # JSON-LD's datePublished before article:published_time
    assert doc.outlet == "Example Wire Service" and doc.author == "Ann Lee, Bo Chen"
    assert doc.title == "Freight rates climb"

    tags_only = tmp_path / "tags.html"
    tags_only.write_text(PAGE.split("<script")[0] + "</head><body><p>Rates rose.</p></body></html>")
    doc = load_document(tags_only)
    assert (doc.published, doc.outlet, doc.author) == ("2025-06-10", "Example Wire", None)

    timed = tmp_path / "timed.html"
    timed.write_text('<html><body><p>Posted <time datetime="2025-07-01">July 1</time>. Talks resumed.</p>')
    assert load_document(timed).published == "2025-07-01"


def test_a_pdf_gives_its_author_and_creation_date(tmp_path: Path):
    data = minimal_pdf(["Tariffs were cut to 30 percent."], title="Tariff note")
    data = data.replace(b"<< /Title (Tariff note) >>", b"<< /Title (Tariff note) /Author (R. Diaz) "
                        b"/CreationDate (D:20250514093000Z) >>")  # fmt: skip
    path = tmp_path / "note.pdf"
    path.write_bytes(data)
    doc = load_document(path)
    assert (doc.published, doc.author, doc.title) == ("2025-05-14", "R. Diaz", "Tariff note")


def test_nothing_is_invented_and_the_seed_articles_stay_undated(tmp_path: Path):
    for path in sorted(CORPUS.iterdir()):
        doc = load_document(path)
        assert (doc.published, doc.outlet, doc.author) == (None, None, None), path.name
    plain = tmp_path / "plain.txt"
    plain.write_text("Talks resumed\nOfficials met in Geneva on May 10, 2025, the ministry said.\n")
    assert load_document(plain).published is None  # a date in the text is not the article's date
    odd = tmp_path / "odd.md"
    odd.write_text("---\ndate: sometime in spring\nsource: [Wire]\n---\nTalks resumed.\n")
    doc = load_document(odd)
    assert doc.published is None and doc.outlet == "Wire"


def test_front_matter_that_is_not_yaml_is_named(tmp_path: Path):
    path = tmp_path / "broken.md"
    path.write_text("---\ndate: [2025-06-03\nsource: x\n---\nText.\n")
    with pytest.raises(DocumentError, match=r"broken.md: its front matter is not valid YAML \(line \d+\)"):
        load_document(path)


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2025-05-12", "2025-05-12"),
        ("2025-05-12T23:10:00-04:00", "2025-05-12"),
        ("Mon, 12 May 2025 10:00:00 GMT", "2025-05-12"),
        ("12 May 2025", "2025-05-12"),
        ("May 12, 2025", "2025-05-12"),
        (dt.date(2025, 5, 12), "2025-05-12"),
        (dt.datetime(2025, 5, 12, 8, 0), "2025-05-12"),
        ("2025-13-40", None),
        ("last Tuesday", None),
        ("", None),
        (20250512, None),
    ],
)
def test_dates_are_read_as_iso_or_not_at_all(value: object, iso: str | None):
    assert iso_date(value) == iso


def test_the_metadata_is_on_every_passage_and_citation_and_a_change_to_it_reindexes(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ports.md").write_text(FRONT_MATTER)
    (corpus / "freight.html").write_text(PAGE)
    (corpus / "undated.md").write_text("# Cranes\n\nThe port of Oakland ordered four new cranes in May.\n")
    assistant = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", llm="extractive")
    assistant.ingest()
    [top] = assistant.retrieve("How long were cargo moves stopped at Long Beach?", k=1)
    assert (top.doc_id, top.published, top.outlet, top.author) == (
        "ports", "2025-06-03", "Harbour Gazette", "Mira Osei"
    )  # fmt: skip
    answer = assistant.ask("How much did freight rates from Shanghai rise in June?")
    cited = {c.doc_id: c for c in answer.citations}
    assert cited["freight"].published == "2025-06-09" and cited["freight"].outlet == "Example Wire Service"
    undated = assistant.retrieve("Which port ordered four new cranes?", k=1)[0]
    assert undated.doc_id == "undated" and undated.published is None
    status = assistant.status()
    assert (
        status.documents["ports"].published == "2025-06-03" and status.documents["undated"].published is None
    )

    # The same text with another date is a changed article: indexed again, with the new date.
    (corpus / "ports.md").write_text(FRONT_MATTER.replace("2025-06-03", "2025-06-04"))
    assert assistant.ingest().updated == ["ports"]
    assert assistant.retrieve("How long were cargo moves stopped at Long Beach?", k=1)[0].published == (
        "2025-06-04"
    )


def test_a_date_range_searches_only_the_articles_published_in_it(tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for day in ("2025-06-01", "2025-06-15", "2025-07-01"):
        (corpus / f"cranes-{day}.md").write_text(
            f"---\ndate: {day}\nsource: Port Wire\n---\n# Cranes {day}\n\n"
            f"On {day} the port of Oakland reported {day[-2:]} new cranes at its terminals.\n"
        )
    (corpus / "cranes-undated.md").write_text("# Cranes\n\nThe port of Oakland reported new cranes.\n")
    assistant = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", llm="extractive")
    assistant.ingest()
    question = "How many new cranes did the port of Oakland report?"

    def dated(since: str | dt.date | None = None, until: str | dt.date | None = None) -> set[str | None]:
        return {p.published for p in assistant.retrieve(question, k=10, since=since, until=until)}

    assert dated() == {"2025-06-01", "2025-06-15", "2025-07-01", None}
    assert dated(since="2025-06-10") == {"2025-06-15", "2025-07-01"}
    assert dated(until="2025-06-15") == {"2025-06-01", "2025-06-15"}  # both ends included
    assert dated(since=dt.date(2025, 6, 2), until=dt.date(2025, 6, 30)) == {"2025-06-15"}
    assert dated(since="2026-01-01") == set()

    answer = assistant.ask(question, since="2025-06-10")
    assert {c.published for c in answer.citations} <= {"2025-06-15", "2025-07-01"} and answer.citations
    assert answer.dates_note == (
        "Only articles published since 2025-06-10 were searched (2 of 4); 1 undated article was left out."
    )
    assert assistant.ask(question).dates_note == ""
    nothing = assistant.ask(question, since="2026-01-01")
    assert nothing.abstained and "(0 of 4)" in nothing.dates_note

    wrong = [
        ("2025-13-01", None, "since: '2025-13-01' is not a date"),
        ("June 2025", None, "give it as YYYY-MM-DD"),
        ("2025-07-01", "2025-06-01", "since 2025-07-01 is after until 2025-06-01"),
    ]
    for since, until, says in wrong:
        with pytest.raises(InvalidQuestionError, match=re.escape(says)):
            assistant.retrieve(question, since=since, until=until)
