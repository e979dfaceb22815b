"""Properties of cleaning and chunking that must hold for any text at all."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import ChunkingParams, chunk
from index.cleaning import clean
from index.embedding import Embedder

words = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12),
    st.sampled_from(["Kursk", "Putin", "the", "said", "Ad image", "Share.", "»", "U.S.", "Dr."]),
    st.text("x", min_size=150, max_size=600),  # words longer than any tokenizer's word limit
)
sentences = st.builds(
    lambda ws, end: " ".join(ws) + end,
    st.lists(words, min_size=1, max_size=80),
    st.sampled_from(["", ".", "?", "!", "…", '."', ".”"]),
)
lines = st.lists(sentences, min_size=1, max_size=6).map(" ".join)
texts = st.builds(
    lambda parts, seps: "".join(p + s for p, s in zip(parts, seps, strict=False)),
    st.lists(lines, max_size=12),
    st.lists(st.sampled_from(["\n", "\r\n", "\n\n", "\r", "\n \n\t"]), min_size=12, max_size=12),
)

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(text=texts)
def test_blocks_are_ordered_exact_trimmed_spans(text: str) -> None:
    blocks = clean(text).blocks
    previous_end = 0
    for block in blocks:
        assert previous_end <= block.start < block.end <= len(text)
        span = text[block.start : block.end]
        assert span
        assert span == span.strip()
        previous_end = block.end


@SETTINGS
@given(text=texts)
def test_passages_are_exact_cover_every_kept_character_and_fit_the_window(
    embedder: Embedder, text: str
) -> None:
    params = ChunkingParams(target_tokens=96, max_tokens=embedder.max_tokens, overlap_tokens=32)
    blocks = clean(text).blocks
    spans = chunk(text, blocks, embedder.count_tokens, params)
    passages = [text[s.start : s.end] for s in spans]
    for passage in passages:
        assert passage
        assert passage == passage.strip()
    if passages:
        assert max(embedder.count_tokens(passages)) <= params.max_tokens
    for block in blocks:
        for position in range(block.start, block.end):
            if not text[position].isspace():
                assert any(s.start <= position < s.end for s in spans), position
    for span in spans:
        runs = {b.run for b in blocks if b.start < span.end and span.start < b.end}
        assert len(runs) == 1  # never across dropped text
