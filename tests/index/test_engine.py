from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from index.cleaning import normalize_for_comparison
from index.config import SearchOptions
from index.documents import Document
from index.embedding import Embedder
from index.engine import Change, NewsIndex
from index.errors import DocumentNotFoundError
from index.fusion import Mode
from tests.conftest import CountingEmbedder, IndexFactory
from tests.index.test_cleaning import SEED_BOILERPLATE

QUERIES = [
    "what did Zakharova say",
    "Belgorod state of emergency",
    "Istanbul agreement",
    "buffer zone",
]


def _snapshot(index: NewsIndex) -> dict[str, list[tuple[int, int]]]:
    return {d.document.doc_id: [(p.start, p.end) for p in d.passages] for d in index.documents()}


def _ranked(index: NewsIndex, query: str, k: int = 10) -> list[tuple[str, float]]:
    return [(h.passage.passage_id, round(h.score, 5)) for h in index.search(query, k)]


def test_every_seed_passage_is_an_exact_span_of_its_article(seed_index: NewsIndex) -> None:
    assert seed_index.document_count == 5
    for indexed in seed_index.documents():
        assert indexed.passages
        for passage in indexed.passages:
            text = indexed.passage_text(passage)
            assert indexed.document.text[passage.start : passage.end] == text
            assert text.strip() == text != ""


def test_no_passage_contains_a_boilerplate_line(seed_index: NewsIndex) -> None:
    for indexed in seed_index.documents():
        for passage in indexed.passages:
            lines = {line.strip() for line in indexed.passage_text(passage).splitlines()}
            for boilerplate in SEED_BOILERPLATE.get(indexed.document.doc_id, []):
                assert boilerplate not in lines


def test_repeated_paragraphs_do_not_become_duplicate_passages(seed_index: NewsIndex) -> None:
    texts = [
        normalize_for_comparison(indexed.passage_text(p))
        for indexed in seed_index.documents()
        for p in indexed.passages
    ]
    assert len(texts) == len(set(texts))
    lead = normalize_for_comparison("In a sharp rebuke to recent diplomatic overtures")
    assert sum(lead in t for t in texts) == 1


def test_zakharova_question_finds_a_zakharova_quote_in_the_top_3(seed_index: NewsIndex) -> None:
    hits = seed_index.search("what did Zakharova say", 3)
    assert any("Zakharova said" in h.text or "Zakharova described" in h.text for h in hits)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_titles_default_to_the_articles_own_headline(make_index: IndexFactory) -> None:
    index = make_index()
    text = "Talks Collapse In Geneva\nNegotiators left the room after an hour, officials said."
    index.upsert([Document(doc_id="g", text=text)])
    assert index.get("g").document.title == "Talks Collapse In Geneva"


def test_reopening_returns_the_same_results(
    seed_index: NewsIndex, seed_index_dir: Path, make_index: IndexFactory, tmp_path: Path
) -> None:
    shutil.copytree(seed_index_dir, tmp_path / "copy")
    loaded = make_index(index_dir=tmp_path / "copy")
    assert _snapshot(loaded) == _snapshot(seed_index)
    assert [d.document for d in loaded.documents()] == [d.document for d in seed_index.documents()]
    for query in QUERIES:
        assert _ranked(loaded, query) == _ranked(seed_index, query)


def test_add_replace_and_delete_touch_exactly_one_document(
    seed_documents: list[Document], embedder: Embedder, make_index: IndexFactory
) -> None:
    counting = CountingEmbedder(embedder)
    index = make_index(counting)
    index.upsert(seed_documents)
    before = _snapshot(index)

    new = Document(
        doc_id="new-1",
        text="Officials in Sumy said the shelling damaged a school. Nobody was hurt.",
    )
    counting.embedded = 0
    assert index.upsert([new])[0].change is Change.ADDED
    assert counting.embedded == len(index.get("new-1").passages)
    after_add = _snapshot(index)
    assert {k: v for k, v in after_add.items() if k != "new-1"} == before

    replacement = Document(
        doc_id="new-1", text="Officials in Sumy said a drone hit a power line on Monday."
    )
    assert index.upsert([replacement])[0].change is Change.REPLACED
    assert index.get("new-1").document.text == replacement.text
    assert {k: v for k, v in _snapshot(index).items() if k != "new-1"} == before
    assert index.passage_count == sum(len(v) for v in before.values()) + len(
        index.get("new-1").passages
    )
    assert "school" not in " ".join(h.text for h in index.search("school damaged by shelling", 50))

    index.delete("new-1")
    assert _snapshot(index) == before
    assert all(h.passage.doc_id != "new-1" for h in index.search("drone power line Sumy", 50))
    with pytest.raises(DocumentNotFoundError):
        index.delete("new-1")


def test_reindexing_an_unchanged_corpus_embeds_nothing(
    seed_documents: list[Document], embedder: Embedder, make_index: IndexFactory
) -> None:
    counting = CountingEmbedder(embedder)
    index = make_index(counting)
    index.upsert(seed_documents)
    counting.embedded = 0
    results = index.upsert(seed_documents)
    assert counting.embedded == 0
    assert {r.change for r in results} == {Change.UNCHANGED}

    retitled = replace(seed_documents[0], title="New title")
    assert index.upsert([retitled])[0].change is Change.METADATA_UPDATED
    assert counting.embedded == 0
    assert index.get(retitled.doc_id).document.title == "New title"
    hits = index.search("Zakharova", 50)
    assert any(
        h.document.title == "New title" for h in hits if h.document.doc_id == retitled.doc_id
    )


def test_modes_rank_by_keywords_meaning_or_both(seed_index: NewsIndex) -> None:
    exact = seed_index.search("Vladivostok", 1, Mode.BM25)
    assert exact
    assert "Vladivostok" in exact[0].text
    assert exact[0].dense_score is None  # BM25 mode embeds nothing
    meaning = seed_index.search("were kids evacuated?", 5, Mode.DENSE)
    assert any("children" in h.text for h in meaning)
    both = seed_index.search("were kids evacuated?", 5, Mode.HYBRID)
    assert all(h.dense_score is not None for h in both)
    assert seed_index.search("zzzz qqqq", 5, Mode.BM25) == []


def test_near_duplicates_fold_into_one_result_that_lists_the_others(
    seed_documents: list[Document], make_index: IndexFactory
) -> None:
    index = make_index()
    index.upsert(seed_documents)
    belgorod = index.get("000_4669eddcbb62d802").document.text
    paragraph = belgorod[belgorod.index("Meanwhile, Russian authorities said five persons") :]
    index.upsert([Document(doc_id="wire-copy", text=paragraph, title="Wire copy")])
    hits = index.search("how many died in the attack on Belgorod", 5)
    assert len(hits) == 5  # folding happens before k: still five distinct results
    texts = [normalize_for_comparison(h.text) for h in hits]
    assert len(texts) == len(set(texts))
    folded = [
        h
        for h in hits
        if any(p.doc_id == "wire-copy" or h.passage.doc_id == "wire-copy" for p, _ in h.also_in)
    ]
    assert folded, [h.passage.passage_id for h in hits]
    for hit in folded:
        for passage, document in hit.also_in:
            assert document.text[passage.start : passage.end].strip()


def test_bm25_forgets_deleted_documents(make_index: IndexFactory) -> None:
    index = make_index()
    index.upsert(
        [Document(doc_id="a", text="The Zaporizhzhia plant lost external power on Monday.")]
    )
    assert index.search("Zaporizhzhia", 1, Mode.BM25)
    index.delete("a")
    assert index.search("Zaporizhzhia", 1, Mode.BM25) == []


def test_repeated_queries_reuse_their_embedding_and_the_cache_is_bounded(
    seed_documents: list[Document], embedder: Embedder, make_index: IndexFactory
) -> None:
    counting = CountingEmbedder(embedder)
    index = make_index(counting, search=SearchOptions(query_cache=2))
    index.upsert(seed_documents)
    counting.embedded = 0
    first = index.search("Kursk incursion", 5)
    assert index.search("Kursk incursion", 5) == first
    assert counting.embedded == 1
    index.search("Belgorod", 5)
    index.search("Istanbul", 5)  # the cache holds two: "Kursk incursion" is evicted
    index.search("Kursk incursion", 5)
    assert counting.embedded == 4


def test_search_many_equals_one_search_per_query(seed_index: NewsIndex) -> None:
    queries = ["what did Zakharova say", "were kids evacuated?", "what did Zakharova say"]
    batched = seed_index.search_many(queries, 3)
    assert batched == [seed_index.search(q, 3) for q in queries]
