from __future__ import annotations

import gzip
import json

import pytest

from eval.bench import bench_queries
from eval.chunk_sweep import load_squad
from index.documents import Document
from tests.conftest import ROOT

SQUAD = ROOT.parent / "shared" / "benchmarks" / "squad-dev" / "dev-v1.1.json.gz"


def test_bench_queries_are_distinct_and_deterministic(seed_documents: list[Document]) -> None:
    queries = bench_queries(seed_documents, 100)
    assert len(queries) == 100
    assert len(set(queries)) == 100
    assert queries == bench_queries(seed_documents, 100)
    assert all(4 <= len(q.split()) <= 10 for q in queries)


@pytest.mark.skipif(not SQUAD.is_file(), reason=f"SQuAD dev not found at {SQUAD}")
def test_squad_answer_spans_point_at_the_answers() -> None:
    documents, questions = load_squad(SQUAD, articles=3, questions=300, seed=1)
    texts = {d.doc_id: d.text for d in documents}
    with gzip.open(SQUAD, "rt", encoding="utf-8") as f:
        raw = json.load(f)["data"][:3]
    answers = {
        qa["question"]: {a["text"] for a in qa["answers"]}
        for article in raw
        for p in article["paragraphs"]
        for qa in p["qas"]
    }
    assert len(questions) == 300
    for question in questions:
        for start, end in question.answer_spans:
            assert texts[question.doc_id][start:end] in answers[question.text]
