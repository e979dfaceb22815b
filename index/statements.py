"""Who said what: the statements of an article attributed to people and organisations.

No named-entity model can be installed here, so this is built from patterns: quotation
marks, a lexicon of speech verbs, the shape of news attributions ("..., Zakharova said",
"Russian Foreign Ministry spokesperson Maria Zakharova said that ...", "according to ..."),
and the names the article itself gives in full. Every span is an offset into the original
text, as for passages: `text[quote_start:quote_end]` is the statement's content and
`text[speaker_start:speaker_end]` the mention of its speaker ("Zakharova", "she").

Who each speaker is (names, roles, "she", "the president") is index/speakers.py's work.
Measured against hand labels of the seed articles: `byline eval` (eval/statements.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from index.chunking import Span, split_lines, split_sentences, trim
from index.speakers import (
    AUXILIARIES,
    COORDINATION,
    FUNCTION_WORDS,
    RELATIVE,
    SPEECH_VERB,
    SPEECH_VERB_AFTER,
    Description,
    Mention,
    Resolver,
    Speaker,
    Token,
    mention_after,
    mention_before,
    np_word,
    tokenize,
)

EXTRACTOR_VERSION = 2
"""Bumped whenever the rules change what is found: stored statements are extracted again."""

Kind = Literal["direct", "reported"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One attributed statement: `text[start:end]` is what was said."""

    kind: Kind
    start: int
    end: int
    speaker: Speaker
    speaker_start: int
    speaker_end: int
    sentence_start: int
    """The sentences that carry the statement and its attribution, for quoting it in context."""
    sentence_end: int


@dataclass(frozen=True, slots=True)
class Attributions:
    statements: tuple[Statement, ...]
    descriptions: tuple[Description, ...]


_MIN_DIRECT_WORDS = 4
"""A shorter quotation is a term the writer quotes ("a major provocation"), not a statement
on its own; it is kept as part of the reported statement around it."""
_MIN_REPORTED_WORDS = 3

_OPEN = {"“": "”", "«": "»", "„": "“"}


# -- the extractor ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Quote:
    start: int  # inside the marks
    end: int
    open_at: int  # the opening mark
    close_at: int  # just after the closing mark (or the paragraph's end)
    paragraph: int


def _quotes(text: str, paragraphs: list[Span]) -> list[_Quote]:
    """Quotations, paired within paragraphs; one left open at a paragraph's end runs on
    into the next paragraph when that one opens with a quotation mark (news style)."""
    found: list[_Quote] = []
    carried: _Quote | None = None
    for number, paragraph in enumerate(paragraphs):
        opened: tuple[int, str] | None = None
        where = number  # the paragraph the quotation opens in, where its attribution is
        if carried is not None:
            first = text[paragraph.start]
            if first in _OPEN or first == '"':
                opened = (carried.open_at, _OPEN.get(first, '"'))
                where = carried.paragraph
                skip_to = paragraph.start + 1
            else:
                found.append(carried)
                skip_to = paragraph.start
            carried = None
        else:
            skip_to = paragraph.start
        for position in range(skip_to, paragraph.end):
            mark = text[position]
            if opened is None:
                where = number
                if mark in _OPEN:
                    opened = (position, _OPEN[mark])
                elif mark == '"':
                    opened = (position, '"')
            elif mark == opened[1]:
                found.append(_Quote(opened[0] + 1, position, opened[0], position + 1, where))
                opened = None
        if opened is not None:
            carried = _Quote(opened[0] + 1, paragraph.end, opened[0], paragraph.end, where)
    if carried is not None:
        found.append(carried)
    for quote in found:
        quote.start, quote.end = trim(text, quote.start, quote.end, " \n,")
    return [q for q in found if q.end > q.start]


def _words(text: str) -> int:
    return len(text.split())


def _sentence_of(sentences: list[Span], start: int, end: int) -> tuple[int, int]:
    covering = [s for s in sentences if s.end > start and s.start < end]
    if not covering:
        return start, end
    return covering[0].start, covering[-1].end


def extract(text: str) -> Attributions:
    """The statements of an article and the roles it gives the people it names."""
    paragraphs = split_lines(text, 0, len(text))
    resolver = Resolver(text, paragraphs)
    quotes = _quotes(text, paragraphs)
    sentences = [s for p in paragraphs for s in split_sentences(text, p.start, p.end)]
    statements: list[Statement] = []
    used_verbs: set[int] = set()
    by_paragraph: dict[int, list[_Quote]] = {}
    for quote in quotes:
        by_paragraph.setdefault(quote.paragraph, []).append(quote)

    def inside_quote(position: int) -> bool:
        return any(q.open_at <= position < q.close_at for q in quotes)

    # The latest direct quotation: an unattributed one that follows it in the same paragraph,
    # or opens the next, continues it.
    last_direct: tuple[int, Statement] | None = None
    for number, paragraph in enumerate(paragraphs):
        tokens = tokenize(text, paragraph.start, paragraph.end)
        items: list[tuple[int, int, _Quote | Span]] = [
            (q.open_at, 0, q) for q in by_paragraph.get(number, [])
        ]
        items += [(s.start, 1, s) for s in sentences if paragraph.start <= s.start < paragraph.end]
        for _, _, item in sorted(items, key=lambda i: (i[0], i[1])):
            if isinstance(item, Span):
                reported = _reported(text, item, resolver, number, used_verbs, inside_quote)
                within: list[Statement] = []
                if reported is not None:
                    within = _quoted_within(reported, quotes, text)
                    statements += [reported, *within]
                taken = {w.start for w in within}
                passive = _quoted_by(text, item, quotes, resolver, number)
                statements += [p for p in passive if p.start not in taken]
                continue
            quote = item
            found = _attribute_direct(text, tokens, quote, paragraph, resolver, number, used_verbs)
            continues = last_direct is not None and (
                last_direct[0] == number
                or (last_direct[0] == number - 1 and quote.open_at == paragraph.start)
            )
            if found is None and continues and last_direct is not None:
                earlier = last_direct[1]
                found = (earlier.speaker, earlier.speaker_start, earlier.speaker_end)
            if found is None or _words(text[quote.start : quote.end]) < _MIN_DIRECT_WORDS:
                continue
            speaker, mention_start, mention_end = found
            resolver.said(speaker, number)
            low, high = quote.open_at, quote.close_at
            if not continues or mention_start >= quote.close_at:  # the attribution is beside it
                low, high = min(low, mention_start), max(high, mention_end)
            s, e = _sentence_of(sentences, low, high)
            statement = Statement(
                "direct", quote.start, quote.end, speaker, mention_start, mention_end, s, e
            )
            statements.append(statement)
            last_direct = (number, statement)
    # Names fuller later in the article ("Zelenskyy" before "Volodymyr Zelenskyy") are
    # the ones the descriptions carry.
    descriptions = tuple(
        Description(replace(d.speaker, name=resolver.people[d.speaker.key].name), d.start, d.end)
        for d in resolver.described
    )
    return Attributions(tuple(sorted(statements, key=lambda s: s.start)), descriptions)


def _quoted_within(reported: Statement, quotes: list[_Quote], text: str) -> list[Statement]:
    """The words a reported statement quotes ("called it a “treacherous terrorist invasion”")
    are the speaker's own: direct statements too."""
    where = (
        reported.speaker,
        reported.speaker_start,
        reported.speaker_end,
        reported.sentence_start,
        reported.sentence_end,
    )
    terms = _terms(quotes, text, reported.start, reported.end)
    return [Statement("direct", q.start, q.end, *where) for q in terms]


def _terms(quotes: list[_Quote], text: str, start: int, end: int) -> list[_Quote]:
    """The quotations from `start` to `end` too short to be statements on their own (a
    quoted term), which are the words of whoever the text around them attributes."""
    return [
        q
        for q in quotes
        if start <= q.open_at
        and q.close_at <= end + 1
        and _words(text[q.start : q.end]) < _MIN_DIRECT_WORDS
    ]


_PASSIVE = re.compile(
    r"\b(?:was|were|been|being)\s+(?:\w+ly\s+)?(?:rejected|dismissed|condemned|denounced|"
    r"described|labell?ed|branded|called|termed|critici[sz]ed|welcomed|praised|hailed)\b"
)
_PASSIVE_REACH = 12
"""Tokens from the passive verb to its "by": farther, "by" belongs to another clause."""


def _quoted_by(
    text: str, sentence: Span, quotes: list[_Quote], resolver: Resolver, number: int
) -> list[Statement]:
    """Words quoted in a passive attribution are the agent's own: 'These conditions were
    rejected as "manipulative" and "absurd" by Ukraine'. Only terms shorter than a
    statement: a longer quotation is attributed on its own (`_attribute_direct`)."""
    passive = _PASSIVE.search(text, sentence.start, sentence.end)
    if passive is None:
        return []
    terms = _terms(quotes, text, passive.end(), sentence.end)
    tokens = tokenize(text, passive.end(), sentence.end)
    by = next((i for i, t in enumerate(tokens[:_PASSIVE_REACH]) if t.text == "by"), None)
    if not terms or by is None:
        return []
    mention = mention_after(text, tokens, by + 1)
    speaker = None if mention is None else resolver.resolve(mention, number)
    if mention is None or speaker is None:
        return []
    resolver.said(speaker, number)
    where = (speaker, mention.start, mention.end, sentence.start, sentence.end)
    return [Statement("direct", q.start, q.end, *where) for q in terms]


def _attribute_direct(
    text: str,
    tokens: list[Token],
    quote: _Quote,
    paragraph: Span,
    resolver: Resolver,
    number: int,
    used_verbs: set[int],
) -> tuple[Speaker, int, int] | None:
    """The speaker named right after the quotation (", she added", ", said the ministry")
    or right before it ("Zakharova said: ...")."""
    after = [t for t in tokens if t.start >= quote.close_at]
    gap = text[quote.close_at : after[0].start] if after else ""
    if after and "\n" not in gap and not any(c in gap for c in '“"«'):
        first = after[0]
        if SPEECH_VERB_AFTER.match(text, first.start):
            mention = mention_after(text, after, _phrase_length(text, first))
            if mention is not None:
                speaker = resolver.resolve(mention, number)
                if speaker is not None:
                    used_verbs.add(first.start)
                    return speaker, mention.start, mention.end
        for index in range(1, min(len(after), 8)):
            if SPEECH_VERB_AFTER.match(text, after[index].start):
                mention = mention_before(text, after, index)
                if mention is not None and mention.start == first.start:
                    speaker = resolver.resolve(mention, number)
                    if speaker is not None:
                        used_verbs.add(after[index].start)
                        return speaker, mention.start, mention.end
                break
    before = [t for t in tokens if t.end <= quote.open_at]
    tail = text[before[-1].end : quote.open_at] if before else ""
    if before and "\n" not in tail and tail.strip() in {"", ",", ":", ", that", "that"}:
        verb = before[-1]
        if verb.text.casefold() == "that" and len(before) > 1:
            verb = before[-2]
        if SPEECH_VERB.fullmatch(verb.text.rstrip(",:")):
            index = before.index(verb)
            mention = mention_before(text, before, index)
            if mention is not None:
                speaker = resolver.resolve(mention, number)
                if speaker is not None:
                    used_verbs.add(verb.start)
                    return speaker, mention.start, mention.end
    return None


def _phrase_length(text: str, first: Token) -> int:
    """How many tokens the speech verb at `first` takes ("pointed out" is two)."""
    match = SPEECH_VERB_AFTER.match(text, first.start)
    assert match is not None
    return len(match.group().split())


def _reported(
    text: str,
    sentence: Span,
    resolver: Resolver,
    number: int,
    used_verbs: set[int],
    inside_quote: Callable[[int], bool],
) -> Statement | None:
    """The first reported statement of a sentence ("X said (that) ...", "..., stating that
    ...", "according to X, ..."); later verbs of the same sentence lie inside its content."""
    if text[sentence.start : sentence.end].rstrip("\"'”’)").endswith("?"):
        return None  # "What did Russia say on peace talks?" is a subheading, not a statement
    tokens = tokenize(text, sentence.start, sentence.end)
    according = re.search(r"\b[Aa]ccording to\b", text[sentence.start : sentence.end])
    if according is not None:
        at = sentence.start + according.end()
        index = next((i for i, t in enumerate(tokens) if t.start >= at), None)
        mention = None if index is None else mention_after(text, tokens, index)
        if mention is not None:
            speaker = resolver.resolve(mention, number)
            if speaker is not None:
                if according.start() == 0:
                    comma = text.find(",", mention.end, sentence.end)
                    start, end = (comma + 1, sentence.end) if comma > 0 else (-1, -1)
                else:
                    start, end = sentence.start, sentence.start + according.start()
                start, end = trim(text, start, end, " ,.;:")
                if end > start and _words(text[start:end]) >= _MIN_REPORTED_WORDS:
                    resolver.said(speaker, number)
                    return Statement(
                        "reported", start, end, speaker, mention.start, mention.end,
                        sentence.start, sentence.end,
                    )  # fmt: skip
    for verb in SPEECH_VERB.finditer(text, sentence.start, sentence.end):
        if verb.start() in used_verbs or inside_quote(verb.start()):
            continue
        index = next(i for i, t in enumerate(tokens) if t.start >= verb.start())
        participle = verb.group().endswith("ing")
        mention = mention_before(text, tokens, index)
        previous = _word_before(tokens, index)
        if mention is None and (participle or previous in COORDINATION | RELATIVE):
            mention = _subject(text, tokens, index, previous)
        if mention is None:
            continue
        speaker = resolver.resolve(mention, number)
        if speaker is None:
            continue
        start = _content_start(text, verb, sentence)
        end = trim(text, start, sentence.end, " ,.;:")[1]
        if text[start : start + 1] in '“"«' or _words(text[start:end]) < _MIN_REPORTED_WORDS:
            continue
        resolver.said(speaker, number)
        return Statement(
            "reported", start, end, speaker, mention.start, mention.end,
            sentence.start, sentence.end,
        )  # fmt: skip
    return None


def _word_before(tokens: list[Token], index: int) -> str:
    """The word before a verb, past adverbs and auxiliaries ("but later said")."""
    i = index - 1
    while i >= 0 and (tokens[i].text.casefold() in AUXILIARIES or tokens[i].text.endswith("ly")):
        i -= 1
    return tokens[i].text.casefold().rstrip(",") if i >= 0 else ""


def _subject(text: str, tokens: list[Token], verb_index: int, previous: str) -> Mention | None:
    """Who does the verb when it has no subject of its own: the antecedent of "who", or the
    subject of the sentence for "and said" and "..., stating that"."""
    if previous in RELATIVE and verb_index >= 2:
        return mention_before(text, tokens, verb_index - 1)
    index = 0
    # Skip an opening phrase up to its comma ("Speaking on Friday, Zakharova said ...").
    if (tokens and not np_word(tokens[0])) or (tokens and tokens[0].bare in FUNCTION_WORDS):
        for i, token in enumerate(tokens[:verb_index]):
            if token.text.endswith(","):
                index = i + 1
                break
    mention = mention_after(text, tokens, index)
    if mention is None or mention.end > tokens[verb_index].start:
        return None
    return mention


_THAT = re.compile(r"\bthat\b")


def _content_start(text: str, verb: re.Match[str], sentence: Span) -> int:
    """After the verb, and after "that" when it comes within a few words ("told the forum
    in Vladivostok on Thursday that ...")."""
    window = text[verb.end() : min(sentence.end, verb.end() + 90)]
    that = _THAT.search(window)
    if that is not None and _words(window[: that.start()]) <= 10:
        return trim(text, verb.end() + that.end(), sentence.end, " ,:")[0]
    start = trim(text, verb.end(), sentence.end, " ,:")[0]
    when = _WHEN.match(text, start, sentence.end)
    return trim(text, when.end(), sentence.end, " ,:")[0] if when else start


_WHEN = re.compile(
    r"(?:on|last|this)\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|week)\b"
)
