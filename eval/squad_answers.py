"""/ask on SQuAD v1.1 dev: every paragraph indexed by Byline, a fixed sample of questions.

An answer counts when it contains a gold answer (after SQuAD's official normalization:
lower case, no punctuation, no articles); a citation counts when it quotes the paragraph
the question was written from.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from eval.datasets import Dataset
from index.answer import ExtractiveAnswerer
from index.documents import Document
from index.embedding import Embedder
from index.engine import temporary_index
from service.settings import Settings

_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's evaluation normalization."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


@dataclass(frozen=True)
class SquadAnswers:
    questions: int
    answer_contains_gold: float
    cites_gold_paragraph: float
    answered: float


def evaluate(dataset: Dataset, embedder: Embedder, settings: Settings) -> SquadAnswers:
    with temporary_index(settings.index_config(), embedder) as index:
        documents = [Document(doc_id=d, text=t) for d, t in dataset.documents.items()]
        index.upsert(documents, progress=True)
        answerer = ExtractiveAnswerer(embedder, knows=index.knows)
        contains = cites = answered = 0
        for qid, question in dataset.queries.items():
            answer = answerer.answer(question, index.search(question, answerer.depth))
            text = normalize_answer(" ".join(q.text for q in answer.quotes))
            contains += any(normalize_answer(gold) in text for gold in dataset.answers[qid])
            cites += any(q.document.doc_id == dataset.gold[qid] for q in answer.quotes)
            answered += answer.answerable
    n = len(dataset.queries)
    return SquadAnswers(n, contains / n, cites / n, answered / n)
