"""Choose the passage size by measurement, on SQuAD v1.1 dev (real prose, real questions).

Each SQuAD article becomes one document (its paragraphs one per line). For every chunking
target a fresh index is built and questions are searched; a result is a hit when its passage
covers a gold answer's character span. Bigger passages cover more text, so besides hit@k the
sweep reports hits within a fixed reading budget: the answer must lie in the first
`budget_tokens` tokens of the ranked passages, as a reader or a downstream model would read them.
"""

from __future__ import annotations

import gzip
import json
import random
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from index.chunking import ChunkingParams
from index.config import IndexConfig
from index.documents import Document
from index.embedding import Embedder
from index.engine import NewsIndex, temporary_index


@dataclass(frozen=True)
class Question:
    doc_id: str
    text: str
    answer_spans: tuple[tuple[int, int], ...]


@dataclass
class SweepRow:
    target_tokens: int
    overlap_tokens: int
    passages: int
    mean_passage_tokens: float
    hit_at_1: float
    hit_at_5: float
    mrr_at_10: float
    hit_within_budget: float
    index_seconds: float


def load_squad(
    path: Path, articles: int, questions: int, seed: int
) -> tuple[list[Document], list[Question]]:
    """The first `articles` dev-set articles and a fixed random sample of their questions."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)["data"][:articles]
    documents, pool = [], []
    for number, article in enumerate(data):
        doc_id = f"squad-{number:02d}"
        parts, offset = [], 0
        for paragraph in article["paragraphs"]:
            context = paragraph["context"].replace("\n", " ")
            for qa in paragraph["qas"]:
                spans = tuple(
                    (offset + a["answer_start"], offset + a["answer_start"] + len(a["text"]))
                    for a in qa["answers"]
                )
                pool.append(Question(doc_id, qa["question"], spans))
            parts.append(context)
            offset += len(context) + 1
        documents.append(Document(doc_id=doc_id, text="\n".join(parts), title=article["title"]))
    random.Random(seed).shuffle(pool)
    return documents, pool[:questions]


def evaluate(
    embedder: Embedder,
    documents: list[Document],
    questions: list[Question],
    params: ChunkingParams,
    budget_tokens: int,
) -> SweepRow:
    config = IndexConfig(target_tokens=params.target_tokens, overlap_tokens=params.overlap_tokens)
    with temporary_index(config, embedder) as index:
        started = time.perf_counter()
        index.upsert(documents)
        seconds = time.perf_counter() - started
        return _score(index, embedder, questions, budget_tokens, params, seconds)


def _score(
    index: NewsIndex,
    embedder: Embedder,
    questions: list[Question],
    budget_tokens: int,
    params: ChunkingParams,
    seconds: float,
) -> SweepRow:
    lengths = {}
    for indexed in index.documents():
        texts = [indexed.passage_text(p) for p in indexed.passages]
        for passage, n in zip(indexed.passages, embedder.count_tokens(texts), strict=True):
            lengths[passage.passage_id] = n
    hit1 = hit5 = budget_hits = 0
    reciprocal = 0.0
    for question in questions:
        hits = index.search(question.text, 10)
        first = None
        read = 0
        for hit in hits:
            covers = hit.passage.doc_id == question.doc_id and any(
                hit.passage.start <= s and e <= hit.passage.end for s, e in question.answer_spans
            )
            if covers and read < budget_tokens:
                budget_hits += 1
                read = budget_tokens  # count the question once
            read += lengths[hit.passage.passage_id]
            if covers and first is None:
                first = hit.rank
        hit1 += first == 1
        hit5 += first is not None and first <= 5
        reciprocal += 1 / first if first else 0.0
    n = len(questions)
    return SweepRow(
        target_tokens=params.target_tokens,
        overlap_tokens=params.overlap_tokens,
        passages=index.passage_count,
        mean_passage_tokens=statistics.mean(lengths.values()),
        hit_at_1=hit1 / n,
        hit_at_5=hit5 / n,
        mrr_at_10=reciprocal / n,
        hit_within_budget=budget_hits / n,
        index_seconds=seconds,
    )


def run(
    embedder: Embedder,
    squad: Path,
    targets: list[int],
    *,
    articles: int = 10,
    questions: int = 1000,
    budget_tokens: int = 256,
    seed: int = 13,
) -> list[SweepRow]:
    documents, sample = load_squad(squad, articles, questions, seed)
    rows = []
    for target in targets:
        params = ChunkingParams(
            target_tokens=target,
            max_tokens=embedder.max_tokens,
            overlap_tokens=min(48, target // 3),
        )
        rows.append(evaluate(embedder, documents, sample, params, budget_tokens))
    return rows


def render(rows: list[SweepRow], budget_tokens: int) -> str:
    header = (
        f"| target | overlap | passages | mean tokens | hit@1 | hit@5 | MRR@10 | "
        f"hit in {budget_tokens} tokens | index s |"
    )
    lines = [header, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r.target_tokens} | {r.overlap_tokens} | {r.passages} "
            f"| {r.mean_passage_tokens:.0f} | {r.hit_at_1:.3f} | {r.hit_at_5:.3f} "
            f"| {r.mrr_at_10:.3f} | {r.hit_within_budget:.3f} | {r.index_seconds:.0f} |"
        )
    return "\n".join(lines)


def write(rows: list[SweepRow], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(r) for r in rows], indent=2))
