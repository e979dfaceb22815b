"""The shape of a question, so that the answer can come in kind.

"what did X say (about Y)" and "how did X react (to Y)" want X's statements; "who is X" the
roles the articles give X; "who said Y" a speaker; "how many", "how much", "when" and "where"
the sentence that holds the number, the date or the place. Anything else is answered with the
sentences that best match it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Shape(StrEnum):
    SAID = "said"
    WHO_IS = "who_is"
    WHO_SAID = "who_said"
    NUMBER = "number"
    DATE = "date"
    PLACE = "place"
    NAME = "name"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Question:
    shape: Shape
    subject: str | None = None
    """X: the person or organisation asked about."""
    topic: str | None = None
    """Y: what they spoke about, or the words of the statement asked after."""


_END = r"\s*[?.!]*\s*$"
_SAY = (
    r"(?:say|said|says|tell|told|claim|claimed|state|stated|think|announce|announced|reply|"
    r"replied|respond|responded|write|wrote|declare|declared|mean|argue|argued|warn|warned)"
)
_ABOUT = r"(?:about|on|of|regarding|concerning|over|to)"
_DESCRIBE = r"describe|characteri[sz]e|view|see|explain|justify|assess|portray|frame|call"
_BELIEVE = r"think|believe|say|claim|admit|deny|expect|suggest|blame|accuse"
_NOT_A_QUESTION_WORD = (
    r"(?!(?:what|how|why|when|where|who|whom|which|did|does|do|is|was|are|were|will|can|"
    r"could|would|should|has|have|had)\b)"
)
_PATTERNS: tuple[tuple[Shape, re.Pattern[str]], ...] = tuple(
    (shape, re.compile(pattern, re.IGNORECASE))
    for shape, pattern in (
        (
            Shape.SAID,
            rf"^\s*(?:so\s+)?what\s+(?:did|does|do|has|have|had)\s+(?P<x>.+?)\s+(?:been\s+)?"
            rf"(?:{_SAY}|saying)\b(?:\s+(?:{_ABOUT}\s+)?(?P<y>.+?))?{_END}",
        ),
        (
            Shape.SAID,
            rf"^\s*how\s+(?:did|does|do|has|have)\s+(?P<x>.+?)\s+(?:react|respond|reply|answer)"
            rf"(?:ed)?\b(?:\s+{_ABOUT}\s+(?P<y>.+?))?{_END}",
        ),
        (
            Shape.SAID,
            rf"^\s*how\s+(?:did|does|do|has|have)\s+(?P<x>.+?)\s+(?:{_DESCRIBE})\s+(?P<y>.+?){_END}",
        ),
        # "According to the Kremlin adviser, what would talks hinge on?"
        (Shape.SAID, rf"^\s*according\s+to\s+(?P<x>[^,]+),\s*(?P<y>.+?){_END}"),
        # "Did Putin think the attack slowed Russia down?"
        (
            Shape.SAID,
            rf"^\s*(?:did|does|do|has|have)\s+(?P<x>(?:\S+\s+){{0,3}}?\S+?)\s+(?:{_BELIEVE})\s+"
            rf"(?:that\s+)?(?P<y>.+?){_END}",
        ),
        (
            Shape.SAID,
            rf"^\s*what\s+(?:was|is|were|are)\s+(?P<x>.+?)(?:'s|’s|')\s+(?:reaction|response|"
            rf"position|view|stance|comments?|statements?|message|words)"
            rf"(?:\s+{_ABOUT}\s+(?P<y>.+?))?{_END}",
        ),
        # Headline style: "Zakharova on peace talks", "Putin's reaction to the sanctions".
        (
            Shape.SAID,
            rf"^\s*{_NOT_A_QUESTION_WORD}(?P<x>(?:\S+\s+){{0,3}}?\S+?)(?:'s|’s)?\s+"
            rf"(?:(?:comments?|remarks?|words|statements?)\s+)?(?:on|about)\s+(?P<y>.+?){_END}",
        ),
        (
            Shape.SAID,
            rf"^\s*{_NOT_A_QUESTION_WORD}(?P<x>(?:\S+\s+){{0,3}}?\S+?)(?:'s|’s)?\s+"
            rf"(?:reaction|response|reply)\s+(?:to|on)\s+(?P<y>.+?){_END}",
        ),
        (Shape.WHO_SAID, rf"^\s*who\s+{_SAY}\b\s*(?:that\s+)?(?P<y>.+?){_END}"),
        (Shape.WHO_SAID, rf"^\s*who\s+(?:called|described|labell?ed)\b\s*(?P<y>.+?){_END}"),
        (Shape.WHO_IS, rf"^\s*who\s+(?:is|was|'s)\s+(?P<x>.+?){_END}"),
        (
            Shape.NUMBER,
            r"^\s*(?:how\s+(?:many|much|long|far|old|big|large|often)|what\s+(?:percentage|"
            r"share|proportion|number|amount)|what(?:\s+(?:is|was|are|were)|'s|’s)\s+the\s+"
            r"(?:population|number|total|death\s+toll|toll|size|cost|price|age)\b)\b",
        ),
        (Shape.DATE, r"^\s*(?:when|what\s+(?:year|date|day|month|time))\b"),
        (Shape.NAME, r"^\s*what(?:\s+(?:is|was|are|were)|'s|’s)\s+the\s+names?\s+of\b"),
        (Shape.PLACE, r"^\s*where\b"),
    )
)


def parse(question: str) -> Question:
    """The question's shape, with its subject and topic where it has them."""
    for shape, pattern in _PATTERNS:
        match = pattern.match(question)
        if match is None:
            continue
        found = match.groupdict()
        subject, topic = found.get("x"), found.get("y")
        return Question(shape, _clean(subject), _clean(topic))
    return Question(Shape.OTHER)


def _clean(words: str | None) -> str | None:
    if words is None:
        return None
    words = words.strip(" ,;:?!.\"'“”")
    return words or None


_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve dozen dozens hundred "
    "hundreds thousand thousands million millions billion billions half third quarter"
)
_HOLDS = {
    Shape.NUMBER: re.compile(rf"\d|\b(?:{'|'.join(_NUMBER_WORDS.split())})\b", re.IGNORECASE),
    Shape.DATE: re.compile(
        r"\b(?:1[89]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|"
        r"October|November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
        r"yesterday|today|tomorrow|week|month|year|days?|hours?)\b",
        re.IGNORECASE,
    ),
    Shape.PLACE: re.compile(
        r"\b(?:in|at|near|from|into|to|across|towards?|inside|outside)\s+(?:the\s+)?[A-Z]\w+"
    ),
    Shape.NAME: re.compile(r"\b[A-Z][\w’'-]+\s+[A-Z][\w’'-]+"),
}
_FUTURE_QUESTION = re.compile(r"\b(?:will|going\s+to|next|upcoming)\b", re.IGNORECASE)
_FUTURE = re.compile(
    r"\b(?:will|would|shall|going\s+to|next|upcoming|plann?(?:ed|s)?|scheduled|expected|due\s+to|"
    r"later|soon)\b",
    re.IGNORECASE,
)


def asks_future(question: str) -> bool:
    """ "When will the next round take place?" asks after something still to come."""
    return _FUTURE_QUESTION.search(question) is not None


def speaks_of_future(sentence: str) -> bool:
    """A sentence about what is still to come: a past date does not answer "when will"."""
    return _FUTURE.search(sentence) is not None


def full_names(sentence: str) -> list[str]:
    """Runs of two or more capitalized words ("Oleksandr Syrskyi", "Eastern Economic
    Forum"): what a sentence that answers "what is the name of" must hold."""
    return [m.group() for m in _FULL_NAME.finditer(sentence)]


_FULL_NAME = re.compile(r"\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)+")


# Finer than the shape: what the question's words say the answer is measured in.
_MEASURES = (
    # "what day did Syrskyi report the advance": a day, not "over the past 24 hours".
    (
        re.compile(r"^\s*(?:on\s+)?(?:what|which)\s+(?:day|date)\b", re.IGNORECASE),
        re.compile(
            r"\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|yesterday|today|"
            r"tonight|(?:January|February|March|April|May|June|July|August|September|October|"
            r"November|December)\s+\d{1,2}|\d{1,2}\s+(?:January|February|March|April|May|June|"
            r"July|August|September|October|November|December)|\d{4}-\d\d-\d\d)\b",
            re.IGNORECASE,
        ),
    ),
    # "how much land / territory / ground": an area ("a thousand square km"), not a distance.
    (
        re.compile(
            r"^\s*how\s+much\s+(?:\w+\s+)?(?:land|territory|ground|area|soil)\b", re.IGNORECASE
        ),
        re.compile(
            r"\b(?:square|sq\.?)\s*(?:km|kilomet(?:er|re)s?|miles?|met(?:er|re)s?)\b|"
            r"\bkm2|\bkm²|\b(?:hectares?|acres?)\b",
            re.IGNORECASE,
        ),
    ),
)


def measured_in(question: str) -> re.Pattern[str] | None:
    """What an answer to this question must hold beyond its shape: a day for "what day", an
    area for "how much land"; None when the shape says all."""
    for asks, holds in _MEASURES:
        if asks.search(question):
            return holds
    return None


def holds_answer(shape: Shape, sentence: str) -> bool:
    """Does the sentence hold what a question of this shape asks for (a number, a date, a
    place, a name)? Every sentence does for other shapes."""
    pattern = _HOLDS.get(shape)
    return pattern is None or pattern.search(sentence) is not None
