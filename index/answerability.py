"""Does a sentence answer the question, or only resemble it?

Embedding similarity finds sentences about the same things as the question; it cannot tell
"five persons were killed in Belgorod" from an answer to "how many tanks were sent to Kursk".
These rules, true of news in general, check what similarity misses:

- the names a number question gives (people, places, organisations) are in the answer;
- "how many X" is answered by a number that counts X (or a near synonym of X);
- of the sentences similar to the question, the one that covers more of its words (the same
  word or a near synonym) answers it more often: coverage is part of a sentence's rank.

Near synonyms come from the embedding model, one word at a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer
from numpy.typing import NDArray

from index.embedding import Embedder

_STEMMER = Stemmer.Stemmer("english")
_WORD = re.compile(r"[^\W_][\w’'-]*")
_NAME = re.compile(r"\b[A-Z][\w’'-]+")
_POSSESSIVE = re.compile(r"(?:['’]s?)$")
# Adjectives of nationality ("Russian soldiers", "Ukrainian units") qualify a noun; the
# answer may name the side another way ("Moscow's troops"), so they are not required.
_DEMONYM = re.compile(r"(?:ian|ean|ese|ish|ican)$", re.IGNORECASE)
_NUMBERS = (
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty hundred hundreds thousand thousands million millions billion billions dozen "
    "dozens half third quarter several"
)
_NUMBER_WORDS = frozenset(_NUMBERS.split())
_AUXILIARIES = "did does do were was are is have has had will would can could should been be being"
_PREPOSITIONS = (
    "in on at of for from to by with when where during since after before that which who"
)
_AUXILIARY = frozenset(_AUXILIARIES.split())
_AUX = _AUXILIARY | frozenset(_PREPOSITIONS.split())
"""Where the counted noun phrase of "how many X ..." ends."""


def words(text: str) -> list[str]:
    return [m.group() for m in _WORD.finditer(text)]


def bare(word: str) -> str:
    """The word casefolded, without a possessive ending."""
    return _POSSESSIVE.sub("", word).casefold()


def names(text: str, *, skip_first: bool = True) -> list[str]:
    """The names a question gives: its capitalized words but the first (which every
    sentence capitalizes) and adjectives of nationality, possessives dropped."""
    found = [m for m in _NAME.finditer(text) if not skip_first or text[: m.start()].strip()]
    bare = [_POSSESSIVE.sub("", m.group()) for m in found]
    return [n for n in dict.fromkeys(bare) if not _DEMONYM.search(n) and len(n) > 1]


def mentions(text: str, name: str) -> bool:
    """Does the text name it? "Russia" is named by "Russian", "Ukraine" by "Ukrainian":
    one word may extend the other by its inflection (the shared start is all but two
    letters of the shorter, and at least four)."""
    wanted = bare(name)
    for word in words(text):
        word = bare(word)
        shorter = min(len(word), len(wanted))
        shared = len(_common_prefix(word, wanted))
        if word == wanted or (shared >= max(4, shorter - 2) and shared >= shorter - 2):
            return True
    return False


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


_CLAUSE = re.compile(r"[,;:()\u2013\u2014]|\s-\s")
_HOW_MANY = re.compile(
    r"\bhow\s+many\s+(?P<rest>.+)|\b(?:the\s+)?(?:total\s+)?number\s+of\s+(?P<of>.+)|"
    r"\bthe\s+(?P<population>population)\b",
    re.IGNORECASE,
)


def counted_noun(question: str) -> str | None:
    """What "how many X ...", "the number of X" count: the last word of X ("Russian
    soldiers" → "soldiers"); "the population of" counts a population. None for other
    questions, and for "how much": a measure is given by its unit ("1,000 square km"), not
    by the thing measured."""
    match = _HOW_MANY.search(question)
    if match is None:
        return None
    if match["population"]:
        return match["population"]
    return _noun_of(words(match["rest"] or match["of"]))


def _noun_of(phrase: list[str]) -> str | None:
    """The counted noun at the start of what follows "how many" / "the number of"."""
    kept: list[str] = []
    for word in phrase[:4]:
        if word.casefold() in _AUX or (kept and word.casefold().endswith("ed")):
            break
        kept.append(word)
    return kept[-1] if kept else None


def counted_action(question: str) -> list[str]:
    """What "how many X ..." asks was done to or by X: the words after X and its auxiliary
    up to the next preposition ("how many civilians have died in" → "died"; "how many
    prisoners has ukraine swapped since" → "ukraine", "swapped"). Empty for other
    questions, and for "how many X" with nothing after it."""
    match = _HOW_MANY.search(question)
    if match is None or not (match["rest"] or match["of"]):
        return []
    tokens = words(match["rest"] or match["of"])
    noun = _noun_of(tokens)
    start = next((i + 1 for i, w in enumerate(tokens) if w == noun), len(tokens))
    # "days of war had Ukraine been through": the verb follows the auxiliary, not "of".
    auxiliary = None
    if start < len(tokens) and bare(tokens[start]) in _AUX:  # else "people died when"
        auxiliary = next(
            (i for i in range(start, min(start + 4, len(tokens))) if bare(tokens[i]) in _AUXILIARY),
            None,
        )
    if auxiliary is not None:
        start = auxiliary
        while start < len(tokens) and bare(tokens[start]) in _AUXILIARY:
            start += 1  # "have been killed"
    found: list[str] = []
    for word in tokens[start : start + 3]:
        folded = bare(word)
        if folded in _AUX:
            break
        if folded not in _FUNCTION_WORDS and not _is_number([word], 0):
            found.append(folded)
    return found


def _is_number(tokens: Sequence[str], i: int) -> bool:
    word = tokens[i].casefold()
    if any(c.isdigit() for c in word):
        return True
    # "one of the goals" counts nothing.
    following = tokens[i + 1].casefold() if i + 1 < len(tokens) else ""
    return word in _NUMBER_WORDS and not (word == "one" and following == "of")


@dataclass(frozen=True, slots=True)
class AnswerabilityOptions:
    synonym: float = 0.5
    """Two words are near synonyms when their embeddings are at least this similar
    (all-MiniLM-L6-v2: "soldiers"/"prisoners" 0.54, "people"/"persons" 0.83,
    "tanks"/"kilometers" 0.28, "soldiers"/"persons" 0.38)."""
    after: int = 3
    """The counted noun follows the number within this many words of its clause ("600
    prisoners", "a hundred settlements", "thousands of Ukrainian soldiers")..."""
    before: int = 2
    """... or precedes it by this many ("deaths rose to 12")."""


class Answerability:
    """The rules above, with the embedding model for near synonyms."""

    def __init__(self, embedder: Embedder, options: AnswerabilityOptions | None = None) -> None:
        self.embedder = embedder
        self.options = options or AnswerabilityOptions()

    def similar(self, word: str, others: Sequence[str]) -> bool:
        """Is one of `others` the same word (plural and inflection folded) or a near
        synonym?"""
        if not others:
            return False
        stem = _STEMMER.stemWord(word.casefold())
        if any(_STEMMER.stemWord(o.casefold()) == stem for o in others):
            return True
        vectors = self.embedder.embed([word.casefold(), *(o.casefold() for o in others)])
        return bool(np.max(vectors[1:] @ vectors[0]) >= self.options.synonym)

    def counts(self, sentence: str, noun: str) -> bool:
        """Does a number in the sentence count `noun` (or a near synonym)?"""
        near: list[str] = []
        for clause in _CLAUSE.split(sentence):
            tokens = words(clause)
            for i in range(len(tokens)):
                if _is_number(tokens, i):
                    window = tokens[max(0, i - self.options.before) : i + self.options.after + 1]
                    near += [bare(t) for t in window if not _is_number([t], 0)]
        return self.similar(noun, list(dict.fromkeys(near)))

    def tells(self, sentence: str, action: Sequence[str]) -> bool:
        """Does the sentence tell of the action asked about ("died", "swapped"), by the same
        word or a near synonym? "Thousands of soldiers crossed the border" does not say how
        many died. Words the sentence has as names ("ukraine" in "has ukraine swapped") are
        not the action."""
        asked = [w for w in action if not mentions(sentence, w)]
        return not asked or any(self.similar(w, content_words(sentence)) for w in asked)


_FUNCTION = """a an the and or but if then than so as of in on at to for from by with about into
    onto over under after before during since until against between through toward towards up
    down out off again further there here this that these those it its it's they them their he
    him his she her we us our you your i me my what which who whom whose when where why how is
    are was were be been being am do does did done doing have has had having will would shall
    should can could may might must not no nor any some all each every both either neither
    other another such own same very too just also only still yet ever even much many more most
    less least few one ones anyone anything someone something"""
_FUNCTION_WORDS = frozenset(_FUNCTION.split())


def stems(words: Sequence[str]) -> set[str]:
    """The words' stems (Snowball English): "talks" and "talk" are one."""
    return set(_STEMMER.stemWords(words))


def content_words(text: str) -> list[str]:
    """The words that carry a text's meaning: function words and possessives dropped,
    casefolded, each once."""
    found = (bare(w) for w in words(text))
    return list(dict.fromkeys(w for w in found if w not in _FUNCTION_WORDS and len(w) > 1))


def coverage(
    question_words: Sequence[str], texts: Sequence[Sequence[str]], embedder: Embedder
) -> NDArray[np.float32]:
    """For each text (its content words), how much of the question it speaks to: the mean,
    over the question's words, of the nearest word of the text (1 for the same stem, else
    their embeddings' similarity). One model call for the words not embedded lately."""
    covered = np.zeros(len(texts), np.float32)
    if not question_words:
        return covered + 1
    vocabulary = list(dict.fromkeys([*question_words, *(w for t in texts for w in t)]))
    position = {w: i for i, w in enumerate(vocabulary)}
    vectors = embedder.embed(vocabulary)
    stems = _STEMMER.stemWords(vocabulary)
    asked = [position[w] for w in question_words]
    for i, text in enumerate(texts):
        rows = [position[w] for w in text]
        if not rows:
            continue
        similarity = vectors[asked] @ vectors[rows].T
        said = {stems[r] for r in rows}
        for j, row in enumerate(asked):
            if stems[row] in said:
                similarity[j, :] = 1.0
        covered[i] = float(similarity.max(axis=1).mean())
    return covered
