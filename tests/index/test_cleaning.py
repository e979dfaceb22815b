from __future__ import annotations

import pytest

from index.cleaning import clean, is_boilerplate, is_breadcrumb
from index.documents import Document

# Every line of page furniture in the seed files, as scraped.
SEED_BOILERPLATE = {
    "003_04261d93b6ae19ac": ["Share.", "Exit mobile version"],
    "004_1436fe9128c89578": ["Ad image", "MONews", "4 Min Read", "Share This Article"],
    "001_85703cbf2dfe94ef": ["»Russia Rejects Peace Talks After Ukraines Kursk Incursion"],
}


def _kept(text: str, publisher: str | None = None) -> list[str]:
    return [text[b.start : b.end] for b in clean(text, publisher=publisher).blocks]


@pytest.mark.parametrize(
    "line",
    [
        "Ad image",
        "Share.",
        "Share This Article",
        "Exit mobile version",
        "4 Min Read",
        "***",
        "Advertisement",
        "Read more: Putin's speech",
        "Subscribe to our newsletter",
        "—",
    ],
)
def test_page_furniture_is_boilerplate(line: str) -> None:
    assert is_boilerplate(line)


@pytest.mark.parametrize(
    "line",
    [
        "Shares of Gazprom fell 5% on Monday after the announcement of new sanctions.",
        "Kursk Invasion",
        "What did Russia say on peace talks?",
        "Share prices in Moscow slid as the incursion entered its second week and "
        "investors weighed the risk of a wider war across the border regions.",
    ],
)
def test_article_lines_are_not_boilerplate(line: str) -> None:
    assert not is_boilerplate(line)
    assert not is_breadcrumb(line)


def test_breadcrumb_trails_are_recognised() -> None:
    assert is_breadcrumb("Home » World » Europe")
    assert is_breadcrumb("»Russia Rejects Peace Talks After Ukraines Kursk Incursion")
    assert not is_breadcrumb("He said the talks were over.")


def test_seed_boilerplate_lines_are_dropped(seed_documents: list[Document]) -> None:
    for document in seed_documents:
        kept = _kept(document.text, document.publisher)
        for line in SEED_BOILERPLATE.get(document.doc_id, []):
            assert line in document.text  # the fixture names real lines
            assert line not in kept, f"{document.doc_id}: {line!r} was kept"


def test_title_printed_twice_is_kept_once(seed_documents: list[Document]) -> None:
    document = next(d for d in seed_documents if d.doc_id == "001_85703cbf2dfe94ef")
    kept = _kept(document.text)
    titles = [line for line in kept if "Rejects Peace Talks" in line]
    assert titles == ["Russia Rejects Peace Talks After Ukraine’s Kursk Incursion"]


def test_repeated_paragraph_is_kept_once(seed_documents: list[Document]) -> None:
    document = next(d for d in seed_documents if d.doc_id == "001_85703cbf2dfe94ef")
    lead = "In a sharp rebuke to recent diplomatic overtures"
    assert document.text.count(lead) == 2  # straight and curly apostrophe versions
    assert sum(line.startswith(lead) for line in _kept(document.text)) == 1


def test_title_loses_its_site_section(seed_documents: list[Document]) -> None:
    document = next(d for d in seed_documents if d.doc_id == "004_1436fe9128c89578")
    cleaned = clean(document.text, publisher=document.publisher)
    assert cleaned.title is not None
    title = document.text[cleaned.title[0] : cleaned.title[1]]
    assert title == "Ukraine’s Kursk invasion failed to slow Russia’s Donbas advance: Putin"


def test_blocks_are_spans_of_the_original_and_runs_break_at_dropped_lines() -> None:
    text = (
        "Headline here\r\nAd image\r\n\r\n"
        "First paragraph of the story goes here.\r\nSecond one.\r\n"
    )
    cleaned = clean(text)
    kept = [text[b.start : b.end] for b in cleaned.blocks]
    assert kept == ["Headline here", "First paragraph of the story goes here.", "Second one."]
    runs = [b.run for b in cleaned.blocks]
    assert runs[0] != runs[1]  # "Ad image" lies between them
    assert runs[1] == runs[2]


def test_publisher_masthead_is_dropped_anywhere_in_the_header() -> None:
    text = (
        "Daily Planet\nBig Storm Hits Metropolis Overnight\n"
        "The storm, which arrived late, flooded many streets."
    )
    assert _kept(text, publisher="Daily Planet") == [
        "Big Storm Hits Metropolis Overnight",
        "The storm, which arrived late, flooded many streets.",
    ]


def test_a_short_only_headline_is_kept() -> None:
    text = "Talks Collapse\nNegotiators left the room after an hour, officials said on Monday."
    assert _kept(text)[0] == "Talks Collapse"


def test_short_articles_keep_their_short_lines() -> None:
    text = "Talks Off\nThe Kremlin said no.\nKyiv agreed.\nMore later."
    assert _kept(text) == ["Talks Off", "The Kremlin said no.", "Kyiv agreed.", "More later."]
