"""The keyword engines side by side: tantivy (what the archive uses), SQLite FTS5, and bm25s
(what Byline used before the archive could be written in place).

All three get the same analysed terms (`index.keywords.Analyzer`: bm25s's tokenizer, English
stop words, Snowball stemming), so only the engines differ: how they score (all three are
BM25 with k1 1.2 and b 0.75; FTS5's is fixed there too), how fast they find the top 100, how
big they are, and whether a write costs the article or the whole index (bm25s keeps eagerly
computed scores in a sparse matrix that cannot be changed in place: it is rebuilt).
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from eval.benchmark import Run, score
from eval.datasets import Dataset
from index.keywords import Analyzer, Bm25Params, KeywordIndex, KeywordPassage

DEPTH = 100
Search = Callable[[str], list[tuple[int, float]]]
"""A query to its best DEPTH (key, score), best first."""


@dataclass
class Engine:
    name: str
    search: Search
    disk_bytes: int
    write_s: Callable[[Sequence[str]], float]
    """Seconds to add these texts as one more article (one commit; a rebuild for bm25s)."""


def _tantivy(texts: Sequence[str], folder: Path) -> Engine:
    index = KeywordIndex(folder / "tantivy", Bm25Params())
    batch = 20_000
    for start in range(0, len(texts), batch):
        index.apply(
            start // batch + 1,
            [],
            [
                KeywordPassage(start + i, "d", text, None, None)
                for i, text in enumerate(texts[start : start + batch])
            ],
        )
    index.close()
    index = KeywordIndex(folder / "tantivy", Bm25Params())  # merged segments, as on a restart

    def search(query: str) -> list[tuple[int, float]]:
        scores, keys = index.searcher().search(query, DEPTH)
        return list(zip(keys.tolist(), scores.tolist(), strict=True))

    def write(article: Sequence[str]) -> float:
        started = time.perf_counter()
        first = len(texts) + 10_000_000
        index.apply(
            index.applied_seq + 1,
            [],
            [KeywordPassage(first + i, "w", t, None, None) for i, t in enumerate(article)],
        )
        return time.perf_counter() - started

    return Engine("tantivy", search, index.disk_bytes(), write)


def _fts5(texts: Sequence[str], folder: Path, analyzer: Analyzer) -> Engine:
    path = folder / "fts5.sqlite"
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # Terms are analysed already: FTS5 splits on white space and keeps them as they are.
    db.execute("CREATE VIRTUAL TABLE passages USING fts5(body, tokenize='unicode61')")
    with db:
        for start in range(0, len(texts), 20_000):
            chunk = texts[start : start + 20_000]
            terms = analyzer.terms(chunk)
            db.executemany(
                "INSERT INTO passages(rowid, body) VALUES (?, ?)",
                ((start + i, " ".join(t)) for i, t in enumerate(terms)),
            )
    db.execute("INSERT INTO passages(passages) VALUES ('optimize')")
    db.commit()

    def search(query: str) -> list[tuple[int, float]]:
        terms = sorted(set(analyzer.terms([query])[0]))
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = db.execute(
            "SELECT rowid, bm25(passages) FROM passages WHERE passages MATCH ? "
            "ORDER BY bm25(passages) LIMIT ?",
            (match, DEPTH),
        ).fetchall()
        return [(int(key), -float(s)) for key, s in rows]  # FTS5's bm25() is negated

    def write(article: Sequence[str]) -> float:
        started = time.perf_counter()
        with db:
            db.executemany(
                "INSERT INTO passages(body) VALUES (?)",
                ((" ".join(t),) for t in analyzer.terms(article)),
            )
        return time.perf_counter() - started

    return Engine("SQLite FTS5", search, path.stat().st_size, write)


def _bm25s(texts: Sequence[str], analyzer: Analyzer) -> Engine:
    def build(corpus: Sequence[str]) -> bm25s.BM25:
        retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        retriever.index(analyzer.terms(corpus), show_progress=False)
        return retriever

    retriever = build(texts)

    def search(query: str) -> list[tuple[int, float]]:
        ids = retriever.get_tokens_ids(analyzer.terms([query])[0])
        if not ids:
            return []
        scores = retriever.get_scores_from_ids(ids)
        matching = np.flatnonzero(scores > 0)
        if len(matching) > DEPTH:
            matching = matching[np.argpartition(-scores[matching], DEPTH - 1)[:DEPTH]]
        best = matching[np.argsort(-scores[matching], kind="stable")]
        return [(int(k), float(scores[k])) for k in best]

    def write(article: Sequence[str]) -> float:
        started = time.perf_counter()
        build([*texts, *article])
        return time.perf_counter() - started

    matrix = retriever.scores
    size = sum(matrix[name].nbytes for name in ("data", "indices", "indptr"))
    return Engine("bm25s", search, int(size), write)


def engines(texts: Sequence[str], folder: Path) -> list[Engine]:
    analyzer = Analyzer(Bm25Params())
    return [_tantivy(texts, folder), _fts5(texts, folder, analyzer), _bm25s(texts, analyzer)]


@dataclass
class QualityRow:
    engine: str
    ndcg_at_10: float
    recall_at_100: float


def quality(dataset: Dataset) -> list[QualityRow]:
    """nDCG@10 and recall@100 of each engine on a benchmark, documents as whole units."""
    doc_ids = list(dataset.documents)
    texts = [dataset.documents[d] for d in doc_ids]
    rows = []
    with tempfile.TemporaryDirectory(prefix="byline-lexical-") as folder:
        for engine in engines(texts, Path(folder)):
            run: Run = {
                qid: {doc_ids[k]: s for k, s in engine.search(query)}
                for qid, query in dataset.queries.items()
            }
            metrics = score(dataset.qrels, run)
            rows.append(QualityRow(engine.name, metrics["ndcg@10"], metrics["recall@100"]))
    return rows


@dataclass
class SpeedRow:
    engine: str
    passages: int
    build_s: float
    median_ms: float
    p99_ms: float
    bytes_per_passage: float
    write_ms: float
    """One more article of 40 passages."""


def speed(
    sentences: Sequence[str], questions: Sequence[str], n: int, folder: Path
) -> list[SpeedRow]:
    """Each engine over `n` passages of three random real sentences, queried with real
    questions for the 100 candidates hybrid search takes."""
    rng = np.random.default_rng(n)
    picks = rng.integers(0, len(sentences), size=(n, 3))
    texts = [" ".join(sentences[i] for i in row) for row in picks]
    article = texts[:40]
    analyzer = Analyzer(Bm25Params())
    builders: list[Callable[[], Engine]] = [
        lambda: _tantivy(texts, folder),
        lambda: _fts5(texts, folder, analyzer),
        lambda: _bm25s(texts, analyzer),
    ]
    rows = []
    for build in builders:
        started = time.perf_counter()
        engine = build()
        build_s = time.perf_counter() - started
        times = []
        for question in questions:
            began = time.perf_counter()
            engine.search(question)
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        rows.append(
            SpeedRow(
                engine.name,
                n,
                build_s,
                statistics.median(times),
                times[int(0.99 * (len(times) - 1))],
                engine.disk_bytes / n,
                engine.write_s(article) * 1000,
            )
        )
        del engine
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return rows


def render(quality_rows: Sequence[QualityRow], speed_rows: Sequence[SpeedRow]) -> str:
    lines = ["| engine | SciFact nDCG@10 | recall@100 |", "|---|---|---|"]
    lines += [f"| {r.engine} | {r.ndcg_at_10:.4f} | {r.recall_at_100:.4f} |" for r in quality_rows]
    lines += [
        "",
        "| engine | passages | build s | top-100 median ms | p99 ms | bytes/passage "
        "| one 40-passage article ms |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.engine} | {r.passages:,} | {r.build_s:.1f} | {r.median_ms:.2f} | {r.p99_ms:.2f} "
        f"| {r.bytes_per_passage:,.0f} | {r.write_ms:,.1f} |"
        for r in speed_rows
    ]
    return "\n".join(lines)
