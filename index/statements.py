"""Who said what: the statements of an article attributed to people and organisations.

No named-entity model can be installed here, so this is built from patterns: quotation
marks, a lexicon of speech verbs, the shape of news attributions ("..., Zakharova said",
"Russian Foreign Ministry spokesperson Maria Zakharova said that ...", "according to ..."),
and the names the article itself gives in full. Every span is an offset into the original
text, as for passages: `text[quote_start:quote_end]` is the statement's content and
`text[speaker_start:speaker_end]` the mention of its speaker ("Zakharova", "she").

Speakers are resolved within the article: a surname or a title with a surname is the person
the article names in full ("Zakharova" -> "Maria Zakharova"); "he", "she" and roles ("the
spokesperson", "the president") are the latest speaker of the same or the previous
paragraph that fits. Across articles, people are matched by `speaker_key` (their surname,
folded so that transliterations such as Zelenskyy/Zelensky and Syrskyi/Sirsky agree).

Measured against hand labels of the seed articles: `byline eval --statements`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

from index.chunking import Span, split_sentences

EXTRACTOR_VERSION = 1
"""Bumped whenever the rules change what is found: stored statements are extracted again."""

Kind = Literal["direct", "reported"]


@dataclass(frozen=True, slots=True)
class Speaker:
    name: str
    """As the article gives it in full ("Maria Zakharova", "Russia's foreign ministry")."""
    key: str
    """The same for every mention of one speaker across articles (see `speaker_key`)."""
    description: str | None
    """The role the article gives with the name ("Russian Foreign Ministry spokesperson")."""
    person: bool


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
class Description:
    """A person named with a role: `text[start:end]` is "Kremlin adviser Yuri Ushakov"."""

    speaker: Speaker
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Attributions:
    statements: tuple[Statement, ...]
    descriptions: tuple[Description, ...]


# -- the lexicons ----------------------------------------------------------------------------


def _lexicon(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_SAY = _lexicon(
    "said says say told tells stated added adds noted stressed stresses emphasized "
    "emphasised emphasizes insisted insists warned warns claimed argued argues explained "
    "asserted asserts reported confirmed confirms denied denies wrote replied responded "
    "remarked acknowledged admitted suggested suggests indicated highlighted reiterated "
    "echoed announced described describes called labeled labelled termed deemed accused "
    "accuses criticized criticised condemned vowed promised urged expressed conceded "
    "predicted mentioned alleged tweeted posted declared"
)
_PHRASES = ("pointed out", "made it clear", "made clear", "referred to")
_PARTICIPLES = _lexicon(
    "saying stating adding noting stressing emphasizing emphasising insisting warning "
    "claiming arguing asserting explaining confirming accusing describing calling "
    "highlighting suggesting urging vowing"
)
_VERB = re.compile(
    r"\b(?:"
    + "|".join([*(p.replace(" ", r"\s+") for p in _PHRASES), *_SAY, *_PARTICIPLES])
    + r")\b"
)
_AFTER_VERB = re.compile(
    r"(?:" + "|".join([*(p.replace(" ", r"\s+") for p in _PHRASES), *_SAY]) + r")\b"
)
_ROLES = frozenset(
    _lexicon(
        "spokesperson spokesman spokeswoman adviser advisor aide minister president premier "
        "chancellor commander general secretary governor mayor chief head leader ambassador "
        "envoy representative official director chairman chair deputy senator lawmaker "
        "analyst expert prosecutor judge king queen prince pope colonel lieutenant captain "
        "sergeant admiral marshal negotiator diplomat spy"
    )
)
_GROUPS = frozenset(
    _lexicon(
        "ministry kremlin government authorities officials office forces army military "
        "institute council committee agency police service department union commission "
        "parliament court administration embassy command staff navy headquarters cabinet "
        "presidency white house nato un"
    )
)
_NP_LOWER = (
    _ROLES
    | _GROUPS
    | frozenset(
        _lexicon(
            "foreign defence defense interior armed press supreme senior regional prime deputy "
            "top former acting state national federal military"
        )
    )
)
_TITLES = frozenset(
    _lexicon(
        "president prime minister general secretary chancellor commander supreme senior mr "
        "mrs ms dr gen sen rep gov col lt maj capt adm sgt prof lord sir dame spokesperson "
        "spokesman spokeswoman adviser governor mayor chief deputy foreign defence defense "
        "interior ambassador envoy king queen prince pope colonel marshal"
    )
)
_PERSONAL_TITLES = frozenset(
    _lexicon(
        "president minister general secretary chancellor commander mr mrs ms dr gen sen rep "
        "gov col lt maj capt adm sgt prof lord sir dame governor mayor ambassador envoy king "
        "queen prince pope colonel marshal spokesperson spokesman spokeswoman adviser advisor"
    )
)
_CONNECTORS = frozenset({"of", "for", "the", "and", "de", "van", "von", "al", "bin", "da", "le"})
# Capitalized words that open sentences or clauses and are never part of a speaker's name.
_FUNCTION_WORDS = frozenset(
    _lexicon(
        "a an as at after amid and but by despite during for from however if in it its "
        "meanwhile on once since so still than that then there these this those though thus "
        "to under until when where whether which while who with yet according speaking "
        "replying asked what why how our we you your my i us"
    )
)
_SKIP_BEFORE_VERB = frozenset(
    _lexicon(
        "has have had also later earlier previously repeatedly firmly again then reportedly "
        "publicly openly once recently already further separately would will not never"
    )
)
_PASSIVE = frozenset(["be", "been", "being", "is", "are", "was", "were"])
_PRONOUNS = frozenset({"he", "she"})
_RELATIVE = frozenset({"who", "which"})
_COORDINATION = frozenset({"and", "but"})
_LOCATIVE = frozenset({"in", "from", "at"})
_MIN_DIRECT_WORDS = 4
"""A shorter quotation is a term the writer quotes ("a major provocation"), not a statement
on its own; it is kept as part of the reported statement around it."""
_MIN_REPORTED_WORDS = 3

_OPEN = {"“": "”", "«": "»", "„": "“"}
_WORD = re.compile(r"[\w’'.-]+")
_POSSESSIVE = re.compile(r"(?:’s|'s|’|')$")


# -- names -----------------------------------------------------------------------------------


def fold(name: str) -> str:
    """A name without accents and case: "Zelenskyy" -> "zelenskyy"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isalnum() or c == " ").casefold().strip()


def surname_key(surname: str) -> str:
    """Transliterations agree: Zelenskyy and Zelensky, Syrskyi and Sirsky -> one key."""
    word = fold(_POSSESSIVE.sub("", surname)).replace(" ", "")
    word = word.replace("y", "i")
    word = re.sub(r"(.)\1+", r"\1", word)
    return re.sub(r"i+$", "", word) or word


def speaker_key(name: str, person: bool) -> str:
    """People by surname; organisations by their folded name without "the"."""
    if person:
        return "p:" + surname_key(name.split()[-1])
    words = [w for w in fold(_POSSESSIVE.sub("", name)).split() if w != "the"]
    return "o:" + " ".join(words)


def _capitalized(word: str) -> bool:
    return word[:1].isupper() and word.casefold() not in _FUNCTION_WORDS


@dataclass(slots=True)
class _Token:
    text: str
    start: int
    end: int
    bare: str
    """Without trailing punctuation or a possessive: "Russia's," -> "Russia"."""


def _tokens(text: str, start: int, end: int) -> list[_Token]:
    return [
        _Token(m.group(), m.start(), m.end(), _POSSESSIVE.sub("", m.group().rstrip(".,;:")))
        for m in _WORD.finditer(text, start, end)
    ]


@dataclass(slots=True)
class _Mention:
    """A noun phrase that names a speaker, before it is resolved."""

    words: list[_Token]

    @property
    def start(self) -> int:
        return self.words[0].start

    @property
    def end(self) -> int:
        last = self.words[-1]
        return last.start + len(last.text.rstrip(".,;:"))

    def phrase(self, text: str) -> str:
        return text[self.start : self.end].rstrip(".,;:")

    def name_split(self) -> tuple[list[_Token], list[_Token]]:
        """(description words, name words): the name is the trailing run of capitalized
        words that are not titles, at most four."""
        name: list[_Token] = []
        for token in reversed(self.words):
            bare = token.bare
            if not _capitalized(bare) or bare.casefold() in _TITLES or len(name) == 4:
                break
            if bare.casefold() in _GROUPS:
                break
            name.insert(0, token)
        return self.words[: len(self.words) - len(name)], name

    def is_person(self) -> bool:
        """Two or more name words ("Maria Zakharova"), or a personal title and a surname
        ("President Zelenskyy"); "Ukraine's Ministry of Foreign Affairs" is not a person."""
        description, name = self.name_split()
        if not name or self.words[-1].bare.casefold() in _GROUPS:
            return False
        if len(name) >= 2:
            return True
        return bool(description) and description[-1].bare.casefold() in _PERSONAL_TITLES


def _np_word(token: _Token) -> bool:
    bare = token.bare
    return _capitalized(bare) or bare.casefold() in _NP_LOWER


def _mention_before(text: str, tokens: list[_Token], verb_index: int) -> _Mention | None:
    """The speaker phrase that ends just before the verb at `verb_index`, if any."""
    i = verb_index - 1
    while i >= 0 and (
        tokens[i].text.casefold() in _SKIP_BEFORE_VERB or tokens[i].text.endswith("ly")
    ):
        i -= 1
    if i < 0 or tokens[i].text.casefold() in _PASSIVE:
        return None
    if tokens[i].text != tokens[i].text.rstrip(".,;:") or any(
        c in text[tokens[i].end : tokens[verb_index].start] for c in ',;:()“”"—–'
    ):
        return None  # "..., stating that": the verb has no subject of its own here
    if tokens[i].text.casefold() in _PRONOUNS:
        return _Mention([tokens[i]])
    collected: list[_Token] = []
    while i >= 0:
        token = tokens[i]
        gap = text[token.end : collected[0].start] if collected else ""
        if any(c in gap for c in ',;:()“”"—–') or "\n" in gap:
            break
        if token.text.rstrip(".,;:") != token.text and collected:
            break
        lowered = token.bare.casefold()
        if collected and lowered in _LOCATIVE and i > 0 and _np_word(tokens[i - 1]):
            collected = []  # "the Institute ... in Washington said": the place is not the speaker
            i -= 1
            continue
        if _np_word(token) or (collected and lowered in _CONNECTORS):
            collected.insert(0, token)
            i -= 1
            continue
        break
    while collected and collected[0].bare.casefold() in _CONNECTORS - {"the"}:
        collected.pop(0)
    if not collected or not any(_np_word(t) and t.bare.casefold() != "the" for t in collected):
        return None
    return _Mention(collected)


def _mention_after(text: str, tokens: list[_Token], start_index: int) -> _Mention | None:
    """The speaker phrase that starts at `start_index` ("said Russia's foreign ministry")."""
    collected: list[_Token] = []
    for token in tokens[start_index:]:
        lowered = token.bare.casefold()
        if _np_word(token) or (collected and lowered in _CONNECTORS):
            collected.append(token)
            if token.text.rstrip(".,;:") != token.text:
                break
            continue
        break
    while collected and collected[-1].bare.casefold() in _CONNECTORS:
        collected.pop()
    if not collected:
        return None
    following = start_index + len(collected)
    if (
        collected[-1].bare.casefold() in _GROUPS
        and following + 1 < len(tokens)
        and tokens[following].text == "in"
        and _capitalized(tokens[following + 1].bare)
    ):
        collected += tokens[following : following + 2]  # "Authorities in Kyiv"
    return _Mention(collected)


# -- the extractor ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Quote:
    start: int  # inside the marks
    end: int
    open_at: int  # the opening mark
    close_at: int  # just after the closing mark (or the paragraph's end)
    paragraph: int


def _paragraphs(text: str) -> list[Span]:
    spans = []
    position = 0
    for line in text.split("\n"):
        start, end = position, position + len(line)
        position = end + 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append(Span(start, end))
    return spans


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
        quote.start, quote.end = _trim(text, quote.start, quote.end, " \n,")
    return [q for q in found if q.end > q.start]


def _trim(text: str, start: int, end: int, chars: str) -> tuple[int, int]:
    while start < end and text[start] in chars:
        start += 1
    while end > start and text[end - 1] in chars:
        end -= 1
    return start, end


def _words(text: str) -> int:
    return len(text.split())


class _Resolver:
    """Who a mention is, from what the article has said so far."""

    def __init__(self, text: str, paragraphs: list[Span]) -> None:
        self.text = text
        self.people: dict[str, Speaker] = {}
        self.named_at: list[tuple[int, str]] = []  # (offset, key): where people are named
        self.recent: list[tuple[int, Speaker]] = []  # (paragraph, speaker) in reading order
        self.described: list[Description] = []  # people named with a role, in reading order
        for paragraph in paragraphs:
            self._learn_names(paragraph)

    def _learn_names(self, paragraph: Span) -> None:
        """Every person the paragraph names in full, with the role given beside the name."""
        tokens = _tokens(self.text, paragraph.start, paragraph.end)
        i = 0
        while i < len(tokens):
            if not _np_word(tokens[i]):
                i += 1
                continue
            j = i
            while j < len(tokens) and (_np_word(tokens[j]) or tokens[j].bare in _CONNECTORS):
                gap = self.text[tokens[j - 1].end : tokens[j].start] if j > i else ""
                if any(c in gap for c in ',;:()“”"') or "\n" in gap:
                    break
                j += 1
                if tokens[j - 1].text.rstrip(".,;:") != tokens[j - 1].text:
                    break
            mention = _Mention(tokens[i:j])
            if mention.is_person():
                person = self.person(mention)
                self.named_at.append((mention.start, person.key))
                words, _ = mention.name_split()
                role = _description(self.text, words)
                if role:
                    start = next(t for t in words if t.bare not in _CONNECTORS).start
                    described = Speaker(person.name, person.key, role, True)
                    self.described.append(Description(described, start, mention.end))
            i = max(j, i + 1)

    def person(self, mention: _Mention) -> Speaker:
        description_words, name_words = mention.name_split()
        name = " ".join(t.bare for t in name_words)
        key = speaker_key(name, person=True)
        description = _description(self.text, description_words)
        known = self.people.get(key)
        if known is None or len(name) > len(known.name) or (description and not known.description):
            fuller = name if known is None or len(name) >= len(known.name) else known.name
            role = description or (known.description if known else None)
            known = Speaker(fuller, key, role, person=True)
            self.people[key] = known
        return known

    def resolve(self, mention: _Mention, paragraph: int) -> Speaker | None:
        words = mention.words
        first = words[0].bare.casefold()
        if len(words) == 1 and first in _PRONOUNS:
            return self._latest(paragraph, lambda s: s.person)
        _, name_words = mention.name_split()
        if not name_words:
            role = [t.bare.casefold() for t in words if t.bare.casefold() != "the"]
            head = role[-1] if role else ""
            if head in _ROLES:
                found = self._by_role(role, paragraph, mention.start)
                if found is not None:
                    return found
            if head in _ROLES or head in _GROUPS:
                name = mention.phrase(self.text)
                return Speaker(name, speaker_key(name, person=False), None, person=False)
            return None
        if mention.is_person() or speaker_key(name_words[-1].bare, True) in self.people:
            key = speaker_key(name_words[-1].bare, person=True)
            if key in self.people and len(name_words) <= len(self.people[key].name.split()):
                return self.people[key]
            return self.person(mention)
        name = mention.phrase(self.text)
        return Speaker(name, speaker_key(name, person=False), None, person=False)

    def _latest(self, paragraph: int, fits: object) -> Speaker | None:
        assert callable(fits)
        for where, speaker in reversed(self.recent):
            if where < paragraph - 1:
                break
            if fits(speaker):
                return speaker
        return None

    def _by_role(self, role: list[str], paragraph: int, at: int) -> Speaker | None:
        head = role[-1]
        qualifiers = {w for w in role[:-1] if w not in _ROLES}

        def fits(speaker: Speaker) -> bool:
            if not speaker.person or not speaker.description:
                return False
            described = speaker.description.casefold().split()
            if head not in described:
                return False
            # "the Russian president" is not the one the article calls "Ukrainian President".
            others = {w for w in described if w.endswith(("ian", "ese", "ish")) and w != head}
            return not (others and qualifiers and not qualifiers & others)

        recent = self._latest(paragraph, fits)
        if recent is not None:
            return recent
        # Else the person with that role named last before the mention.
        for _, key in sorted((n for n in self.named_at if n[0] < at), reverse=True):
            if fits(self.people[key]):
                return self.people[key]
        return None

    def said(self, speaker: Speaker, paragraph: int) -> None:
        self.recent.append((paragraph, speaker))


def _description(text: str, words: list[_Token]) -> str | None:
    while words and words[0].bare.casefold() in _CONNECTORS:
        words = words[1:]
    if not words or not any(t.bare.casefold() in _ROLES | _TITLES for t in words):
        return None
    return _POSSESSIVE.sub("", text[words[0].start : words[-1].end].rstrip(".,;:"))


def _sentence_of(sentences: list[Span], start: int, end: int) -> tuple[int, int]:
    covering = [s for s in sentences if s.end > start and s.start < end]
    if not covering:
        return start, end
    return covering[0].start, covering[-1].end


def extract(text: str) -> Attributions:
    """The statements of an article and the roles it gives the people it names."""
    paragraphs = _paragraphs(text)
    resolver = _Resolver(text, paragraphs)
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
        tokens = _tokens(text, paragraph.start, paragraph.end)
        items: list[tuple[int, int, _Quote | Span]] = [
            (q.open_at, 0, q) for q in by_paragraph.get(number, [])
        ]
        items += [(s.start, 1, s) for s in sentences if paragraph.start <= s.start < paragraph.end]
        for _, _, item in sorted(items, key=lambda i: (i[0], i[1])):
            if isinstance(item, Span):
                reported = _reported(text, item, resolver, number, used_verbs, inside_quote)
                if reported is not None:
                    statements.append(reported)
                    statements += _quoted_within(reported, quotes, text)
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
    return [
        Statement(
            "direct",
            q.start,
            q.end,
            reported.speaker,
            reported.speaker_start,
            reported.speaker_end,
            reported.sentence_start,
            reported.sentence_end,
        )
        for q in quotes
        if reported.start <= q.open_at
        and q.close_at <= reported.end + 1
        and _words(text[q.start : q.end]) < _MIN_DIRECT_WORDS
    ]


def _attribute_direct(
    text: str,
    tokens: list[_Token],
    quote: _Quote,
    paragraph: Span,
    resolver: _Resolver,
    number: int,
    used_verbs: set[int],
) -> tuple[Speaker, int, int] | None:
    """The speaker named right after the quotation (", she added", ", said the ministry")
    or right before it ("Zakharova said: ...")."""
    after = [t for t in tokens if t.start >= quote.close_at]
    gap = text[quote.close_at : after[0].start] if after else ""
    if after and "\n" not in gap and not any(c in gap for c in '“"«'):
        first = after[0]
        if _AFTER_VERB.match(text, first.start):
            mention = _mention_after(text, after, _phrase_length(text, first))
            if mention is not None:
                speaker = resolver.resolve(mention, number)
                if speaker is not None:
                    used_verbs.add(first.start)
                    return speaker, mention.start, mention.end
        for index in range(1, min(len(after), 8)):
            if _AFTER_VERB.match(text, after[index].start):
                mention = _mention_before(text, after, index)
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
        if _VERB.fullmatch(verb.text.rstrip(",:")):
            index = before.index(verb)
            mention = _mention_before(text, before, index)
            if mention is not None:
                speaker = resolver.resolve(mention, number)
                if speaker is not None:
                    used_verbs.add(verb.start)
                    return speaker, mention.start, mention.end
    return None


def _phrase_length(text: str, first: _Token) -> int:
    """How many tokens the speech verb at `first` takes ("pointed out" is two)."""
    match = _AFTER_VERB.match(text, first.start)
    assert match is not None
    return len(match.group().split())


def _reported(
    text: str,
    sentence: Span,
    resolver: _Resolver,
    number: int,
    used_verbs: set[int],
    inside_quote: object,
) -> Statement | None:
    """The first reported statement of a sentence ("X said (that) ...", "..., stating that
    ...", "according to X, ..."); later verbs of the same sentence lie inside its content."""
    assert callable(inside_quote)
    if text[sentence.start : sentence.end].rstrip("\"'”’)").endswith("?"):
        return None  # "What did Russia say on peace talks?" is a subheading, not a statement
    tokens = _tokens(text, sentence.start, sentence.end)
    according = re.search(r"\b[Aa]ccording to\b", text[sentence.start : sentence.end])
    if according is not None:
        at = sentence.start + according.end()
        index = next((i for i, t in enumerate(tokens) if t.start >= at), None)
        mention = None if index is None else _mention_after(text, tokens, index)
        if mention is not None:
            speaker = resolver.resolve(mention, number)
            if speaker is not None:
                if according.start() == 0:
                    comma = text.find(",", mention.end, sentence.end)
                    start, end = (comma + 1, sentence.end) if comma > 0 else (-1, -1)
                else:
                    start, end = sentence.start, sentence.start + according.start()
                start, end = _trim(text, start, end, " ,.;:")
                if end > start and _words(text[start:end]) >= _MIN_REPORTED_WORDS:
                    resolver.said(speaker, number)
                    return Statement(
                        "reported", start, end, speaker, mention.start, mention.end,
                        sentence.start, sentence.end,
                    )  # fmt: skip
    for verb in _VERB.finditer(text, sentence.start, sentence.end):
        if verb.start() in used_verbs or inside_quote(verb.start()):
            continue
        index = next(i for i, t in enumerate(tokens) if t.start >= verb.start())
        participle = verb.group().endswith("ing")
        mention = _mention_before(text, tokens, index)
        previous = _word_before(tokens, index)
        if mention is None and (participle or previous in _COORDINATION | _RELATIVE):
            mention = _subject(text, tokens, index, previous)
        if mention is None:
            continue
        speaker = resolver.resolve(mention, number)
        if speaker is None:
            continue
        start = _content_start(text, verb, sentence)
        end = _trim(text, start, sentence.end, " ,.;:")[1]
        if text[start : start + 1] in '“"«' or _words(text[start:end]) < _MIN_REPORTED_WORDS:
            continue
        resolver.said(speaker, number)
        return Statement(
            "reported", start, end, speaker, mention.start, mention.end,
            sentence.start, sentence.end,
        )  # fmt: skip
    return None


def _word_before(tokens: list[_Token], index: int) -> str:
    """The word before a verb, past adverbs and auxiliaries ("but later said")."""
    i = index - 1
    while i >= 0 and (
        tokens[i].text.casefold() in _SKIP_BEFORE_VERB or tokens[i].text.endswith("ly")
    ):
        i -= 1
    return tokens[i].text.casefold().rstrip(",") if i >= 0 else ""


def _subject(text: str, tokens: list[_Token], verb_index: int, previous: str) -> _Mention | None:
    """Who does the verb when it has no subject of its own: the antecedent of "who", or the
    subject of the sentence for "and said" and "..., stating that"."""
    if previous in _RELATIVE and verb_index >= 2:
        return _mention_before(text, tokens, verb_index - 1)
    index = 0
    # Skip an opening phrase up to its comma ("Speaking on Friday, Zakharova said ...").
    if (tokens and not _np_word(tokens[0])) or (tokens and tokens[0].bare in _FUNCTION_WORDS):
        for i, token in enumerate(tokens[:verb_index]):
            if token.text.endswith(","):
                index = i + 1
                break
    mention = _mention_after(text, tokens, index)
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
        return _trim(text, verb.end() + that.end(), sentence.end, " ,:")[0]
    start = _trim(text, verb.end(), sentence.end, " ,:")[0]
    when = _WHEN.match(text, start, sentence.end)
    return _trim(text, when.end(), sentence.end, " ,:")[0] if when else start


_WHEN = re.compile(
    r"(?:on|last|this)\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|week)\b"
)
