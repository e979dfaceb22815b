"""The labelled question set for the seed articles, evaluated through Byline's own index.

A passage is relevant to a question when it contains one of the question's evidence quotes,
so the labels do not depend on how the text is chunked. A result that folds near-duplicates
(`also_in`) counts as relevant when any passage it stands for is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.benchmark import Run, score
from index.answer import Answer, Answerer
from index.engine import Hit, NewsIndex
from index.fusion import Mode

QUESTIONS = Path(__file__).parent / "questions" / "seed.jsonl"
SHAPED_QUESTIONS = Path(__file__).parent / "questions" / "seed-shapes.jsonl"
"""Who-said-what, who-is, number and unanswerable questions, labelled by shape."""
HELD_OUT_QUESTIONS = Path(__file__).parent / "questions" / "seed-heldout.jsonl"
"""More of the same shapes, written after the answerer's rules were fixed: a check that the
seed-shapes figures are not the rules fitting their own questions."""
HELD_OUT_2_QUESTIONS = Path(__file__).parent / "questions" / "seed-heldout2.jsonl"
"""A second blind held-out set, written by someone else while the answerability rules
(index/answerability.py) were being written, and run once after they were fixed."""
HELD_OUT_3_QUESTIONS = Path(__file__).parent / "questions" / "seed-heldout3.jsonl"
"""A third, written from the articles alone by someone who saw neither the code nor the
other questions; run once blind, after the 10-passage answers and the name and future
checks (README, "Answers")."""
HELD_OUT_4_QUESTIONS = Path(__file__).parent / "questions" / "seed-heldout4.jsonl"
"""A fourth, written the same way as the third, after the rules that the third's misses
prompted (README, "Who said what"); run once blind: 0.800, 0.75 / 0.50 (the code before
those rules: 0.767, 0.71 / 0.42)."""
HELD_OUT = (
    ("held out", HELD_OUT_QUESTIONS, "written after the rules"),
    ("held out 2", HELD_OUT_2_QUESTIONS, "blind to the answerability rules"),
    ("held out 3", HELD_OUT_3_QUESTIONS, "blind to the code"),
    ("held out 4", HELD_OUT_4_QUESTIONS, "blind to the code, run once"),
)
DUPLICATE_PAIRS = Path(__file__).parent / "questions" / "seed-duplicates.jsonl"
"""Passage pairs labelled by reading: do they say the same thing? Anchored by quotes."""


@dataclass(frozen=True)
class Evidence:
    doc_id: str
    quote: str


@dataclass(frozen=True)
class LabelledQuestion:
    id: str
    question: str
    answerable: bool
    evidence: tuple[Evidence, ...]
    shape: str | None = None


def load_questions(path: Path = QUESTIONS) -> list[LabelledQuestion]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            evidence = tuple(Evidence(e["doc_id"], e["quote"]) for e in raw["evidence"])
            questions.append(
                LabelledQuestion(
                    raw["id"], raw["question"], raw["answerable"], evidence, raw.get("shape")
                )
            )
    return questions


def relevant_passages(index: NewsIndex, question: LabelledQuestion) -> set[str]:
    """Ids of the passages that contain an evidence quote of the question."""
    relevant: set[str] = set()
    for evidence in question.evidence:
        indexed = index.get(evidence.doc_id)
        text = indexed.document.text
        start = text.find(evidence.quote)
        while start != -1:
            end = start + len(evidence.quote)
            relevant.update(
                p.passage_id for p in indexed.passages if p.start <= start and end <= p.end
            )
            start = text.find(evidence.quote, start + 1)
    return relevant


def _judged(hit: Hit, relevant: set[str]) -> bool:
    return hit.passage.passage_id in relevant or any(
        p.passage_id in relevant for p, _ in hit.also_in
    )


@dataclass
class SeedResult:
    metrics: dict[str, float]
    queries_per_second: float
    run: Run


def evaluate(
    index: NewsIndex, questions: Sequence[LabelledQuestion], modes: Sequence[Mode], k: int = 10
) -> dict[Mode, SeedResult]:
    answerable = [q for q in questions if q.answerable]
    relevant = {q.id: relevant_passages(index, q) for q in answerable}
    missing = [q.id for q in answerable if not relevant[q.id]]
    if missing:
        raise ValueError(f"no passage contains the evidence of {missing}; check the quotes")
    results = {}
    for mode in modes:
        started = time.perf_counter()
        hits = {q.id: index.search(q.question, k, mode) for q in answerable}
        seconds = time.perf_counter() - started
        run: Run = {}
        qrels: dict[str, dict[str, int]] = {}
        for q in answerable:
            run[q.id] = {h.passage.passage_id: h.score for h in hits[q.id]}
            # A folded result stands for the passages it folded: judged as any of them.
            judged = {h.passage.passage_id for h in hits[q.id] if _judged(h, relevant[q.id])}
            qrels[q.id] = dict.fromkeys(relevant[q.id] | judged, 1)
        results[mode] = SeedResult(score(qrels, run), len(answerable) / seconds, run)
    return results


def _passages_with(index: NewsIndex, evidence: Evidence) -> list[str]:
    """Every passage holding the quote: overlapping passages may share a sentence."""
    indexed = index.get(evidence.doc_id)
    start = indexed.document.text.index(evidence.quote)
    end = start + len(evidence.quote)
    return [indexed.passage_text(p) for p in indexed.passages if p.start <= start and end <= p.end]


def duplicate_threshold_table(
    index: NewsIndex, thresholds: Sequence[float], path: Path = DUPLICATE_PAIRS
) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) of "cosine >= threshold" against the labelled pairs.

    A pair's cosine is that of its most similar two distinct passages holding the quotes:
    the two that search would fold together.
    """
    cosines: list[float] = []
    labels: list[bool] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        raw = json.loads(line)
        a = _passages_with(index, Evidence(**raw["a"]))
        b = _passages_with(index, Evidence(**raw["b"]))
        pairs = [(x, y) for x in a for y in b if x != y]
        if not pairs:
            continue  # both quotes fell into one passage under this chunking
        vectors = index.embedder.embed([t for pair in pairs for t in pair])
        cosines.append(max(float(vectors[2 * i] @ vectors[2 * i + 1]) for i in range(len(pairs))))
        labels.append(bool(raw["duplicate"]))
    table = []
    for threshold in thresholds:
        flagged = [c >= threshold for c in cosines]
        true_pos = sum(f and dup for f, dup in zip(flagged, labels, strict=True))
        precision = true_pos / sum(flagged) if any(flagged) else 1.0
        table.append((threshold, precision, true_pos / sum(labels)))
    return table


@dataclass(frozen=True)
class AnswerQuality:
    answerable: int
    unanswerable: int
    contains_evidence: float
    """Share of answerable questions whose answer contains an evidence quote (or lies in one)."""
    abstention_precision: float
    abstention_recall: float
    wrongly_withheld: int


def _answer_has_evidence(answer: Answer, question: LabelledQuestion) -> bool:
    for quote in answer.quotes:
        for evidence in question.evidence:
            same_doc = quote.document.doc_id == evidence.doc_id
            if evidence.quote in quote.text or (same_doc and quote.text in evidence.quote):
                return True
    return False


def evaluate_answers(
    index: NewsIndex, answerer: Answerer, questions: Sequence[LabelledQuestion]
) -> AnswerQuality:
    """How often /ask quotes the evidence, and how well it declines what the corpus lacks."""
    contains = withheld_right = withheld_wrong = 0
    for question in questions:
        hits = index.search(question.question, answerer.depth)
        answer = answerer.answer(question.question, hits)
        if question.answerable:
            contains += answer.answerable and _answer_has_evidence(answer, question)
            withheld_wrong += not answer.answerable
        else:
            withheld_right += not answer.answerable
    answerable = sum(q.answerable for q in questions)
    unanswerable = len(questions) - answerable
    withheld = withheld_right + withheld_wrong
    return AnswerQuality(
        answerable=answerable,
        unanswerable=unanswerable,
        contains_evidence=contains / answerable if answerable else 1.0,
        abstention_precision=withheld_right / withheld if withheld else 1.0,
        abstention_recall=withheld_right / unanswerable if unanswerable else 1.0,
        wrongly_withheld=withheld_wrong,
    )
