"""The dated questions: the same people speak every month, and each question names its period
("last week", "in September 2024") relative to the day it is asked. Searched as written,
and searched as the chat endpoint searches them (the period read from the question and
applied as a date filter, the phrase taken out of the query)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from eval.benchmark import Run, score
from eval.seed import Evidence, LabelledQuestion, relevant_passages
from index.archive import SearchFilter
from index.documents import Document, load_documents, published_timestamp
from index.engine import NewsIndex
from index.fusion import Mode
from index.periods import find_period, without_phrase

ARTICLES = Path(__file__).parent / "dated" / "articles.jsonl"
QUESTIONS = Path(__file__).parent / "questions" / "dated.jsonl"


@dataclass(frozen=True)
class DatedQuestion:
    question: LabelledQuestion
    asked_on: date


def load_questions(path: Path = QUESTIONS) -> list[DatedQuestion]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            evidence = tuple(Evidence(e["doc_id"], e["quote"]) for e in raw["evidence"])
            labelled = LabelledQuestion(raw["id"], raw["question"], raw["answerable"], evidence)
            questions.append(DatedQuestion(labelled, date.fromisoformat(raw["date"])))
    return questions


def evaluate(index: NewsIndex, mode: Mode, k: int = 10) -> dict[str, dict[str, float]]:
    """recall@k and MRR@10 with and without the period filter; `index` holds ARTICLES."""
    questions = load_questions()
    qrels = {
        q.question.id: dict.fromkeys(relevant_passages(index, q.question), 1) for q in questions
    }
    runs: dict[str, Run] = {"without filters": {}, "with the period as a filter": {}}
    for dated in questions:
        text = dated.question.question
        period = find_period(text, dated.asked_on)
        if period is None:
            raise ValueError(f"{dated.question.id}: no period in {text!r}")
        scoped = SearchFilter(
            published_after=published_timestamp(period.start.isoformat()),
            published_before=published_timestamp(period.end.isoformat()),
        )
        plain = index.search(text, k, mode)
        filtered = index.search(without_phrase(text, period), k, mode, scoped)
        runs["without filters"][dated.question.id] = {h.passage.passage_id: h.score for h in plain}
        runs["with the period as a filter"][dated.question.id] = {
            h.passage.passage_id: h.score for h in filtered
        }
    out = {}
    for name, run in runs.items():
        metrics = score(qrels, run)
        # Share of questions with an evidence passage in the top k, as for the seed set.
        out[name] = {
            "recall@1": metrics["success@1"],
            "recall@5": metrics["success@5"],
            "recall@10": metrics["success@10"],
            "mrr@10": metrics["mrr@10"],
        }
    return out


def documents() -> list[Document]:
    return load_documents([ARTICLES])
