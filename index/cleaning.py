"""Choose which lines of a scraped article are worth indexing.

Cleaning never rewrites text: it returns spans of the original string, so every passage
built from them can be traced back to the exact characters of its article.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

# Bumped whenever the rules below change what is kept: an index built with other rules
# is re-chunked rather than silently mixed.
CLEANING_VERSION = 1

# Lines that are page furniture, not article text. Matched against the whole line, and
# only for short lines (see _MAX_BOILERPLATE_CHARS), so body sentences are never caught.
_BOILERPLATE = re.compile(
    r"""^(?:
        ad(?:vertisement)?(?:\s+image)?
      | sponsored(?:\s+content)?
      | share(?:\s+(?:this|on|via)\b.*)?
      | exit\s+mobile\s+version
      | \d+\s*min(?:ute)?s?\s+read
      | (?:read|see)\s+(?:more|also|next)\b.*
      | also\s+read\b.*
      | skip\s+to\s+(?:main\s+)?content
      | (?:sign\s+up|subscribe)\b.*
      | follow\s+us\b.*
      | (?:click|tap)\s+here\b.*
      | (?:print|email|comments?|tweet|whatsapp|facebook|twitter|linkedin|telegram)
      | (?:image|photo)\s*(?:credit|source)?\s*:.*
      | copyright\b.* | ©.*
    )[\s.:!|]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_MAX_BOILERPLATE_CHARS = 80
_BREADCRUMB_GLYPHS = ("»", "›", "→", " > ", " / ")
_SENTENCE_END = re.compile(r"""[.!?…]["'”’)\]]*$""")
# A title with a site section after a bar: "Headline | Russia-Ukraine war news".
_TITLE_SEPARATOR = " | "
_MAX_MASTHEAD_WORDS = 3
_MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True, slots=True)
class Block:
    """One kept line (a paragraph) of an article, as a span of the original text.

    `run` numbers the stretches of adjacent kept blocks: two blocks share a run only when
    nothing was dropped between them, so a passage may join them without including dropped text.
    """

    start: int
    end: int
    run: int


@dataclass(frozen=True, slots=True)
class CleanedText:
    """The kept blocks of an article, and the span of a headline where the text has one."""

    blocks: tuple[Block, ...]
    title: tuple[int, int] | None


def normalize_for_comparison(text: str) -> str:
    """Reduce text to lower-case letters and digits, so quote styles and spacing do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _is_space(ch: str) -> bool:
    return ch.isspace() or ch in "\ufeff\u200b\u200c\u200d\u2060"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and _is_space(text[start]):
        start += 1
    while end > start and _is_space(text[end - 1]):
        end -= 1
    return start, end


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank lines, trimmed of surrounding white space."""
    spans = []
    for match in re.finditer(r"[^\r\n]+", text):
        start, end = _trim(text, match.start(), match.end())
        if start < end:
            spans.append((start, end))
    return spans


def is_boilerplate(line: str) -> bool:
    """True for page furniture such as "Ad image", "Share." or "4 Min Read"."""
    stripped = line.strip()
    if not normalize_for_comparison(stripped):
        return True  # only punctuation or symbols: a divider, a lone glyph
    return len(stripped) <= _MAX_BOILERPLATE_CHARS and bool(_BOILERPLATE.match(stripped))


def is_breadcrumb(line: str) -> bool:
    """True for a navigation trail ("Home » World » Europe", "»Headline")."""
    stripped = line.strip()
    if len(stripped) > 200 or _SENTENCE_END.search(stripped):
        return False
    return stripped.startswith(("»", "›", "→")) or any(
        g in stripped for g in _BREADCRUMB_GLYPHS[:3]
    )


def _is_sentence_like(line: str) -> bool:
    """Body text starts with the first line that ends like a sentence; headlines rarely do."""
    return bool(_SENTENCE_END.search(line)) and len(line.split()) >= _MIN_SENTENCE_WORDS


def _title_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The headline part of a title line, without a " | site section" suffix."""
    line = text[start:end]
    if _TITLE_SEPARATOR not in line:
        return start, end
    best = (0, 0)
    offset = 0
    for part in line.split(_TITLE_SEPARATOR):
        if len(part) > best[1] - best[0]:
            best = (offset, offset + len(part))
        offset += len(part) + len(_TITLE_SEPARATOR)
    return _trim(text, start + best[0], start + best[1])


def clean(text: str, *, publisher: str | None = None) -> CleanedText:
    """Select the article's own lines: drop boilerplate, mastheads, breadcrumbs and repeats.

    A line is dropped when it is page furniture, a navigation trail, the publisher's name or
    a short masthead in the header (the lines before the first body paragraph), or when it
    repeats an earlier line of the same article (a title printed twice, a lead paragraph
    pasted again). Repeats are compared after normalizing case, quotes and spacing.
    """
    lines = _lines(text)
    body_start = next(
        (i for i, (s, e) in enumerate(lines) if _is_sentence_like(text[s:e])), len(lines)
    )
    publisher_key = normalize_for_comparison(publisher) if publisher else None

    header = []
    for i in range(body_start):
        s, e = lines[i]
        line = text[s:e]
        if not (is_boilerplate(line) or is_breadcrumb(line)):
            header.append(i)
    longest_header = max((len(text[slice(*lines[i])].split()) for i in header), default=0)

    seen: set[str] = set()
    run = 0
    blocks: list[Block] = []
    title: tuple[int, int] | None = None
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        key = normalize_for_comparison(line)
        in_header = i < body_start
        words = len(line.split())
        drop = (
            is_boilerplate(line)
            or is_breadcrumb(line)
            or key in seen
            or (publisher_key is not None and key == publisher_key)
            or (in_header and words <= _MAX_MASTHEAD_WORDS and words < longest_header)
        )
        if drop:
            if blocks and blocks[-1].run == run:
                run += 1
            continue
        if in_header and title is None and not _SENTENCE_END.search(line):
            # The headline is indexed without its " | site section" suffix.
            s, e = title = _title_span(text, s, e)
        seen.add(key)
        blocks.append(Block(s, e, run))
    return CleanedText(tuple(blocks), title)


def fingerprint(text: str) -> int:
    """A 63-bit fingerprint of a passage's normalized text: equal ones are one fact."""
    digest = hashlib.blake2b(normalize_for_comparison(text).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF
