"""Split cleaned articles into sentence-aware passages that fit the embedding model's window.

Every passage is a span of the original text: `text[start:end]` is the passage, exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.cleaning import Block

TokenCounter = Callable[[Sequence[str]], list[int]]
"""Counts the model's tokens (without special tokens) of each text, in one batch."""


@dataclass(frozen=True, slots=True)
class ChunkingParams:
    """How passages are cut. Stored in the index manifest: an index is never mixed across them."""

    target_tokens: int = 96
    """A passage is closed before it would grow past this; one sentence may go over.
    96 was chosen by `byline chunk-sweep` on SQuAD dev (see README, "Passage size")."""
    max_tokens: int = 254
    """Hard ceiling, the model window less its two special tokens; longer sentences are split."""
    overlap_tokens: int = 32
    """A passage cut inside a paragraph starts with the previous passage's last sentence,
    when that sentence is at most this long."""

    def __post_init__(self) -> None:
        if not 0 < self.target_tokens <= self.max_tokens:
            raise ValueError(
                f"target_tokens must be between 1 and max_tokens ({self.max_tokens}), "
                f"got {self.target_tokens}"
            )
        if not 0 <= self.overlap_tokens < self.target_tokens:
            raise ValueError(
                "overlap_tokens must be at least 0 and below target_tokens "
                f"({self.target_tokens}), got {self.overlap_tokens}"
            )


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range `[start, end)` of an article."""

    start: int
    end: int


# Sentence end: terminal punctuation, optional closing quotes or brackets, then white space
# and something that can open a sentence.
_BOUNDARY = re.compile(
    r"""[.!?…]+["'”’»)\]]*(?=\s+["'“‘«(\[]?[A-Z0-9\u00C0-\u024F\u0400-\u04FF])"""
)
_LAST_WORD = re.compile(r"""["'“‘«(\[]?([\w.]+)$""")
_ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "maj", "sgt", "capt", "cpl"),
        *("adm", "gov", "sen", "rep", "rev", "st", "jr", "sr", "mt", "ft"),
        *("inc", "ltd", "co", "corp", "vs", "etc", "approx", "dept", "est"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    }
)

# Abbreviations only before a number: "No. 5", "Vol. 2"; "No." alone is the word no.
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "vol", "fig", "art", "p", "pp"})
_LONGEST_WORD = 100
"""Characters looked at before a period for the word it ends."""


def _is_abbreviation(text: str, boundary: re.Match[str]) -> bool:
    punctuation = boundary.group()
    if punctuation != "." * len(punctuation) or len(punctuation) > 1:
        return False  # "?", "!", an ellipsis, or a period inside closing quotes ends a sentence
    # Only the text just before the period: searching from 0 made splitting quadratic.
    match = _LAST_WORD.search(text, max(0, boundary.start() - _LONGEST_WORD), boundary.start())
    if match is None:
        return False
    word = match.group(1).lower()
    if word in _NUMBER_ABBREVIATIONS:
        return text[boundary.end() : boundary.end() + 16].lstrip()[:1].isdigit()
    if word in _ABBREVIATIONS:
        return True
    # An initial ("J. Smith") or a dotted acronym ("U.S.", "e.g.").
    return len(word) == 1 or bool(re.fullmatch(r"(?:\w\.)+\w", word))


def split_sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentence spans of `text[start:end]`, trimmed of surrounding white space."""
    spans = []
    sentence_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        if _is_abbreviation(text, match):
            continue
        spans.append(Span(sentence_start, match.end()))
        sentence_start = match.end()
    spans.append(Span(sentence_start, end))
    trimmed = [Span(*trim(text, span.start, span.end)) for span in spans]
    return [span for span in trimmed if span.start < span.end]


def trim(text: str, start: int, end: int, chars: str | None = None) -> tuple[int, int]:
    """`start, end` moved inwards past white space (or past any of `chars`)."""
    while start < end and (text[start] in chars if chars else text[start].isspace()):
        start += 1
    while end > start and (text[end - 1] in chars if chars else text[end - 1].isspace()):
        end -= 1
    return start, end


def split_lines(text: str, start: int, end: int) -> list[Span]:
    """The non-blank lines of `text[start:end]` (paragraphs, headlines), trimmed."""
    spans = []
    line_start = start
    while line_start < end:
        line_end = text.find("\n", line_start, end)
        line_end = end if line_end == -1 else line_end
        s, e = trim(text, line_start, line_end)
        if s < e:
            spans.append(Span(s, e))
        line_start = line_end + 1
    return spans


def split_to_fit(text: str, span: Span, budget: int, count: TokenCounter) -> list[Span]:
    """Cut an over-long span at word boundaries into pieces of at most `budget` tokens.

    Each piece is the longest run of whole words that fits, found by binary search with the
    real tokenizer, so the limit holds for any tokenizer. A single word longer than the
    budget is cut by characters.
    """
    words = [m.span() for m in re.finditer(r"\S+", text[span.start : span.end])]
    words = [(span.start + s, span.start + e) for s, e in words]
    pieces = []
    first = 0
    while first < len(words):
        lo, hi = first + 1, len(words)  # the answer is the largest `last` in [lo, hi] that fits
        if count([text[words[first][0] : words[lo - 1][1]]])[0] > budget:
            pieces.extend(_split_word(text, Span(*words[first]), budget, count))
            first += 1
            continue
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count([text[words[first][0] : words[mid - 1][1]]])[0] <= budget:
                lo = mid
            else:
                hi = mid - 1
        pieces.append(Span(words[first][0], words[lo - 1][1]))
        first = lo
    return pieces


def _split_word(text: str, span: Span, budget: int, count: TokenCounter) -> list[Span]:
    pieces = []
    start = span.start
    while start < span.end:
        lo, hi = start + 1, span.end
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count([text[start:mid]])[0] <= budget:
                lo = mid
            else:
                hi = mid - 1
        pieces.append(Span(start, lo))
        start = lo
    return pieces


@dataclass(frozen=True, slots=True)
class _Unit:
    span: Span
    tokens: int
    block: int


def chunk(
    text: str, blocks: Sequence[Block], count: TokenCounter, params: ChunkingParams
) -> list[Span]:
    """Pack the sentences of the kept blocks into passages.

    Passages never cross dropped text (a change of `Block.run`), prefer to end where a
    paragraph ends once they hold half the target, and overlap by one short sentence where a
    long paragraph had to be cut.
    """
    runs: dict[int, list[_Unit]] = {}
    sentences: list[tuple[Span, int]] = []
    for index, block in enumerate(blocks):
        sentences.extend((s, index) for s in split_sentences(text, block.start, block.end))
    token_counts = count([text[s.start : s.end] for s, _ in sentences])
    for (span, index), tokens in zip(sentences, token_counts, strict=True):
        pieces = (
            [span]
            if tokens <= params.max_tokens
            else split_to_fit(text, span, params.max_tokens, count)
        )
        piece_tokens = (
            [tokens] if len(pieces) == 1 else count([text[p.start : p.end] for p in pieces])
        )
        for piece, n in zip(pieces, piece_tokens, strict=True):
            runs.setdefault(blocks[index].run, []).append(_Unit(piece, n, index))

    passages: list[Span] = []
    for units in runs.values():
        passages.extend(_pack(units, params))
    return _enforce_ceiling(text, passages, count, params.max_tokens)


def _pack(units: list[_Unit], params: ChunkingParams) -> list[Span]:
    passages = []
    current: list[_Unit] = []
    size = 0
    i = 0
    while i < len(units):
        unit = units[i]
        new_paragraph = bool(current) and unit.block != current[-1].block
        if current and (
            size + unit.tokens > params.target_tokens
            or (new_paragraph and size >= params.target_tokens // 2)
        ):
            passages.append(Span(current[0].span.start, current[-1].span.end))
            last = current[-1]
            carry = (
                len(current) > 1
                and last.block == unit.block
                and last.tokens <= params.overlap_tokens
                and last.tokens + unit.tokens <= params.target_tokens
            )
            current, size = ([last], last.tokens) if carry else ([], 0)
            continue
        current.append(unit)
        size += unit.tokens
        i += 1
    if current:
        passages.append(Span(current[0].span.start, current[-1].span.end))
    return passages


def _enforce_ceiling(
    text: str, passages: list[Span], count: TokenCounter, max_tokens: int
) -> list[Span]:
    """Re-count whole passages: sentence counts need not add up exactly for every tokenizer."""
    counts = count([text[p.start : p.end] for p in passages])
    fitted: list[Span] = []
    for passage, n in zip(passages, counts, strict=True):
        fitted.extend(
            [passage] if n <= max_tokens else split_to_fit(text, passage, max_tokens, count)
        )
    return fitted
