"""Benchmark data as one shape: documents, queries and graded relevance judgements."""

from __future__ import annotations

import csv
import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


@dataclass
class Dataset:
    name: str
    documents: dict[str, str]
    """doc id -> text to index."""
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    """query id -> {doc id: relevance}; only judged queries are evaluated."""
    answers: dict[str, list[str]] = field(default_factory=dict)
    """query id -> gold answer strings (SQuAD), for answer checks."""
    gold: dict[str, str] = field(default_factory=dict)
    """query id -> the document the question was written from (SQuAD)."""


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory}: neither {stem} nor {stem}.gz")


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_beir(directory: Path, split: str) -> Dataset:
    """A BEIR dataset: corpus.jsonl[.gz], queries.jsonl[.gz], qrels/<split>.tsv.

    Documents are `title + " " + text`, as BEIR's own evaluation does.
    """
    documents = {
        str(d["_id"]): f"{d.get('title', '')} {d['text']}".strip()
        for d in _jsonl(_find(directory, "corpus.jsonl"))
    }
    queries = {str(q["_id"]): q["text"] for q in _jsonl(_find(directory, "queries.jsonl"))}
    qrels: dict[str, dict[str, int]] = {}
    with (directory / "qrels" / f"{split}.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {qid: text for qid, text in queries.items() if qid in qrels}
    return Dataset(f"{directory.name}-{split}", documents, queries, qrels)


def load_squad(path: Path, *, questions: int | None = None, seed: int = 13) -> Dataset:
    """SQuAD v1.1 as paragraph retrieval: every paragraph is a document, and the relevant one is
    the paragraph the question was written from. (Counting every paragraph that contains a
    gold answer string makes 22 "relevant" paragraphs per question on average, most of them
    matches of short answers such as years; the reference BM25 nDCG@10 of 0.86 is measured
    against the gold paragraph, and so is this.)"""
    with _open(path) as f:
        data = json.load(f)["data"]
    documents: dict[str, str] = {}
    queries: dict[str, str] = {}
    own: dict[str, str] = {}
    answers: dict[str, list[str]] = {}
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{a:02d}-{p:03d}"
            documents[doc_id] = paragraph["context"]
            for qa in paragraph["qas"]:
                queries[qa["id"]] = qa["question"]
                own[qa["id"]] = doc_id
                answers[qa["id"]] = sorted({x["text"] for x in qa["answers"]})
    ids = sorted(queries)
    if questions is not None and questions < len(ids):
        ids = sorted(random.Random(seed).sample(ids, questions))
    qrels = {qid: {own[qid]: 1} for qid in ids}
    return Dataset(
        f"squad-dev-{len(ids)}",
        documents,
        {q: queries[q] for q in ids},
        qrels,
        {q: answers[q] for q in ids},
        {q: own[q] for q in ids},
    )
