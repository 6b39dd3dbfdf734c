import json
from pathlib import Path

import pytest

from assistant import Assistant, CorpusError
from assistant.results import Passage
from assistant.ui.render import highlight, link_markers, sources_panel, strip_links


def test_markers_become_links_and_html_in_answers_is_escaped():
    html = link_markers("Tariffs fell to 30% <script>x</script> [2].")
    assert (
        html == 'Tariffs fell to 30% &lt;script&gt;x&lt;/script&gt; <a class="cite" href="#source-2">[2]</a>.'
    )
    assert strip_links(html) == "Tariffs fell to 30% <script>x</script> [2]."


def test_no_markdown_link_survives_into_the_chat():
    text = "See [the video](javascript:alert(1)) and ![x](http://127.0.0.1:9/x.png) [1].\n"
    text += "[ref]: javascript:alert(2)"
    shown = link_markers(text)
    assert "](" not in shown and "]:" not in shown and shown.count('class="cite"') == 1
    assert strip_links(shown) == text  # the history the model reads is the text as written


def test_cited_sentences_are_highlighted_in_their_passage():
    passage = "The talks stalled. Tariffs on Chinese goods fell from 145% to 30%. Markets rose."
    marked = highlight(passage, ("Tariffs on Chinese goods fell to 30%.",))
    assert (
        marked
        == "The talks stalled. <mark>Tariffs on Chinese goods fell from 145% to 30%.</mark> Markets rose."
    )


def test_sources_panel_labels_refusals_and_shows_the_search():
    passages = [Passage("d", "T <b>", "text", 0.2, 0, 4)]
    panel = sources_panel(passages, "standalone question", "and China?", covered=False)
    assert 'id="source-1"' in panel and "T &lt;b&gt;" in panel
    assert (
        "they do not answer the question" in panel and "searched for: <em>standalone question</em>" in panel
    )


def test_every_card_says_who_published_the_article_and_when_or_that_it_is_undated():
    dated = Passage("d", "T", "text", 0.5, 0, 4, published="2025-06-03", outlet="Gazette <i>", author="M. O")
    panel = sources_panel([dated, Passage("u", "U", "text", 0.4, 0, 4)], "q", "q", covered=True)
    assert "Gazette &lt;i&gt; · M. O · 2025-06-03" in panel and panel.count("undated") == 1


def test_remove_document_keeps_the_file_and_drops_its_chunks(corpus: Path, tmp_path: Path):
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", llm="extractive")
    a.ingest()
    report = a.remove_document("02-bessent-90-day-deals-nearly-impossible")
    assert report.removed == ["02-bessent-90-day-deals-nearly-impossible"]
    assert (corpus / ".removed" / "02-bessent-90-day-deals-nearly-impossible.md").is_file()
    assert all(not p.doc_id.startswith("02-") for p in a.retrieve("nearly impossible Bessent", k=8))
    assert a.status().pending == [] and len(a.status().documents) == 4
    with pytest.raises(CorpusError, match="no article 'nope'"):
        a.remove_document("nope")


def test_status_notices_a_changed_corpus(corpus: Path, tmp_path: Path):
    a = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", llm="extractive")
    assert a.status().summary() == "not built yet"
    a.ingest()
    assert a.status().summary().startswith("current (5 articles")
    (corpus / "06-new.md").write_text("# New\n\nA new article about soybeans.\n")
    assert a.status().pending == ["06-new"]
    # Other chunking settings, or an index in another format: every article is indexed again by ingest.
    rechunked = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index", llm="extractive", chunk_words=40)
    assert len(rechunked.status().pending) == 6
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    (tmp_path / "index" / "manifest.json").write_text(json.dumps(dict(manifest, version=1)))
    assert len(a.status().pending) == 6


def test_removed_sentences_are_listed_and_disagreeing_sources_shown_side_by_side():
    from assistant.results import Answer, SentenceCheck
    from assistant.ui.render import removed_note

    passages = [
        Passage("a", "China", "Beijing denied it.", 0.5, 0, 18),
        Passage("b", "US", "Trump said yes.", 0.5, 0, 15),
    ]
    answer = Answer(
        "Trump said yes [2].",
        [],
        False,
        passages,
        "q",
        "q",
        "m",
        sentences=[
            SentenceCheck("Trump said yes [2].", (2,), "supported"),
            SentenceCheck("Xi agreed <b>fully</b> [1].", (1,), "removed", "its passage says the opposite"),
        ],
        differ=(2, 1),
    )
    note = removed_note(answer)
    assert "Removed by the checks" in note and "its passage says the opposite" in note
    assert "<b>" not in note and "Xi agreed fully" in note  # the model's markup never reaches the page
    panel = sources_panel(passages, "q", "q", True, {}, answer.differ)
    differ = panel.split('<div class="sources-differ">')[1].split('<h3 class="sources-heading">')[0]
    assert "Sources differ" in differ and differ.index("Trump said yes") < differ.index("Beijing denied it")
    assert removed_note(Answer("x", [], False, passages, "q", "q", "m")) == ""
    assert '<div class="sources-differ">' not in sources_panel(passages, "q", "q", True)
