"""How the archive's searches behave at 10k, 100k and 1M passages: vector latency and
recall@10 against exact search, filtered search, deletes, memory; and the keyword engines
(tantivy, FTS5, bm25s) side by side (`eval.lexical`).

The corpus is SQuAD dev's 2,067 real paragraphs, embedded by the configured model, plus
generated vectors where only the index is under test: each is a real paragraph's vector
plus half another's plus Gaussian noise, normalized. Such vectors lie among the real ones
(topics mix, as in an archive) instead of uniformly on the sphere, where no approximate
index works and no real corpus lies. Queries are 1,000 real SQuAD questions.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from eval import lexical
from eval.datasets import load_squad
from eval.embed_cache import CachedEmbedder
from index.chunking import split_sentences
from index.vectors import NewRows, RowFilter, StorePolicy, VectorSnapshot, all_cores, lists_for
from service.settings import Settings

CACHE = Path("eval/cache/embeddings.sqlite")
SIZES = (10_000, 100_000, 1_000_000)
NPROBES = (8, 16, 32, 64)
PUBLISHERS = 20
"""Generated passages are spread over this many publishers; a filter keeps one of them."""


@dataclass
class IvfRow:
    nprobe: int
    median_ms: float
    recall_at_10: float


@dataclass
class SizeResult:
    passages: int
    flat_median_ms: float
    bytes_per_passage: float
    ivf_lists: int
    ivf_build_s: float
    ivf: list[IvfRow] = field(default_factory=list)
    filtered_median_ms: float = 0.0
    """IVF (default nprobe) with a filter keeping one publisher in 20."""
    filtered_recall_at_10: float = 0.0
    delete_ms_per_passage: float = 0.0
    deleted_found_after: int = 0


@dataclass
class ScaleReport:
    queries: int
    real_passages: int
    sizes: list[SizeResult] = field(default_factory=list)
    keyword_quality: list[lexical.QualityRow] = field(default_factory=list)
    keywords: list[lexical.SpeedRow] = field(default_factory=list)


def synthetic(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` vectors among the real ones: one real vector, half of another, and noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = real[rng.integers(0, len(real), m)] + 0.5 * real[rng.integers(0, len(real), m)]
        block += rng.normal(scale=0.05, size=block.shape).astype(np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _median_ms(
    snapshot: VectorSnapshot, queries: np.ndarray, where: RowFilter | None = None
) -> float:
    times = []
    for query in queries:
        started = time.perf_counter()
        snapshot.search(query, 10, where)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _recall(truth: Sequence[np.ndarray], found: Sequence[np.ndarray]) -> float:
    return float(
        np.mean([len(set(t) & set(f)) / len(t) for t, f in zip(truth, found, strict=True)])
    )


def snapshot_of(vectors: np.ndarray, seed: int = 0) -> VectorSnapshot:
    """An archive's vector table holding these vectors, publishers spread at random."""
    n = len(vectors)
    keys = np.arange(n, dtype=np.int64)
    publishers = np.random.default_rng(seed).integers(0, PUBLISHERS, n).astype(np.int32)
    docs = (keys // 30).astype(np.int32)
    rows = NewRows(keys, vectors, keys, np.full(n, -1, np.int64), publishers, docs)
    return VectorSnapshot.empty(vectors.shape[1]).appended(rows, np.zeros(0, np.int64))


def _search_all(
    snapshot: VectorSnapshot, queries: np.ndarray, where: RowFilter | None = None
) -> list[np.ndarray]:
    return [snapshot.search(q, 10, where)[1] for q in queries]


def measure_size(
    real: np.ndarray, queries: np.ndarray, n: int, nprobes: Sequence[int] = NPROBES
) -> SizeResult:
    """Exact and IVF search over `n` vectors (the real ones first), measured."""
    vectors = np.vstack([real[:n], synthetic(real, max(0, n - len(real)))])
    flat = snapshot_of(vectors, seed=n)
    truth = _search_all(flat, queries)
    started = time.perf_counter()
    ivf = flat.with_ivf(StorePolicy(kind="ivf"))
    build_s = time.perf_counter() - started
    one = RowFilter(publishers=np.array([3], np.int32))
    result = SizeResult(
        passages=n,
        flat_median_ms=_median_ms(flat, queries[:200]),
        bytes_per_passage=ivf.nbytes() / n,
        ivf_lists=lists_for(n),
        ivf_build_s=build_s,
    )
    for nprobe in nprobes:
        probed = replace(ivf, nprobe=nprobe)
        found = _search_all(probed, queries)
        result.ivf.append(IvfRow(nprobe, _median_ms(probed, queries), _recall(truth, found)))
    filtered_truth = _search_all(flat, queries[:200], one)
    result.filtered_median_ms = _median_ms(ivf, queries[:200], one)
    result.filtered_recall_at_10 = _recall(filtered_truth, _search_all(ivf, queries[:200], one))
    # Deletes: 1% of the passages, then look for them with their own vectors as queries.
    doomed = flat.columns.keys[: flat.n][::100].copy()
    nothing = NewRows(
        keys=doomed[:0],
        vectors=vectors[:0],
        fingerprints=doomed[:0],
        published=doomed[:0],
        publishers=np.zeros(0, np.int32),
        docs=np.zeros(0, np.int32),
    )
    started = time.perf_counter()
    after = ivf.appended(nothing, doomed)
    result.delete_ms_per_passage = (time.perf_counter() - started) * 1000 / len(doomed)
    found = _search_all(after, vectors[doomed[:200]])
    result.deleted_found_after = int(np.isin(doomed, np.concatenate(found)).sum())
    return result


def run(squad: Path, sizes: Sequence[int] = SIZES, questions: int = 1000) -> ScaleReport:
    dataset = load_squad(squad, questions=questions)
    settings = Settings()
    cached = CachedEmbedder(settings.load_embedder(), CACHE)
    try:
        doc_ids = sorted(dataset.documents)
        real = cached.embed([dataset.documents[d] for d in doc_ids])
        queries = cached.inner.embed(list(dataset.queries.values()))
    finally:
        cached.close()
    report = ScaleReport(queries=len(queries), real_passages=len(real))
    for n in sizes:
        with all_cores():
            report.sizes.append(measure_size(real, queries, n))
    sentences = [
        text[span.start : span.end]
        for text in dataset.documents.values()
        for span in split_sentences(text, 0, len(text))
    ]
    asked = list(dataset.queries.values())[:200]
    with tempfile.TemporaryDirectory(prefix="byline-scale-") as folder:
        for n in sizes:
            report.keywords += lexical.speed(sentences, asked, n, Path(folder))
    return report


def render(report: ScaleReport) -> str:
    lines = [
        f"{report.queries} SQuAD questions; {report.real_passages} real paragraphs, the rest "
        "generated among them. Latency: one query at a time, one thread, k=10.",
        "",
        "| passages | search | median ms | recall@10 | bytes/passage | build s |",
        "|---|---|---|---|---|---|",
    ]
    for size in report.sizes:
        lines.append(
            f"| {size.passages:,} | exact | {size.flat_median_ms:.2f} | 1.000 | "
            f"{size.bytes_per_passage:,.0f} | - |"
        )
        for row in size.ivf:
            lines.append(
                f"| {size.passages:,} | IVF{size.ivf_lists} nprobe {row.nprobe} | "
                f"{row.median_ms:.2f} | {row.recall_at_10:.3f} | "
                f"{size.bytes_per_passage:,.0f} | {size.ivf_build_s:.1f} |"
            )
        lines.append(
            f"| {size.passages:,} | IVF, one publisher in {PUBLISHERS} | "
            f"{size.filtered_median_ms:.2f} | {size.filtered_recall_at_10:.3f} | | |"
        )
    lines.append("")
    for size in report.sizes:
        lines.append(
            f"{size.passages:,}: deleting 1% took {size.delete_ms_per_passage:.4f} ms per "
            f"passage; {size.deleted_found_after} deleted passages found afterwards."
        )
    lines += [
        "",
        "Keyword engines over passages of three random real sentences, 100 candidates:",
        "",
        lexical.render(report.keyword_quality, report.keywords),
    ]
    return "\n".join(lines)
