from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from index.chunking import ChunkingParams, Span, chunk, split_sentences, split_to_fit
from index.cleaning import Block, clean
from index.documents import Document
from index.embedding import Embedder


def fake_word_counter(texts: Sequence[str]) -> list[int]:
    """Fake tokenizer for pure unit tests: one token per word."""
    return [len(t.split()) for t in texts]


def _sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text, 0, len(text))]


def test_sentences_split_after_terminal_punctuation_and_quotes() -> None:
    text = "“Did it work? No.” Putin said. Then he left! Really… Yes."
    assert _sentences(text) == [
        "“Did it work?",
        "No.”",
        "Putin said.",
        "Then he left!",
        "Really…",
        "Yes.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Gen. Oleksandr Syrskyi said troops advanced.",
        "U.S. officials declined to comment on the strike.",
        "Talks with Mr. Ushakov ended early.",
        "The report by J. Smith was published in Sept. 2024 by the agency.",
        'Zakharova said,"As you know, in August, the regime ventured an invasion.',
    ],
)
def test_abbreviations_and_initials_do_not_end_sentences(text: str) -> None:
    assert _sentences(text) == [text]


def test_sentence_spans_are_exact_and_trimmed() -> None:
    text = "  One two.   Three four?  "
    spans = split_sentences(text, 0, len(text))
    assert [text[s.start : s.end] for s in spans] == ["One two.", "Three four?"]


def test_overlong_sentence_is_cut_at_word_boundaries() -> None:
    words = [f"word{i}" for i in range(1000)]
    text = " ".join(words)
    pieces = split_to_fit(text, Span(0, len(text)), 100, fake_word_counter)
    assert all(fake_word_counter([text[p.start : p.end]])[0] <= 100 for p in pieces)
    assert " ".join(text[p.start : p.end] for p in pieces) == text
    assert len(pieces) == 10


def test_a_single_giant_word_is_cut_by_characters(embedder: Embedder) -> None:
    text = "x" * 5000
    pieces = split_to_fit(text, Span(0, len(text)), 254, embedder.count_tokens)
    assert "".join(text[p.start : p.end] for p in pieces) == text
    assert max(embedder.count_tokens([text[p.start : p.end] for p in pieces])) <= 254


def test_packing_overlaps_by_one_short_sentence_inside_a_paragraph() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(10))
    params = ChunkingParams(target_tokens=21, max_tokens=50, overlap_tokens=10)
    passages = [
        text[s.start : s.end]
        for s in chunk(text, [Block(0, len(text), 0)], fake_word_counter, params)
    ]
    assert all(fake_word_counter([p])[0] <= 21 for p in passages)
    # Each passage after the first starts with the sentence the previous one ended with.
    for previous, current in itertools.pairwise(passages):
        assert _sentences(current)[0] == _sentences(previous)[-1]


def test_passages_never_cross_dropped_text() -> None:
    text = "First kept paragraph is here.\nAd image\nSecond kept paragraph is here."
    cleaned = clean(text)
    params = ChunkingParams(target_tokens=100, max_tokens=200, overlap_tokens=10)
    passages = [
        text[s.start : s.end] for s in chunk(text, cleaned.blocks, fake_word_counter, params)
    ]
    assert passages == ["First kept paragraph is here.", "Second kept paragraph is here."]


def test_seed_passages_are_exact_fit_the_window_and_cover_every_kept_sentence(
    seed_documents: list[Document], embedder: Embedder, params: ChunkingParams
) -> None:
    for document in seed_documents:
        text = document.text
        cleaned = clean(text, publisher=document.publisher)
        spans = chunk(text, cleaned.blocks, embedder.count_tokens, params)
        passages = [text[s.start : s.end] for s in spans]
        assert all(p == p.strip() and p for p in passages)
        assert max(embedder.count_tokens(passages)) <= params.max_tokens
        for block in cleaned.blocks:
            for sentence in split_sentences(text, block.start, block.end):
                assert any(s.start <= sentence.start and sentence.end <= s.end for s in spans), (
                    f"{document.doc_id}: sentence at {sentence.start} is in no passage"
                )


def test_long_unpunctuated_text_fits_the_real_window(
    embedder: Embedder, params: ChunkingParams
) -> None:
    text = " ".join(["incursion"] * 3000)
    spans = chunk(text, [Block(0, len(text), 0)], embedder.count_tokens, params)
    assert max(embedder.count_tokens([text[s.start : s.end] for s in spans])) <= params.max_tokens
    assert spans[0].start == 0
    assert spans[-1].end == len(text)


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="target_tokens"):
        ChunkingParams(target_tokens=300, max_tokens=254)
    with pytest.raises(ValueError, match="overlap_tokens"):
        ChunkingParams(target_tokens=100, overlap_tokens=100)
