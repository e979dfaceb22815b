"""The keyword index (tantivy): BM25 as bm25s ranks, filters inside the query, writes in place,
the sequence marker that tells the archive what to replay after a crash."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
import pytest
import Stemmer

from index.archive import SearchFilter
from index.documents import Document
from index.keywords import Analyzer, Bm25Params, KeywordIndex, KeywordPassage

TEXTS = [
    "Ukrainian troops crossed into the Kursk region.",
    "Children were relocated from Belgorod, officials said.",
    "Zakharova called the incursion a terrorist attack.",
]


def _passages(first_key: int = 10) -> list[KeywordPassage]:
    return [
        KeywordPassage(
            key=first_key + 10 * i,
            doc_id=f"d{i}",
            text=text,
            published=None if i == 2 else 1_000 * (i + 1),
            publisher=["tass", "reuters", "tass"][i],
        )
        for i, text in enumerate(TEXTS)
    ]


def _keys(index: KeywordIndex, query: str, where: SearchFilter | None = None) -> list[int]:
    return [int(k) for k in index.searcher().search(query, 10, where)[1]]


def test_stemmed_terms_match_and_passages_sharing_none_are_left_out() -> None:
    index = KeywordIndex(None, Bm25Params())
    index.apply(1, [], _passages())
    scores, keys = index.searcher().search("child relocation Belgorod", 3)
    assert keys.tolist() == [20]
    assert scores[0] > 0
    assert _keys(index, "the of and") == []  # stop words only: no terms


def test_filters_narrow_before_the_top_k() -> None:
    index = KeywordIndex(None, Bm25Params())
    index.apply(1, [], _passages())
    query = "Kursk Belgorod Zakharova incursion"
    assert sorted(_keys(index, query)) == [10, 20, 30]
    assert _keys(index, query, SearchFilter(publishers=frozenset({"tass"}))) == [30, 10] or sorted(
        _keys(index, query, SearchFilter(publishers=frozenset({"tass"})))
    ) == [10, 30]
    assert _keys(index, query, SearchFilter(published_after=2_000)) == [20]
    assert _keys(index, query, SearchFilter(published_before=2_000)) == [10]  # undated: out
    assert _keys(index, query, SearchFilter(published_after=1_000, published_before=2_000)) == [10]
    assert _keys(index, query, SearchFilter(doc_ids=frozenset({"d2"}))) == [30]


def test_writes_apply_in_place_and_the_sequence_survives_a_restart(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "kw", Bm25Params())
    index.apply(1, [], _passages())
    before = index.searcher()
    index.apply(2, [20], [KeywordPassage(40, "d1", "Belgorod was shelled again.", None, None)])
    assert _keys(index, "Belgorod") == [40]
    assert before.search("Belgorod", 10)[1].tolist() == [20]  # a searcher keeps its commit
    assert len(index.searcher()) == 3
    index.close()
    reopened = KeywordIndex(tmp_path / "kw", Bm25Params())
    assert reopened.applied_seq == 2
    assert _keys(reopened, "Belgorod") == [40]
    assert reopened.searcher().knows("relocating")  # stemmed: "relocated" is indexed
    assert not reopened.searcher().knows("Pokrovsk")
    reopened.clear()
    assert reopened.applied_seq == 0
    assert len(reopened.searcher()) == 0


def test_other_bm25_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match=r"k1 1\.2 and b 0\.75"):
        KeywordIndex(None, Bm25Params(k1=0.9))


def test_ranking_is_bm25s_ranking(seed_documents: list[Document]) -> None:
    """Nearly the passages and order of bm25s's Lucene BM25 (Byline's BM25 before tantivy).
    tantivy, like Lucene, stores each passage's length in one byte, so scores differ from
    bm25s's exact lengths by up to 3% (SciFact nDCG@10: 0.6819 against 0.6791)."""
    texts = [line for d in seed_documents for line in d.text.splitlines() if line.strip()]
    index = KeywordIndex(None, Bm25Params())
    index.apply(1, [], [KeywordPassage(i, "d", t, None, None) for i, t in enumerate(texts)])
    analyzer = Analyzer(Bm25Params())
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(analyzer.terms(texts), show_progress=False)
    for query in ["Zakharova peace talks", "Kursk incursion troops", "children evacuated"]:
        scores, keys = index.searcher().search(query, 10)
        terms = retriever.get_tokens_ids(analyzer.terms([query])[0])
        expected = retriever.get_scores_from_ids(terms)
        best = np.argsort(-expected, kind="stable")[:10]
        best = best[expected[best] > 0]
        assert len(keys) == len(best)
        assert len(set(keys.tolist()) & set(best.tolist())) >= 0.8 * len(best)
        np.testing.assert_allclose(
            scores / scores[0], expected[keys] / expected[keys[0]], rtol=0.04
        )


@pytest.mark.parametrize("stem", [True, False])
def test_terms_are_bm25s_tokenizers_terms(seed_documents: list[Document], stem: bool) -> None:
    """The analyzer's own tokenizer gives exactly bm25s.tokenize's terms, one text at a time
    and in a batch, so an index built with either is searched the same."""
    texts = [line for d in seed_documents for line in d.text.splitlines()]
    texts += [
        "",
        "the of and a",
        "I x 7 42 ok",
        "Don't re-run snake_case UPPER Straße naïve café 北京 Ёлка",
        "U.S.-led talks, 2024-08-06: 'Kursk' (Курск)!",
    ]
    params = Bm25Params(stem=stem)
    stemmer = Stemmer.Stemmer("english") if stem else None
    expected = bm25s.tokenize(
        texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )
    analyzer = Analyzer(params)
    assert analyzer.terms(texts) == [list(t) for t in expected]
    assert [analyzer.terms([t])[0] for t in texts] == [list(t) for t in expected]
