"""Answers with quotes: the sentences of the retrieved passages that best answer a question.

Extractive only: every word of an answer is a verbatim span of an article, at known offsets.
A generative answerer can be added behind the same `Answerer` interface.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.answerability import content_words, coverage, names, stems
from index.archive import Passage, SearchFilter
from index.caching import CachedEmbedder
from index.chunking import Span, split_lines, split_sentences
from index.cleaning import normalize_for_comparison
from index.documents import Document
from index.embedding import Embedder
from index.engine import Hit


@dataclass(frozen=True, slots=True)
class Quote:
    """A sentence of an article: `document.text[start:end]`, from `passage`."""

    document: Document
    passage: Passage
    start: int
    end: int
    score: float
    speaker: str | None = None
    """Who said the quoted words, in an answer about who said what."""

    @property
    def text(self) -> str:
        return self.document.text[self.start : self.end]


@dataclass(frozen=True, slots=True)
class Answer:
    text: str | None
    """The quotes joined, or None when the corpus does not answer."""
    answerable: bool
    confidence: float
    quotes: tuple[Quote, ...]
    cited: bool = False
    """The text carries its own citation markers ([1], [2]), one per quote in order."""
    shape: str = "other"
    """The question's shape, as index/question_shapes.py reads it."""


class Answerer(Protocol):
    @property
    def depth(self) -> int:
        """How many retrieved passages the answer is drawn from: search at least this deep."""
        ...

    def answer(
        self, question: str, hits: Sequence[Hit], search_filter: SearchFilter | None = None
    ) -> Answer:
        """`hits` were searched with `search_filter`; an answer drawn from elsewhere (a
        speaker's statements) keeps to it too."""
        ...


@dataclass(frozen=True, slots=True)
class AnswerOptions:
    threshold: float = 0.35
    """Below this best-sentence score the answer is withheld. Calibrated on the seed set's
    answerable and unanswerable questions (see README, "Answers")."""
    max_quotes: int = 3
    """More sentences are added when they rank within `second_margin` of the best."""
    second_margin: float = 0.1
    passages: int = 10
    """Retrieved passages whose sentences are considered, however few a request shows: the
    sentence that answers is often in a passage ranked 6th to 10th (seed questions: evidence
    in an answer 0.711 from 5 passages and up to 2 sentences, 0.750 from 10 and up to 3;
    README, "Answers")."""
    all_sentences: int = 5
    """Every sentence of the top passages this many is embedded; below them, only the
    sentences that share a word (by stem) with the question."""
    passage_weight: float = 0.3
    """How much the passage's own similarity adds to a sentence's: context helps short ones."""
    coverage_weight: float = 0.4
    """How much the share of the question's words a sentence covers (the same word or a
    near synonym, index/answerability.py) adds to its rank."""
    sentence_cache: int = 8192
    """Sentence embeddings kept (LRU, 1.5 KB each): the passages that answer one question
    often answer the next, and their sentences need not be embedded again."""


_QUESTION = re.compile(r"""\?["'”’)\]]*$""")


_QUOTED = re.compile(r"[\"“”](?P<words>[^\"“”]+)[\"“”]")
_WORD = re.compile(r"[^\W_][\w’'-]*")


def unknown_names(question: str, knows: Callable[[str], bool]) -> list[str]:
    """The names the question gives (index/answerability.py's `names`: capitalized words
    but the first, not adjectives of nationality: "American leaders" may be the articles'
    "the United States"), and the words it quotes, that the corpus never mentions: a
    quotation no article has was said in none."""
    quoted = [w.group() for m in _QUOTED.finditer(question) for w in _WORD.finditer(m["words"])]
    return [w for w in dict.fromkeys([*names(question), *quoted]) if not knows(w)]


def _sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentences of a passage, never across a line break: a headline without a full stop
    ("Ukraine strikes Belgorod, five killed") is not part of the sentence after it."""
    return [
        s
        for line in split_lines(text, start, end)
        for s in split_sentences(text, line.start, line.end)
    ]


class ExtractiveAnswerer:
    """Scores every sentence of the top passages by similarity to the question, and ranks
    them by that and by the share of the question's words they cover.

    It withholds the answer when the best sentence scores below the threshold, or when the
    question names someone or something that no indexed article mentions (`knows`).
    """

    def __init__(
        self,
        embedder: Embedder,
        options: AnswerOptions | None = None,
        knows: Callable[[str], bool] | None = None,
    ) -> None:
        self.options = options or AnswerOptions()
        self.embedder = CachedEmbedder(embedder, self.options.sentence_cache)
        self.knows = knows

    @property
    def depth(self) -> int:
        return self.options.passages

    def candidates(
        self,
        hits: Sequence[Hit],
        holds: Callable[[str], bool] | None = None,
        question: str | None = None,
    ) -> list[tuple[Hit, int, int]]:
        """Distinct sentences of the top passages, as (hit, start, end) in the article.

        Questions are left out: a subheading such as "What did Russia say?" resembles the
        question it would be asked, and answers nothing.
        """
        seen: set[str] = set()
        found = []
        asked = stems(content_words(question)) if question else set()
        for rank, hit in enumerate(hits[: self.options.passages]):
            text = hit.document.text
            for span in _sentences(text, hit.passage.start, hit.passage.end):
                sentence = text[span.start : span.end]
                key = normalize_for_comparison(sentence)
                if _QUESTION.search(sentence) or (holds is not None and not holds(sentence)):
                    continue
                if rank >= self.options.all_sentences and not (
                    asked & stems(content_words(sentence))
                ):
                    continue
                if key and key not in seen:
                    seen.add(key)
                    found.append((hit, span.start, span.end))
        return found

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        search_filter: SearchFilter | None = None,
        *,
        holds: Callable[[str], bool] | None = None,
        measured: Callable[[str], bool] | None = None,
    ) -> Answer:
        """The answer from the sentences of `hits` (which keep to `search_filter` already).
        `holds` keeps only the sentences that hold what the question asks for (a number,
        a date); `measured` narrows the quotes further ("what day": a day, not "in the past
        24 hours") while the answer is still withheld by how well the sentences that hold
        resemble the question, as calibrated."""
        sentences = self.candidates(hits, holds, question)
        if not sentences:
            return Answer(None, False, 0.0, ())
        texts = [hit.document.text[s:e] for hit, s, e in sentences]
        # One model call for the question and the sentences not seen lately.
        vectors = self.embedder.embed([question, *texts])
        question_vector, sentence_vectors = vectors[0], vectors[1:]
        similarity = sentence_vectors @ question_vector
        weight = self.options.passage_weight
        context = np.array([hit.dense_score or 0.0 for hit, _, _ in sentences], dtype=np.float32)
        scores = (1 - weight) * similarity + weight * context
        # Similarity ranks sentences about the same things as the question; among those,
        # the one that speaks to more of the question's words answers it more often.
        covered = coverage(
            content_words(question), [content_words(t) for t in texts], self.embedder
        )
        ranking = scores + self.options.coverage_weight * covered
        # Withholding stays on similarity alone, as calibrated: no sentence resembles it.
        best = float(scores.max())
        if measured is not None:
            kept = np.array([measured(t) for t in texts])
            if not kept.any():
                return Answer(None, False, max(0.0, min(1.0, best)), ())
            ranking = np.where(kept, ranking, -np.inf)
        order = np.argsort(-ranking, kind="stable")
        chosen = [int(order[0])]
        for i in order[1 : self.options.max_quotes]:
            if float(ranking[i]) >= float(ranking[order[0]]) - self.options.second_margin:
                chosen.append(int(i))
        # Quotes read in article order when they come from one article.
        chosen.sort(key=lambda i: (sentences[i][0].document.doc_id, sentences[i][1]))
        quotes = tuple(
            Quote(
                sentences[i][0].document,
                sentences[i][0].passage,
                sentences[i][1],
                sentences[i][2],
                float(scores[i]),
            )
            for i in chosen
        )
        confidence = max(0.0, min(1.0, best))
        unknown = unknown_names(question, self.knows) if self.knows else []
        if best < self.options.threshold or unknown:
            return Answer(None, False, confidence, quotes)
        return Answer(" ".join(q.text for q in quotes), True, confidence, quotes)
