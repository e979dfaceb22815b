"""Answers in the shape of the question (index/question_shapes.py).

- "what did X say (about Y)", "how did X react (to Y)": X's statements, about Y when it is
  given, one a line, each quoted verbatim with its citation, duplicates across articles folded;
  X may be a name or a role ("the Kremlin's foreign policy aide");
- "who is X": the roles the articles give X, each where an article gives it;
- "who said Y": the speaker of the statement that best matches Y (or, when none matches well,
  the sentences that do: "who declared an emergency" may ask after a deed);
- "how many", "how much", "when", "where": the best sentence that holds a number, a date or a
  place; for "how many X", a number that counts X, in a sentence naming what the question names;
  for "when will", a sentence about what is still to come;
- "what is the name of": a sentence that gives a full name the question does not;
- anything else, and a shaped question the statements cannot answer: the extractive answer.

It withholds the answer when the question names someone or something no article mentions,
or when nothing passes the answerability check, and says so; the passages searched are
returned either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from index.answer import Answer, ExtractiveAnswerer, Quote, unknown_names
from index.answerability import (
    Answerability,
    bare,
    content_words,
    counted_action,
    counted_noun,
    coverage,
    mentions,
    names,
    words,
)
from index.archive import SearchFilter
from index.engine import Hit, NewsIndex
from index.question_shapes import (
    Question,
    Shape,
    asks_future,
    full_names,
    holds_answer,
    measured_in,
    parse,
    speaks_of_future,
)
from index.who_said import Said, Statements, passage_at


@dataclass(frozen=True, slots=True)
class ShapeOptions:
    statements: int = 8
    """Statements in a "what did X say" answer (one line each)."""
    topic_threshold: float = 0.3
    """A statement is about the topic when its similarity to it is at least this."""
    topic_margin: float = 0.15
    """... and within this of the best statement's."""
    who_said_threshold: float = 0.45
    """The best statement must be at least this similar to "who said Y"'s Y."""
    role_speakers: int = 1000
    """Speakers (most statements first) considered for a subject given by its role."""
    role_coverage: float = 0.4
    """A speaker's role must cover the subject's words at least this well (index/
    answerability.py's coverage; unrelated words score 0.2 to 0.35, "aide" and "adviser"
    0.46)."""


class ShapedAnswerer:
    """Answers each question in kind; the extractive answerer is its fallback."""

    def __init__(
        self,
        index: NewsIndex,
        extractive: ExtractiveAnswerer,
        options: ShapeOptions | None = None,
        knows: Callable[[str], bool] | None = None,
    ) -> None:
        self.index = index
        self.extractive = extractive
        self.options = options or ShapeOptions()
        self.knows = knows
        self.answerability = Answerability(extractive.embedder)
        self.statements = Statements(index, extractive.embedder, index.options.duplicate_cosine)

    @property
    def depth(self) -> int:
        return self.extractive.depth

    def answer(
        self, question: str, hits: Sequence[Hit], search_filter: SearchFilter | None = None
    ) -> Answer:
        asked = parse(question)
        if self.knows is not None and (
            unknown_names(question, self.knows) or self._unknown_subject(asked)
        ):
            return Answer(None, False, 0.0, ())
        shaped: Answer | None = None
        if asked.shape is Shape.SAID and asked.subject:
            shaped = self._said(asked, search_filter)
        elif asked.shape is Shape.WHO_IS and asked.subject:
            shaped = self._who_is(asked.subject)
        elif asked.shape is Shape.WHO_SAID and asked.topic:
            shaped = self._who_said(asked.topic, hits)
        elif asked.shape in (Shape.NUMBER, Shape.DATE, Shape.PLACE, Shape.NAME):
            measure = measured_in(question)
            shaped = self.extractive.answer(
                question,
                hits,
                holds=self._holds(question, asked),
                measured=None if measure is None else lambda s: measure.search(s) is not None,
            )
        found = shaped if shaped is not None else self.extractive.answer(question, hits)
        return replace(found, shape=asked.shape.value)

    def _holds(self, question: str, asked: Question) -> Callable[[str], bool]:
        """A sentence answers "how many X", "when", "where" when it holds a number (of X),
        a date or a place and, for a number, names what the question names: "five killed in
        Belgorod" does not say how many were killed in Kursk."""
        noun = counted_noun(question)
        action = counted_action(question) if noun is not None else []
        named = names(question) if asked.shape in (Shape.NUMBER, Shape.NAME) else []
        future = asked.shape is Shape.DATE and asks_future(question)
        asked_words = {w.casefold() for w in words(question)}
        check = self.answerability

        def new_name(sentence: str) -> bool:
            # "the name of the Belgorod governor" is answered by a name the question lacks.
            return any(
                any(w.casefold() not in asked_words for w in name.split())
                for name in full_names(sentence)
            )

        def holds(sentence: str) -> bool:
            return (
                holds_answer(asked.shape, sentence)
                and all(mentions(sentence, name) for name in named)
                and (noun is None or check.counts(sentence, noun))
                and check.tells(sentence, action)
                and (not future or speaks_of_future(sentence))
                and (asked.shape is not Shape.NAME or new_name(sentence))
            )

        return holds

    def _unknown_subject(self, asked: Question) -> bool:
        """A subject no article names ("what did merkel say", "what did the UN secretary
        general say"): the articles cannot say what it said."""
        if not asked.subject or self.knows is None:
            return False
        words = [w for w in asked.subject.split() if w.casefold() not in _GENERIC]
        unknown = [w for w in words if not self.knows(w)]
        # A capitalized word is a name; lower-case ones ("foreign policy aide") may be a
        # paraphrase of words the articles use, so only all of them unknown counts.
        return bool(unknown) and (unknown == words or any(w[:1].isupper() for w in unknown))

    def _said(self, asked: Question, search_filter: SearchFilter | None) -> Answer | None:
        assert asked.subject is not None
        keys = self.statements.speaker_keys(asked.subject)
        by_role = not keys
        if by_role:
            keys = self._speaker_by_role(asked.subject)
        elif self._names_a_member(asked.subject, keys):
            keys = self._speaker_by_role(asked.subject) or keys
        if not keys:
            return None
        said = self.statements.by(keys, asked.topic, self.options.statements, search_filter)
        if not said:
            return None
        if asked.topic:
            best = said[0].score
            floor = max(self.options.topic_threshold, best - self.options.topic_margin)
            said = [s for s in said if s.score >= floor]
            if not said:
                # A speaker found by role may not be the one meant: the sentences may still
                # answer.
                return None if by_role else Answer(None, False, best, ())
        else:
            said.sort(key=lambda s: (s.document.doc_id, s.statement.start))
        quotes = tuple(self._quote(s) for s in said)
        lines = [
            f"{s.statement.speaker_name}: {q.text} [{i}]"
            for i, (s, q) in enumerate(zip(said, quotes, strict=True), start=1)
        ]
        confidence = max(s.score for s in said) if asked.topic else 1.0
        return Answer("\n".join(lines), True, confidence, quotes, cited=True)

    @staticmethod
    def _names_a_member(subject: str, keys: Sequence[str]) -> bool:
        """Found only by part of it, as organisations, with words left over: "the kremlin
        adviser" may be the Kremlin's adviser, not the Kremlin."""
        if not all(key.startswith("o:") for key in keys):
            return False
        named = {w for key in keys for w in key[2:].split()}
        return any(bare(w) not in named for w in content_words(subject))

    def _speaker_by_role(self, subject: str) -> list[str]:
        """The speaker a role names ("the Kremlin's foreign policy aide" → "Kremlin adviser
        Yuri Ushakov"; "Kyiv" → "Authorities in Kyiv"): the speakers whose name and role
        mention every name the subject gives, and of those the one whose role covers the
        subject's other words best, if it covers them well enough."""
        found, _ = self.statements.speakers(None, self.options.role_speakers, 0)
        described = {s.key: f"{s.description or ''} {s.name}" for s in found}
        given = names(subject, skip_first=False)
        if not given:
            # Typed in lower case ("the kremlin adviser"): the subject's words that the
            # speakers' names and roles capitalize are the names it gives.
            capitalized = {bare(n) for text in described.values() for n in names(text)}
            given = [w for w in words(subject) if bare(w) in capitalized]
        if not given:
            return []  # "the spokesperson" alone could be anyone's
        matching = [k for k, text in described.items() if all(mentions(text, n) for n in given)]
        role = [w for w in content_words(subject) if not any(mentions(w, n) for n in given)]
        if not matching or not role:
            return matching
        covered = coverage(
            role, [content_words(described[k]) for k in matching], self.extractive.embedder
        )
        best = int(covered.argmax())
        return [matching[best]] if covered[best] >= self.options.role_coverage else []

    def _who_is(self, subject: str) -> Answer | None:
        keys = self.statements.speaker_keys(subject)
        described = self.statements.descriptions(keys)
        if not described:
            return None
        speaker = self.statements.speaker(keys)
        name = speaker.name if speaker else subject
        quotes = []
        for row, indexed in described:
            passage = passage_at(indexed, row.start)
            quotes.append(
                Quote(indexed.document, passage, row.start, row.end, 1.0, row.speaker_name)
            )
        roles = "; ".join(f"{row.description} [{i}]" for i, (row, _) in enumerate(described, 1))
        return Answer(f"{name}: {roles}", True, 1.0, tuple(quotes), cited=True)

    def _who_said(self, words: str, hits: Sequence[Hit]) -> Answer | None:
        documents = list(dict.fromkeys(h.document.doc_id for h in hits))
        said = self.statements.rank(self.statements.in_documents(documents), words, 1)
        if not said:
            return None
        best = said[0]
        if best.score < self.options.who_said_threshold:
            # "Who declared a state of emergency" may ask after a deed, not a statement:
            # the sentences may still answer.
            return None
        quote = self._quote(best)
        text = f"{best.statement.speaker_name}: {quote.text} [1]"
        return Answer(text, True, best.score, (quote,), cited=True)

    def _quote(self, said: Said) -> Quote:
        start, end = said.in_context
        return Quote(
            said.document,
            said.passage,
            start,
            end,
            said.score,
            said.statement.speaker_name,
        )


_GENERIC = frozenset(["the", "a", "an", "of", "for", "in", "on", "at", "and", "to"])
