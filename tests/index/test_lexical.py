from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from index.documents import Document
from index.lexical import Bm25Index, Bm25Params

TEXTS = [
    "Putin told the Eastern Economic Forum in Vladivostok that Donbas is the main goal.",
    "Thousands of children were relocated from the Belgorod region.",
    "Zakharova said peace talks are out of the question.",
]


def test_search_matches_stemmed_terms_and_skips_non_matches() -> None:
    index = Bm25Index()
    index.build([10, 20, 30], TEXTS)
    scores, keys = index.search("child relocation Belgorod", 3)
    assert keys.tolist() == [20]  # documents sharing no term are left out
    assert scores[0] > 0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = Bm25Index(Bm25Params(k1=1.5, b=0.6))
    index.build([10, 20, 30], TEXTS)
    names = index.save(tmp_path)
    assert "bm25/keys.npy" in names
    loaded = Bm25Index.load(tmp_path, Bm25Params(k1=1.5, b=0.6))
    assert (
        loaded.search("Vladivostok forum", 2)[1].tolist()
        == index.search("Vladivostok forum", 2)[1].tolist()
    )


def test_empty_index_searches_and_saves(tmp_path: Path) -> None:
    index = Bm25Index()
    index.build([], [])
    assert len(index.search("anything", 5)[1]) == 0
    index.save(tmp_path)
    assert len(Bm25Index.load(tmp_path, Bm25Params())) == 0


def test_knows_words_of_the_corpus_only() -> None:
    index = Bm25Index()
    index.build([1, 2, 3], TEXTS)
    assert index.knows("Vladivostok")
    assert index.knows("relocating")  # stems to a known term
    assert not index.knows("Olympics")
    assert index.knows("the")  # a stop word says nothing either way


def test_search_ranks_as_bm25s_own_retrieval_does(seed_documents: list[Document]) -> None:
    texts = [line for d in seed_documents for line in d.text.splitlines() if line.strip()]
    index = Bm25Index()
    index.build(list(range(100, 100 + len(texts))), texts)
    retriever = index._retriever
    assert retriever is not None
    for query in ["Zakharova peace talks", "Kursk incursion troops", "children evacuated"]:
        scores, keys = index.search(query, 10)
        tokens = bm25s.tokenize(
            [query], stopwords="en", stemmer=index._stemmer, show_progress=False
        )
        positions, expected = retriever.retrieve(tokens, k=10, show_progress=False)
        keep = expected[0] > 0
        np.testing.assert_allclose(scores, expected[0][keep], rtol=1e-6)
        # Equal scores may come in either order; the passages are the same.
        assert set(keys.tolist()) == {100 + int(p) for p in positions[0][keep]}
