"""What a write costs as the archive grows, and what searches see while writes go on.

The archive is filled with articles made of real SQuAD paragraphs (12 each, dated over a
year, 20 publishers) through the real `NewsIndex` (cleaning, chunking with the model's own
tokenizer, SQLite, tantivy, the vector table). Vectors are random unit vectors, as in the
issue's measurement of the old store: only the index's own work is timed. What the model adds
to a write is measured once, separately, since it does not depend on the archive's size.

At each size: the bulk rate of filling; single-article writes (add, replace, delete) timed
one by one while a thread searches (hybrid) without pause, against searches with no writes;
disk against live data after a fifth of the articles are replaced and a tenth deleted and
background compaction has run; start-up time and resident memory after a restart.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from eval.datasets import load_squad
from index.archive import SearchFilter
from index.config import IndexConfig
from index.documents import Document, published_timestamp
from index.embedded import EmbeddedArchive
from index.embedding import Embedder, Vectors, WrappedEmbedder
from index.engine import NewsIndex
from index.fusion import Mode
from service.settings import Settings

SIZES = (10_000, 100_000)
PARAGRAPHS_PER_ARTICLE = 12
PUBLISHERS = 20


class RandomVectors(WrappedEmbedder):
    """The model's tokenizer (so chunking is real) with random unit vectors, one per text,
    seeded by the text: no model time in the measurement."""

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> Vectors:
        out = np.empty((len(texts), self.dimension), np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest())
            out[i] = np.random.default_rng(seed).standard_normal(self.dimension)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


@dataclass
class Latency:
    count: int
    median_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = sorted(s * 1000 for s in seconds)
        if not ms:
            return cls(0, 0.0, 0.0, 0.0)
        return cls(len(ms), statistics.median(ms), ms[int(0.99 * (len(ms) - 1))], ms[-1])


@dataclass
class SizeResult:
    passages: int
    documents: int
    fill_passages_per_s: float
    """0 when the archive was kept from an earlier run (`--keep-dir`)."""
    add_alone: Latency
    """One article at a time, nothing else running."""
    add: Latency
    replace: Latency
    delete: Latency
    search_idle: Latency
    search_during_writes: Latency
    searches: dict[str, Latency] = field(default_factory=dict)
    """Search kinds, one query at a time with nothing else running."""
    disk_bytes: int = 0
    disk_to_live: float = 0.0
    churned: bool = True
    """False: no churn ran, so disk against live data was not measured."""
    start_s: float = 0.0
    """A new process: imports, model, archive, first search."""
    rss_mb: float = 0.0
    """That process after its first search (model included)."""
    ivf_at_start: bool = False


@dataclass
class WritesReport:
    passages_per_article: float
    embed_one_article_s: float
    ingest_passages_per_s: float = 0.0
    """Bulk ingestion through NewsIndex.upsert with the model, 20 articles a call."""
    encoder_passages_per_s: float = 0.0
    """The model alone on the same passages, the same batches."""
    sizes: list[SizeResult] = field(default_factory=list)


class Articles:
    """Articles of real paragraphs; `next()` makes a new one, `again(i)` a changed text."""

    def __init__(self, paragraphs: Sequence[str], seed: int = 0) -> None:
        self.paragraphs = list(paragraphs)
        self.random = random.Random(seed)
        self.made = 0

    def _text(self) -> str:
        return "\n\n".join(self.random.sample(self.paragraphs, PARAGRAPHS_PER_ARTICLE))

    def next(self) -> Document:
        self.made += 1
        return self.numbered(self.made - 1)

    def numbered(self, i: int) -> Document:
        """Article number `i`, with a new text (its other fields depend on `i` alone)."""
        day = 1 + i % 365
        return Document(
            doc_id=f"a{i:07d}",
            text=self._text(),
            title=f"Article {i}",
            publisher=f"Publisher {i % PUBLISHERS}",
            published=_date(day),
        )

    def again(self, document: Document) -> Document:
        return replace(document, text=self._text())


def _date(day_of_year: int) -> str:
    moment = np.datetime64("2025-01-01") + np.timedelta64(day_of_year - 1, "D")
    return f"{moment}T08:00:00+00:00"


class Searcher(threading.Thread):
    """Searches without pause, recording (start time, seconds) of each."""

    def __init__(self, index: NewsIndex, queries: Sequence[str]) -> None:
        super().__init__(daemon=True)
        self.index, self.queries = index, list(queries)
        self.times: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            self.index.search(self.queries[i % len(self.queries)], k=10)
            self.times.append((started, time.perf_counter() - started))
            i += 1

    def between(self, start: float, end: float) -> list[float]:
        return [s for t, s in self.times if start <= t < end]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_size(
    config: IndexConfig,
    embedder: Embedder,
    articles: Articles,
    queries: Sequence[str],
    n: int,
    churn: bool = True,
) -> SizeResult:
    """Fill an archive to `n` passages, then time writes with a searcher running; with
    `churn`, replace a fifth and delete a tenth, and measure disk against live data."""
    index = NewsIndex.open(config, embedder)
    # A kept archive (filling a million passages takes an hour): its articles, renumbered on.
    numbers = sorted(int(doc_id[1:]) for doc_id in index.view().checksums())
    written = [articles.numbered(i) for i in numbers]
    articles.made = numbers[-1] + 1 if numbers else 0
    kept = index.view().passage_count >= n
    started = time.perf_counter()
    while index.view().passage_count < n:
        batch = [articles.next() for _ in range(100)]
        index.upsert(batch)
        written += batch
    fill_s = time.perf_counter() - started
    _settle(index)
    alone: list[float] = []
    for _ in range(20):
        document = articles.next()
        began = time.perf_counter()
        index.upsert([document])
        alone.append(time.perf_counter() - began)
        written.append(document)
    _settle(index)
    searcher = Searcher(index, queries)
    searcher.start()
    time.sleep(10)
    idle_end = time.perf_counter()
    adds: list[float] = []
    replaces: list[float] = []
    deletes: list[float] = []
    rng = random.Random(n)
    # One article added, one replaced and one deleted every second, as a busy desk writes.
    for second in range(20):
        for action, times in enumerate((adds, replaces, deletes)):
            due = idle_end + second + action / 3
            time.sleep(max(0.0, due - time.perf_counter()))
            began = time.perf_counter()
            if action == 0:
                document = articles.next()
                index.upsert([document])
                written.append(document)
            elif action == 1:
                index.upsert([articles.again(rng.choice(written))])
            else:
                index.delete(written.pop(rng.randrange(len(written))).doc_id)
            times.append(time.perf_counter() - began)
    time.sleep(max(0.0, idle_end + 20 - time.perf_counter()))
    writes_end = time.perf_counter()
    searcher.stop.set()
    searcher.join()
    _settle(index)
    searches = _search_table(index, queries[:200])
    view = index.view()
    result = SizeResult(
        passages=view.passage_count,
        documents=view.document_count,
        fill_passages_per_s=0.0 if kept else view.passage_count / fill_s,
        add_alone=Latency.of(alone),
        add=Latency.of(adds),
        replace=Latency.of(replaces),
        delete=Latency.of(deletes),
        search_idle=Latency.of(searcher.between(0, idle_end)),
        search_during_writes=Latency.of(searcher.between(idle_end, writes_end)),
        searches=searches,
    )
    full_bytes, full_passages = index.archive.disk_bytes(), view.passage_count
    result.churned = churn
    if churn:
        # A fifth replaced (100 articles a write, as a feed delivers them) and a tenth
        # deleted; then upkeep.
        changed = [articles.again(d) for d in rng.sample(written, len(written) // 5)]
        for start in range(0, len(changed), 100):
            index.upsert(changed[start : start + 100])
        for document in rng.sample(written, len(written) // 10):
            index.delete(document.doc_id)
        _settle(index)
    live = index.view().passage_count
    result.disk_bytes = index.archive.disk_bytes()
    result.disk_to_live = result.disk_bytes / (full_bytes * live / full_passages)
    index.close()
    result.start_s, result.rss_mb, result.ivf_at_start = _restart(config, queries[0])
    return result


_PROBE = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
began = time.perf_counter()
from eval.writes import RandomVectors, _rss_mb
from index.engine import NewsIndex
from index.fusion import Mode
from service.settings import Settings
settings = Settings()
config = replace(settings.index_config(), index_dir=Path(sys.argv[1]))
index = NewsIndex.open(config, RandomVectors(settings.load_embedder()))
index.search(sys.argv[2], k=10)
ivf = index.view().snapshot.ivf is not None
print(json.dumps([time.perf_counter() - began, _rss_mb(), ivf]))
index.close()
"""


def _restart(config: IndexConfig, query: str) -> tuple[float, float, bool]:
    """A fresh process opening the archive and answering one search, as `byline serve` does
    before /ready: seconds (imports and model included), RSS, and whether the IVF index was
    there at once (loaded, not trained)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(config.index_dir), query],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rss, ivf = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), float(rss), bool(ivf)


def _search_table(index: NewsIndex, queries: Sequence[str]) -> dict[str, Latency]:
    """Median and p99 of each search kind (query embeddings cached first: only the index's
    work and the fusion are timed, as for the writes)."""
    one_publisher = SearchFilter(publishers=frozenset({"publisher 3"}))
    a_month = SearchFilter(
        published_after=published_timestamp("2025-03-01"),
        published_before=published_timestamp("2025-04-01"),
    )
    kinds: dict[str, tuple[Mode, SearchFilter | None]] = {
        "dense": (Mode.DENSE, None),
        "bm25": (Mode.BM25, None),
        "hybrid": (Mode.HYBRID, None),
        f"hybrid, one publisher in {PUBLISHERS}": (Mode.HYBRID, one_publisher),
        "hybrid, one month of the year": (Mode.HYBRID, a_month),
    }
    index.query_vectors(queries)  # into the query cache
    table = {}
    for name, (mode, where) in kinds.items():
        times = []
        for query in queries:
            began = time.perf_counter()
            index.search(query, 10, mode, where)
            times.append(time.perf_counter() - began)
        table[name] = Latency.of(times)
    return table


def _settle(index: NewsIndex) -> None:
    """Let background upkeep (IVF training, merging, compaction) finish."""
    if isinstance(index.archive, EmbeddedArchive):
        index.archive.wait_idle(timeout=600)


def run(
    squad: Path, sizes: Sequence[int] = SIZES, keep: Path | None = None, churn: bool = True
) -> WritesReport:
    """Every measurement at each size; with `keep`, archives are filled into (and taken
    from) `keep/<size>` instead of a temporary directory."""
    dataset = load_squad(squad, questions=500)
    settings = Settings()
    model = settings.load_embedder()
    articles = Articles(list(dataset.documents.values()))
    sample = articles.next()
    with tempfile.TemporaryDirectory(prefix="byline-writes-") as folder:
        config = replace(settings.index_config(), index_dir=Path(folder) / "probe")
        index = NewsIndex.open(config, model)
        spans = index.passages_for(sample)
        index.close()
    texts = [sample.text[s:e] for s, e in spans]
    model.embed(texts)  # warm
    began = time.perf_counter()
    model.embed(texts)
    report = WritesReport(len(spans), time.perf_counter() - began)
    bulk = [articles.next() for _ in range(60)]
    with tempfile.TemporaryDirectory(prefix="byline-writes-") as folder:
        index = NewsIndex.open(replace(settings.index_config(), index_dir=Path(folder)), model)
        began = time.perf_counter()
        for start in range(0, len(bulk), 20):
            index.upsert(bulk[start : start + 20])
        ingest_s = time.perf_counter() - began
        passages = index.view().passage_count
        batches = [
            [d.text[s:e] for d in bulk[start : start + 20] for s, e in index.passages_for(d)]
            for start in range(0, len(bulk), 20)
        ]
        index.close()
    began = time.perf_counter()
    for batch in batches:
        model.embed(batch)
    report.encoder_passages_per_s = passages / (time.perf_counter() - began)
    report.ingest_passages_per_s = passages / ingest_s
    queries = list(dataset.queries.values())
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="byline-writes-") as folder:
            where = keep / str(n) if keep is not None else Path(folder) / "index"
            config = replace(settings.index_config(), index_dir=where)
            report.sizes.append(
                measure_size(
                    config, RandomVectors(model), Articles(articles.paragraphs), queries, n, churn
                )
            )
    return report


def _row(name: str, latency: Latency) -> str:
    return (
        f"| {name} | {latency.count} | {latency.median_ms:.1f} | {latency.p99_ms:.1f} "
        f"| {latency.max_ms:.1f} |"
    )


def render(report: WritesReport) -> str:
    lines = [
        f"Articles of {PARAGRAPHS_PER_ARTICLE} SQuAD paragraphs: "
        f"{report.passages_per_article:.0f} passages each. Embedding one with the model: "
        f"{report.embed_one_article_s * 1000:.0f} ms (not in the figures below: random vectors).",
        f"Bulk ingestion with the model: {report.ingest_passages_per_s:,.0f} passages/s against "
        f"{report.encoder_passages_per_s:,.0f} for the encoder alone "
        f"({report.ingest_passages_per_s / max(report.encoder_passages_per_s, 1e-9):.2f}x).",
    ]
    for size in report.sizes:
        lines += [
            "",
            f"**{size.passages:,} passages, {size.documents:,} articles**: "
            + (
                f"filled at {size.fill_passages_per_s:,.0f} passages/s"
                if size.fill_passages_per_s
                else "kept from an earlier run"
            )
            + (
                f"; after churn, disk {size.disk_bytes / 1e6:,.0f} MB, "
                f"{size.disk_to_live:.2f}x the live data; "
                if size.churned
                else f"; disk {size.disk_bytes / 1e6:,.0f} MB (no churn run); "
            )
            + f"a new process to its first answer {size.start_s:.1f} s (IVF "
            f"{'loaded' if size.ivf_at_start else 'not in use'}), RSS {size.rss_mb:,.0f} MB.",
            "",
            "Except in the first row, writes run while a thread searches without pause.",
            "",
            "| operation | count | median ms | p99 ms | max ms |",
            "|---|---|---|---|---|",
            _row("add one article, no searches running", size.add_alone),
            _row("add one article", size.add),
            _row("replace one article", size.replace),
            _row("delete one article", size.delete),
            _row("hybrid search, no writes", size.search_idle),
            _row("hybrid search, 3 writes a second", size.search_during_writes),
            "",
            "| search, nothing else running | count | median ms | p99 ms | max ms |",
            "|---|---|---|---|---|",
            *(_row(name, latency) for name, latency in size.searches.items()),
        ]
    return "\n".join(lines)
