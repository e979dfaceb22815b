from __future__ import annotations

import pytest

from index.answer import AnswerOptions, ExtractiveAnswerer, unknown_names
from index.embedding import Embedder
from index.engine import NewsIndex
from tests.conftest import CountingEmbedder


@pytest.fixture(scope="module")
def answerer(embedder: Embedder, seed_index: NewsIndex) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(embedder, knows=seed_index.knows)


def test_answer_quotes_are_verbatim_sentences_of_the_articles(
    answerer: ExtractiveAnswerer, seed_index: NewsIndex
) -> None:
    answer = answerer.answer("were kids evacuated?", seed_index.search("were kids evacuated?", 5))
    assert answer.answerable
    assert answer.text is not None
    assert "children" in answer.text
    for quote in answer.quotes:
        assert quote.document.text[quote.start : quote.end] == quote.text
        assert quote.passage.start <= quote.start < quote.end <= quote.passage.end
    assert answer.text == " ".join(q.text for q in answer.quotes)


@pytest.mark.parametrize(
    "question",
    [
        "Who won the men's marathon at the 2024 Olympics?",
        "What did China's foreign ministry say about the fighting in Kursk?",
        "What is the price of natural gas in Europe this winter?",
    ],
)
def test_questions_the_corpus_cannot_answer_are_declined(
    answerer: ExtractiveAnswerer, seed_index: NewsIndex, question: str
) -> None:
    answer = answerer.answer(question, seed_index.search(question, 5))
    assert not answer.answerable
    assert answer.text is None
    assert 0.0 <= answer.confidence <= 1.0


def test_unknown_names_skip_the_first_word(seed_index: NewsIndex) -> None:
    assert unknown_names("Did China comment on Kursk?", seed_index.knows) == ["China"]
    assert unknown_names("Where did Putin speak?", seed_index.knows) == []


def test_no_passages_means_no_answer(answerer: ExtractiveAnswerer) -> None:
    answer = answerer.answer("anything", [])
    assert not answer.answerable
    assert answer.quotes == ()


def test_cached_sentences_give_the_same_answer_without_embedding_them_again(
    embedder: Embedder, seed_index: NewsIndex
) -> None:
    counting = CountingEmbedder(embedder)
    cached = ExtractiveAnswerer(counting, knows=seed_index.knows)
    uncached = ExtractiveAnswerer(embedder, AnswerOptions(sentence_cache=0), knows=seed_index.knows)
    question = "were kids evacuated?"
    hits = seed_index.search(question, 5)
    first = cached.answer(question, hits)
    embedded_first = counting.embedded
    second = cached.answer("were children evacuated from Kursk?", hits)
    # The sentences are known now: only the new question is embedded.
    assert counting.embedded == embedded_first + 1
    for got, expected in [
        (first, uncached.answer(question, hits)),
        (second, uncached.answer("were children evacuated from Kursk?", hits)),
    ]:
        assert (got.text, got.answerable) == (expected.text, expected.answerable)
        assert [(q.start, q.end) for q in got.quotes] == [(q.start, q.end) for q in expected.quotes]
        assert got.confidence == pytest.approx(expected.confidence, abs=1e-5)


def test_quoted_words_no_article_has_are_unknown(seed_index: NewsIndex) -> None:
    question = 'who called the incursion a "terrorist blunderbuss"'
    assert unknown_names(question, seed_index.knows) == ["blunderbuss"]
