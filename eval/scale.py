"""How the vector store behaves at 10k, 100k and 1M passages: latency, recall@10 against exact
search, memory, build time, deletes.

The corpus is SQuAD dev's 2,067 real paragraphs, embedded by the configured model, plus
generated vectors where only the index is under test: each is a real paragraph's vector
plus half another's plus Gaussian noise, normalized. Such vectors lie among the real ones
(topics mix, as in an archive) instead of uniformly on the sphere, where no approximate
index works and no real corpus lies. Queries are 1,000 real SQuAD questions.

Byline's own bookkeeping per passage (spans, maps, BM25; not the article text) is measured
on the real paragraphs with tracemalloc, through the real `NewsIndex`.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from eval.datasets import load_squad
from eval.embed_cache import CachedEmbedder
from index.chunking import split_sentences
from index.documents import Document
from index.embedding import Embedder
from index.engine import NewsIndex
from index.lexical import Bm25Index
from index.store import FaissFlatStore, FaissIvfStore, all_cores
from service.settings import Settings

CACHE = Path("eval/cache/embeddings.sqlite")
SIZES = (10_000, 100_000, 1_000_000)
NPROBES = (8, 16, 32, 64)


@dataclass
class IvfRow:
    nprobe: int
    median_ms: float
    recall_at_10: float


@dataclass
class SizeResult:
    passages: int
    flat_median_ms: float
    flat_bytes_per_passage: float
    ivf_lists: int
    ivf_build_s: float
    ivf_bytes_per_passage: float
    ivf: list[IvfRow] = field(default_factory=list)
    delete_ms_per_passage: float = 0.0
    deleted_found_after: int = 0


@dataclass
class Bm25Result:
    passages: int
    build_s: float
    median_ms: float
    bytes_per_passage: float


@dataclass
class ScaleReport:
    queries: int
    real_passages: int
    sizes: list[SizeResult] = field(default_factory=list)
    bm25: list[Bm25Result] = field(default_factory=list)
    bookkeeping_bytes_per_passage: float = 0.0
    bookkeeping_passages: int = 0


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


def _median_ms(search: object, queries: np.ndarray, k: int = 10) -> float:
    times = []
    for row in range(len(queries)):
        started = time.perf_counter()
        search(queries[row : row + 1], k)  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _recall(truth: np.ndarray, found: np.ndarray) -> float:
    return float(
        np.mean([len(set(t) & set(f)) / len(t) for t, f in zip(truth, found, strict=True)])
    )


def measure_size(
    real: np.ndarray, queries: np.ndarray, n: int, nprobes: Sequence[int] = NPROBES
) -> SizeResult:
    """Exact and IVF stores over `n` vectors (the real ones first), measured."""
    vectors = np.vstack([real[:n], synthetic(real, max(0, n - len(real)))])
    ids = np.random.default_rng(n).choice(2**62, size=n, replace=False).astype(np.int64)
    flat = FaissFlatStore(real.shape[1])
    flat.add(ids, vectors)
    with all_cores():
        _, truth = flat.search(queries, 10)
    started = time.perf_counter()
    ivf = FaissIvfStore.build(ids, vectors)
    build_s = time.perf_counter() - started
    result = SizeResult(
        passages=n,
        flat_median_ms=_median_ms(flat.search, queries[:200]),
        flat_bytes_per_passage=len(faiss.serialize_index(flat._index)) / n,
        ivf_lists=ivf.lists,
        ivf_build_s=build_s,
        ivf_bytes_per_passage=len(faiss.serialize_index(ivf._index)) / n,
    )
    for nprobe in nprobes:
        ivf._index.nprobe = nprobe
        _, found = ivf.search(queries, 10)
        result.ivf.append(IvfRow(nprobe, _median_ms(ivf.search, queries), _recall(truth, found)))
    # Deletes: 1% of the passages, then look for them with their own vectors as queries.
    doomed = ids[::100]
    started = time.perf_counter()
    ivf.remove(doomed)
    result.delete_ms_per_passage = (time.perf_counter() - started) * 1000 / len(doomed)
    rows = np.flatnonzero(np.isin(ids, doomed[:200]))
    _, found = ivf.search(vectors[rows], 10)
    result.deleted_found_after = int(np.isin(doomed, found).sum())
    return result


def measure_bm25(sentences: Sequence[str], questions: Sequence[str], n: int) -> Bm25Result:
    """Byline's BM25 (bm25s, stemmed) over `n` passages of three random real sentences each,
    queried with real questions for the 100 candidates hybrid search takes."""
    rng = np.random.default_rng(n)
    picks = rng.integers(0, len(sentences), size=(n, 3))
    texts = [" ".join(sentences[i] for i in row) for row in picks]
    lexical = Bm25Index()
    started = time.perf_counter()
    lexical.build(list(range(n)), texts)
    build_s = time.perf_counter() - started
    del texts
    times = []
    for question in questions:
        started = time.perf_counter()
        lexical.search(question, 100)
        times.append((time.perf_counter() - started) * 1000)
    return Bm25Result(n, build_s, statistics.median(times), lexical.nbytes() / n)


def bookkeeping_bytes(
    documents: list[Document], embedder: Embedder, settings: Settings
) -> tuple[float, int]:
    """Python memory per passage of the engine (spans, maps, BM25), vectors excluded. The
    article texts were allocated before the measurement, so they are not counted."""
    index = NewsIndex(embedder, settings.chunking(embedder.max_tokens))
    index.upsert(documents[:1])  # warm: imports and caches outside the measurement
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index.upsert(documents[1:])
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    passages = index.passage_count - len(index.get(documents[0].doc_id).passages)
    return (after - before) / passages, passages


def run(squad: Path, sizes: Sequence[int] = SIZES, questions: int = 1000) -> ScaleReport:
    dataset = load_squad(squad, questions=questions)
    settings = Settings()
    cached = CachedEmbedder(settings.load_embedder(), CACHE)
    try:
        doc_ids = sorted(dataset.documents)
        real = cached.embed([dataset.documents[d] for d in doc_ids])
        queries = cached.inner.embed(list(dataset.queries.values()))
        documents = [Document(doc_id=d, text=dataset.documents[d]) for d in doc_ids]
        report = ScaleReport(queries=len(queries), real_passages=len(real))
        per_passage, counted = bookkeeping_bytes(documents, cached, settings)
    finally:
        cached.close()
    report.bookkeeping_bytes_per_passage, report.bookkeeping_passages = per_passage, counted
    for n in sizes:
        report.sizes.append(measure_size(real, queries, n))
    sentences = [
        text[span.start : span.end]
        for text in dataset.documents.values()
        for span in split_sentences(text, 0, len(text))
    ]
    asked = list(dataset.queries.values())[:200]
    for n in sizes:
        report.bm25.append(measure_bm25(sentences, asked, n))
    return report


def render(report: ScaleReport) -> str:
    lines = [
        f"{report.queries} SQuAD questions; {report.real_passages} real paragraphs, the rest "
        "generated among them. Latency: one query at a time, one thread, k=10.",
        "",
        "| passages | store | median ms | recall@10 | bytes/passage | build s |",
        "|---|---|---|---|---|---|",
    ]
    for size in report.sizes:
        lines.append(
            f"| {size.passages:,} | flat (exact) | {size.flat_median_ms:.2f} | 1.000 | "
            f"{size.flat_bytes_per_passage:,.0f} | - |"
        )
        for row in size.ivf:
            lines.append(
                f"| {size.passages:,} | IVF{size.ivf_lists} nprobe {row.nprobe} | "
                f"{row.median_ms:.2f} | {row.recall_at_10:.3f} | "
                f"{size.ivf_bytes_per_passage:,.0f} | {size.ivf_build_s:.1f} |"
            )
    lines.append("")
    for size in report.sizes:
        lines.append(
            f"{size.passages:,}: deleting 1% took {size.delete_ms_per_passage:.3f} ms per "
            f"passage; {size.deleted_found_after} deleted passages found afterwards."
        )
    lines += [
        "",
        "BM25 (bm25s, stemmed), passages of three random real sentences, 100 candidates:",
        "",
        "| passages | build s | median ms | bytes/passage |",
        "|---|---|---|---|",
    ]
    for bm25 in report.bm25:
        lines.append(
            f"| {bm25.passages:,} | {bm25.build_s:.1f} | {bm25.median_ms:.2f} | "
            f"{bm25.bytes_per_passage:,.0f} |"
        )
    lines.append("")
    lines.append(
        f"Engine bookkeeping (spans, maps, BM25; article text and vectors excluded): "
        f"{report.bookkeeping_bytes_per_passage:,.0f} bytes per passage, measured over "
        f"{report.bookkeeping_passages:,} real passages."
    )
    return "\n".join(lines)
