"""Search latency on both storage backends, the same archive and the same queries.

At seed scale the seed corpus is indexed with the model and searched with the labelled seed
questions. At a passage count (e.g. 100,000) the archive is filled with articles of real
SQuAD paragraphs and random unit vectors (`eval.writes`: only the archive's work is timed)
and searched with SQuAD questions. Query embeddings are cached before timing, so each figure
is the archive's search, folding and fetching of passages, one query at a time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from eval import seed
from eval.datasets import load_squad
from eval.writes import Articles, Latency, RandomVectors, _search_table, _settle
from index.config import IndexConfig
from index.documents import Document, load_documents
from index.embedding import Embedder
from index.engine import temporary_index
from index.fusion import Mode
from service.settings import Settings

_BATCH = 20


@dataclass
class BackendResult:
    backend: str
    where: str
    passages: int
    fill_seconds: float
    search: dict[str, Latency] = field(default_factory=dict)


@dataclass
class BackendsReport:
    results: list[BackendResult] = field(default_factory=list)


def _measure(
    config: IndexConfig,
    embedder: Embedder,
    documents: Sequence[Document],
    queries: Sequence[str],
    kinds: set[str] | None,
) -> BackendResult:
    with temporary_index(config, embedder) as index:
        began = time.perf_counter()
        for first in range(0, len(documents), _BATCH):
            index.upsert(documents[first : first + _BATCH])
        _settle(index)
        if config.backend == "milvus":
            index.archive.compact()  # segments sealed and indexed, as a server would have them
        fill = time.perf_counter() - began
        table = _search_table(index, queries)
        if kinds is not None:
            table = {name: latency for name, latency in table.items() if name in kinds}
        return BackendResult(config.backend, index.where, index.view().passage_count, fill, table)


def run(passages: int | None, squad: Path, backends: Sequence[str]) -> BackendsReport:
    """Each backend in turn; Milvus at BYLINE_MILVUS_URI, in a collection of its own."""
    settings = Settings()
    embedder = settings.load_embedder()
    if passages is None:
        documents = load_documents([settings.seeds_dir])
        queries = [q.question for q in seed.load_questions()]
        kinds: set[str] | None = {Mode.DENSE.value, Mode.BM25.value, Mode.HYBRID.value}
    else:
        dataset = load_squad(squad, questions=300)
        articles = Articles(list(dataset.documents.values()))
        model = RandomVectors(embedder)
        probe = articles.next()
        with temporary_index(replace(settings.index_config(), backend="embedded"), model) as ix:
            per_article = len(ix.passages_for(probe))
        documents = [probe] + [articles.next() for _ in range(passages // per_article)]
        queries = list(dataset.queries.values())
        embedder, kinds = model, None
    report = BackendsReport()
    for backend in backends:
        config = replace(settings.index_config(), backend=backend)  # type: ignore[arg-type]
        report.results.append(_measure(config, embedder, documents, queries, kinds))
    return report


def render(report: BackendsReport) -> str:
    lines = [
        "| backend | passages | fill s | search | median ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for result in report.results:
        for name, latency in result.search.items():
            lines.append(
                f"| {result.backend} | {result.passages:,} | {result.fill_seconds:.1f} | {name} "
                f"| {latency.median_ms:.2f} | {latency.p99_ms:.2f} |"
            )
    return "\n".join(lines)
