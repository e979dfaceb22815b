"""Retrieval quality on a public benchmark, per mode, with Byline's own search components.

Each benchmark document is one unit (as in BEIR and MTEB): dense search is the archive's
vector table (`index.vectors`, exact) over the model's vectors of whole documents, BM25 is
the archive's keyword index (`index.keywords`, tantivy), hybrid is `index.fusion.fuse`.
Document embeddings are cached on disk; query embeddings never are, so queries per second
include the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ir_measures
import numpy as np
from ir_measures import RR, R, Success, nDCG

from eval.datasets import Dataset
from index.archive import Archive, NewVersion
from index.documents import Document
from index.embedding import Embedder
from index.fusion import Fusion, Mode, fuse, ranked
from index.keywords import Bm25Params, KeywordIndex, KeywordPassage
from index.vectors import NewRows, VectorSnapshot

DEPTH = 100
"""Candidates taken from each retriever before fusion and scoring."""

MEASURES = {
    "ndcg@10": nDCG @ 10,
    "recall@1": R @ 1,
    "recall@5": R @ 5,
    "recall@10": R @ 10,
    "recall@100": R @ 100,
    "mrr@10": RR @ 10,
    "success@1": Success @ 1,
    "success@5": Success @ 5,
    "success@10": Success @ 10,
}

Run = dict[str, dict[str, float]]


def score(qrels: dict[str, dict[str, int]], run: Run) -> dict[str, float]:
    """The standard measures, computed by ir-measures (pytrec_eval underneath)."""
    aggregated = ir_measures.calc_aggregate(list(MEASURES.values()), qrels, run)
    return {name: float(aggregated[measure]) for name, measure in MEASURES.items()}


class BenchmarkIndex:
    """Dense and BM25 indexes over a dataset's documents, built once, searched per mode."""

    def __init__(
        self, dataset: Dataset, embedder: Embedder, bm25: Bm25Params | None = None
    ) -> None:
        self.doc_ids = list(dataset.documents)
        texts = [dataset.documents[d] for d in self.doc_ids]
        n = len(texts)
        keys = np.arange(n, dtype=np.int64)
        nothing = np.full(n, -1, np.int64)
        self.vectors = VectorSnapshot.empty(embedder.dimension).appended(
            NewRows(
                keys=keys,
                vectors=embedder.embed(texts, progress=True),
                fingerprints=keys,
                published=nothing,
                publishers=np.full(n, -1, np.int32),
                docs=keys.astype(np.int32),
            ),
            removed=np.zeros(0, np.int64),
        )
        self.keywords = KeywordIndex(None, bm25 or Bm25Params())
        self.keywords.apply(
            1,
            [],
            [
                KeywordPassage(int(k), str(k), t, None, None)
                for k, t in zip(keys, texts, strict=True)
            ],
        )

    def dense(self, vectors: np.ndarray) -> list[dict[int, float]]:
        found = []
        for row in vectors:
            scores, keys = self.vectors.search(row, DEPTH)
            found.append({int(k): float(s) for k, s in zip(keys, scores, strict=True)})
        return found

    def lexical(self, query: str) -> dict[int, float]:
        scores, keys = self.keywords.searcher().search(query, DEPTH)
        return {int(k): float(s) for k, s in zip(keys, scores, strict=True)}

    def hybrid(self, query: str, vector: np.ndarray, fusion: Fusion) -> dict[int, float]:
        return fuse(self.dense(vector[None, :])[0], self.lexical(query), fusion)

    def to_run(self, per_query: dict[str, dict[int, float]]) -> Run:
        return {
            qid: {self.doc_ids[k]: s for k, s in ranked(scores)[:DEPTH]}
            for qid, scores in per_query.items()
        }


class ArchiveBenchmarkIndex(BenchmarkIndex):
    """The same units stored in an `Archive` (the Milvus backend) and searched by its view,
    hybrid fused as the archive fuses it (RRF in Milvus, convex in Byline)."""

    def __init__(self, dataset: Dataset, embedder: Embedder, archive: Archive) -> None:
        from index.config import IndexConfig

        self.doc_ids = list(dataset.documents)
        texts = [dataset.documents[d] for d in self.doc_ids]
        vectors = embedder.embed(texts, progress=True)
        info = IndexConfig().archive_info(embedder)
        versions = [
            NewVersion(
                Document(doc_id=doc_id, text=text),
                ((0, len(text)),),
                vectors[i : i + 1],
                np.array([i], np.int64),
            )
            for i, (doc_id, text) in enumerate(zip(self.doc_ids, texts, strict=True))
        ]
        archive.write(info, versions)
        archive.compact()  # indexes sealed before searching (Milvus Lite: see _flush)
        self.archive = archive
        row = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        listed, _ = archive.view().documents()
        self._rows = {p.key: row[d.document.doc_id] for d in listed for p in d.passages}

    def _search(
        self, query: str, vector: np.ndarray | None, mode: Mode, fusion: Fusion
    ) -> dict[int, float]:
        found = self.archive.view().search(query, vector, mode, DEPTH, None, fusion)
        return {self._rows[c.key]: c.score for c in found}

    def dense(self, vectors: np.ndarray) -> list[dict[int, float]]:
        return [self._search("", row[None, :], Mode.DENSE, Fusion()) for row in vectors]

    def lexical(self, query: str) -> dict[int, float]:
        return self._search(query, None, Mode.BM25, Fusion())

    def hybrid(self, query: str, vector: np.ndarray, fusion: Fusion) -> dict[int, float]:
        return self._search(query, vector[None, :], Mode.HYBRID, fusion)


@dataclass
class ModeResult:
    metrics: dict[str, float]
    queries_per_second: float
    run: Run


def evaluate(
    dataset: Dataset,
    index: BenchmarkIndex,
    query_embedder: Embedder,
    modes: Sequence[Mode],
    fusion: Fusion,
) -> dict[Mode, ModeResult]:
    """Search every query in every mode; time each mode with its query embedding included."""
    qids = list(dataset.queries)
    texts = [dataset.queries[q] for q in qids]
    results: dict[Mode, ModeResult] = {}
    searchers: dict[Mode, Callable[[], dict[str, dict[int, float]]]] = {
        Mode.DENSE: lambda: dict(
            zip(qids, index.dense(embed_each(query_embedder, texts)), strict=True)
        ),
        Mode.BM25: lambda: {q: index.lexical(t) for q, t in zip(qids, texts, strict=True)},
        Mode.HYBRID: lambda: {
            q: index.hybrid(t, v, fusion)
            for q, t, v in zip(qids, texts, embed_each(query_embedder, texts), strict=True)
        },
    }
    for mode in modes:
        started = time.perf_counter()
        per_query = searchers[mode]()
        seconds = time.perf_counter() - started
        run = index.to_run(per_query)
        results[mode] = ModeResult(score(dataset.qrels, run), len(qids) / seconds, run)
    return results


def embed_each(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """One query at a time, as a service sees them."""
    return np.vstack([embedder.embed([t]) for t in texts])
