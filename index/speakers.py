"""Who is speaking: the names, roles and organisations of news attributions.

Without a named-entity model (none installs here), a speaker is a noun phrase read from the
shape of the text: capitalized words and the lower-case words of roles and institutions
("Russian Foreign Ministry spokesperson Maria Zakharova", "Russia's foreign ministry",
"Ukrainian officials"). The name is the trailing run of capitalized words that are not titles;
what comes before it is the role. `Resolver` learns the people an article names in full and
resolves later mentions to them: a surname, a title with a surname, "he"/"she", or a role
("the president"). Across articles, `speaker_key` matches people by surname, folded so that
transliterations agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from index.chunking import Span


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
class Description:
    """A person named with a role: `text[start:end]` is "Kremlin adviser Yuri Ushakov"."""

    speaker: Speaker
    start: int
    end: int


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
SPEECH_VERB = re.compile(
    r"\b(?:"
    + "|".join([*(p.replace(" ", r"\s+") for p in _PHRASES), *_SAY, *_PARTICIPLES])
    + r")\b"
)
SPEECH_VERB_AFTER = re.compile(
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
CONNECTORS = frozenset({"of", "for", "the", "and", "de", "van", "von", "al", "bin", "da", "le"})
# Capitalized words that open sentences or clauses and are never part of a speaker's name.
FUNCTION_WORDS = frozenset(
    _lexicon(
        "a an as at after amid and but by despite during for from however if in it its "
        "meanwhile on once since so still than that then there these this those though thus "
        "to under until when where whether which while who with yet according speaking "
        "replying asked what why how our we you your my i us"
    )
)
AUXILIARIES = frozenset(
    _lexicon(
        "has have had also later earlier previously repeatedly firmly again then reportedly "
        "publicly openly once recently already further separately would will not never"
    )
)
_PASSIVE = frozenset(["be", "been", "being", "is", "are", "was", "were"])
PRONOUNS = frozenset({"he", "she"})
RELATIVE = frozenset({"who", "which"})
COORDINATION = frozenset({"and", "but"})
_LOCATIVE = frozenset({"in", "from", "at"})
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
    """People by surname (within one article, where "Zakharova" is the Maria Zakharova it
    named); organisations by their folded name without "the". Across articles people are
    told apart by their first initial as well (index/people.py)."""
    if person:
        return "p:" + surname_key(name.split()[-1])
    words = [w for w in fold(_POSSESSIVE.sub("", name)).split() if w != "the"]
    return "o:" + " ".join(words)


def is_title(word: str) -> bool:
    """A title or role word that goes before a name ("president", "gen")."""
    return fold(word).rstrip(".") in _TITLES


def capitalized(word: str) -> bool:
    return word[:1].isupper() and word.casefold() not in FUNCTION_WORDS


@dataclass(slots=True)
class Token:
    text: str
    start: int
    end: int
    bare: str
    """Without trailing punctuation or a possessive: "Russia's," -> "Russia"."""


def tokenize(text: str, start: int, end: int) -> list[Token]:
    return [
        Token(m.group(), m.start(), m.end(), _POSSESSIVE.sub("", m.group().rstrip(".,;:")))
        for m in _WORD.finditer(text, start, end)
    ]


@dataclass(slots=True)
class Mention:
    """A noun phrase that names a speaker, before it is resolved."""

    words: list[Token]

    @property
    def start(self) -> int:
        return self.words[0].start

    @property
    def end(self) -> int:
        last = self.words[-1]
        return last.start + len(last.text.rstrip(".,;:"))

    def phrase(self, text: str) -> str:
        return text[self.start : self.end].rstrip(".,;:")

    def name_split(self) -> tuple[list[Token], list[Token]]:
        """(description words, name words): the name is the trailing run of capitalized
        words that are not titles, at most four."""
        name: list[Token] = []
        for token in reversed(self.words):
            bare = token.bare
            if not capitalized(bare) or bare.casefold() in _TITLES or len(name) == 4:
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


def np_word(token: Token) -> bool:
    bare = token.bare
    return capitalized(bare) or bare.casefold() in _NP_LOWER


def mention_before(text: str, tokens: list[Token], verb_index: int) -> Mention | None:
    """The speaker phrase that ends just before the verb at `verb_index`, if any."""
    i = verb_index - 1
    while i >= 0 and (tokens[i].text.casefold() in AUXILIARIES or tokens[i].text.endswith("ly")):
        i -= 1
    if i < 0 or tokens[i].text.casefold() in _PASSIVE:
        return None
    if tokens[i].text != tokens[i].text.rstrip(".,;:") or any(
        c in text[tokens[i].end : tokens[verb_index].start] for c in ',;:()“”"—–'
    ):
        return None  # "..., stating that": the verb has no subject of its own here
    if tokens[i].text.casefold() in PRONOUNS:
        return Mention([tokens[i]])
    collected: list[Token] = []
    while i >= 0:
        token = tokens[i]
        gap = text[token.end : collected[0].start] if collected else ""
        if any(c in gap for c in ',;:()“”"—–') or "\n" in gap:
            break
        if token.text.rstrip(".,;:") != token.text and collected:
            break
        lowered = token.bare.casefold()
        if collected and lowered in _LOCATIVE and i > 0 and np_word(tokens[i - 1]):
            collected = []  # "the Institute ... in Washington said": the place is not the speaker
            i -= 1
            continue
        if np_word(token) or (collected and lowered in CONNECTORS):
            collected.insert(0, token)
            i -= 1
            continue
        break
    while collected and collected[0].bare.casefold() in CONNECTORS - {"the"}:
        collected.pop(0)
    if not collected or not any(np_word(t) and t.bare.casefold() != "the" for t in collected):
        return None
    return Mention(collected)


def mention_after(text: str, tokens: list[Token], start_index: int) -> Mention | None:
    """The speaker phrase that starts at `start_index` ("said Russia's foreign ministry")."""
    collected: list[Token] = []
    for token in tokens[start_index:]:
        lowered = token.bare.casefold()
        if np_word(token) or (collected and lowered in CONNECTORS):
            collected.append(token)
            if token.text.rstrip(".,;:") != token.text:
                break
            continue
        break
    while collected and collected[-1].bare.casefold() in CONNECTORS:
        collected.pop()
    if not collected:
        return None
    following = start_index + len(collected)
    if (
        collected[-1].bare.casefold() in _GROUPS
        and following + 1 < len(tokens)
        and tokens[following].text == "in"
        and capitalized(tokens[following + 1].bare)
    ):
        collected += tokens[following : following + 2]  # "Authorities in Kyiv"
    return Mention(collected)


class Resolver:
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
        tokens = tokenize(self.text, paragraph.start, paragraph.end)
        i = 0
        while i < len(tokens):
            if not np_word(tokens[i]):
                i += 1
                continue
            j = i
            while j < len(tokens) and (np_word(tokens[j]) or tokens[j].bare in CONNECTORS):
                gap = self.text[tokens[j - 1].end : tokens[j].start] if j > i else ""
                if any(c in gap for c in ',;:()“”"') or "\n" in gap:
                    break
                j += 1
                if tokens[j - 1].text.rstrip(".,;:") != tokens[j - 1].text:
                    break
            mention = Mention(tokens[i:j])
            if mention.is_person():
                person = self.person(mention)
                self.named_at.append((mention.start, person.key))
                words, _ = mention.name_split()
                role = description_of(self.text, words)
                if role:
                    start = next(t for t in words if t.bare not in CONNECTORS).start
                    described = Speaker(person.name, person.key, role, True)
                    self.described.append(Description(described, start, mention.end))
            i = max(j, i + 1)

    def person(self, mention: Mention) -> Speaker:
        description_words, name_words = mention.name_split()
        name = " ".join(t.bare for t in name_words)
        key = speaker_key(name, person=True)
        description = description_of(self.text, description_words)
        known = self.people.get(key)
        if known is None or len(name) > len(known.name) or (description and not known.description):
            fuller = name if known is None or len(name) >= len(known.name) else known.name
            role = description or (known.description if known else None)
            known = Speaker(fuller, key, role, person=True)
            self.people[key] = known
        return known

    def resolve(self, mention: Mention, paragraph: int) -> Speaker | None:
        words = mention.words
        first = words[0].bare.casefold()
        if len(words) == 1 and first in PRONOUNS:
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

    def _latest(self, paragraph: int, fits: Callable[[Speaker], bool]) -> Speaker | None:
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


def description_of(text: str, words: list[Token]) -> str | None:
    while words and words[0].bare.casefold() in CONNECTORS:
        words = words[1:]
    if not words or not any(t.bare.casefold() in _ROLES | _TITLES for t in words):
        return None
    return _POSSESSIVE.sub("", text[words[0].start : words[-1].end].rstrip(".,;:"))
