"""Speed and memory of a real Byline server: indexing, start-up, /search latency, RSS.

Numbers come from this machine, this run; nothing here asserts a threshold.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from index.chunking import split_sentences
from index.cleaning import clean
from index.documents import Document, load_documents
from index.engine import NewsIndex
from index.fusion import Mode
from service.localserver import local_server
from service.settings import Settings


@dataclass
class BenchReport:
    machine: dict[str, str | int | None]
    documents: int = 0
    passages: int = 0
    index_build_s: float = 0.0
    index_passages_per_s: float = 0.0
    raw_embed_ms_median: float = 0.0
    start_to_ready_s: float = 0.0
    rss_ready_mb: float = 0.0
    rss_after_load_mb: float = 0.0
    search: dict[str, float] = field(default_factory=dict)
    per_mode_median_ms: dict[str, float] = field(default_factory=dict)
    throughput: dict[str, dict[str, float]] = field(default_factory=dict)


def bench_queries(documents: list[Document], count: int) -> list[str]:
    """Distinct, deterministic queries: the opening words of the corpus's own sentences."""
    queries: list[str] = []
    for document in documents:
        for block in clean(document.text, publisher=document.publisher).blocks:
            for span in split_sentences(document.text, block.start, block.end):
                words = document.text[span.start : span.end].split()[:10]
                if len(words) >= 4:
                    queries.append(" ".join(words))
    unique = list(dict.fromkeys(queries))
    if not unique:
        raise ValueError("the corpus has no sentences to draw benchmark queries from")
    return [unique[i % len(unique)] for i in range(count)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(corpus: list[Path], queries: int = 100, k: int = 5) -> BenchReport:
    """Build an index of `corpus` in a temporary directory, serve it, and measure."""
    report = BenchReport(
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        }
    )
    documents = load_documents(corpus)
    settings = Settings()
    embedder = settings.load_embedder()
    params = settings.chunking(embedder.max_tokens)
    query_texts = bench_queries(documents, queries)

    embedder.embed(query_texts[:5])  # warm-up
    raw = []
    for text in query_texts:
        started = time.perf_counter()
        embedder.embed([text])
        raw.append((time.perf_counter() - started) * 1000)
    report.raw_embed_ms_median = statistics.median(raw)

    with tempfile.TemporaryDirectory(prefix="byline-bench-") as tmp:
        index_dir = Path(tmp) / "index"
        started = time.perf_counter()
        index = NewsIndex(embedder, params)
        index.upsert(documents)
        index.save(index_dir)
        report.index_build_s = time.perf_counter() - started
        report.documents, report.passages = index.document_count, index.passage_count
        report.index_passages_per_s = index.passage_count / report.index_build_s

        with (
            # No query cache: every request pays for its embedding, as distinct queries do.
            local_server(
                index_dir, env={"BYLINE_LOG_LEVEL": "warning", "BYLINE_QUERY_CACHE": "0"}
            ) as server,
            httpx.Client(base_url=server.base_url) as client,
        ):
            report.start_to_ready_s = server.seconds_to_ready
            report.rss_ready_mb = server.rss_mb()
            for text in query_texts[:5]:
                client.get("/search", params={"q": text, "k": k})
            latencies = _time_requests(client, "GET", "/search", query_texts, k)
            for mode in Mode:
                timed = _time_requests(client, "GET", "/search", query_texts, k, mode.value)
                report.per_mode_median_ms[mode.value] = statistics.median(timed)
            asked = _time_requests(client, "POST", "/ask", query_texts, k)
            report.per_mode_median_ms["ask (default mode)"] = statistics.median(asked)
            for clients in (8, 32):
                rate, median = asyncio.run(
                    _throughput(server.base_url, query_texts, clients, seconds=10, k=k)
                )
                report.throughput[f"{clients} clients"] = {"req_per_s": rate, "median_ms": median}
            report.rss_after_load_mb = server.rss_mb()
    report.search = {
        "queries": len(latencies),
        "median_ms": statistics.median(latencies),
        "p95_ms": _percentile(latencies, 0.95),
        "p99_ms": _percentile(latencies, 0.99),
        "http_over_raw_embed": statistics.median(latencies) / report.raw_embed_ms_median,
    }
    return report


async def _throughput(
    base_url: str, queries: list[str], clients: int, seconds: float, k: int
) -> tuple[float, float]:
    """Requests per second and median latency of GET /search with `clients` at once."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client_loop(offset: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            i = offset
            while time.monotonic() < deadline:
                started = time.perf_counter()
                response = await client.get(
                    "/search", params={"q": queries[i % len(queries)], "k": k}
                )
                response.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
                i += clients

    started = time.monotonic()
    await asyncio.gather(*(client_loop(c) for c in range(clients)))
    return len(latencies) / (time.monotonic() - started), statistics.median(latencies)


def _time_requests(
    client: httpx.Client,
    method: str,
    path: str,
    queries: list[str],
    k: int,
    mode: str | None = None,
) -> list[float]:
    """Milliseconds per request, one client, one request at a time."""
    latencies = []
    for text in queries:
        if method == "GET":
            params: dict[str, str | int] = {"q": text, "k": k, **({"mode": mode} if mode else {})}
            started = time.perf_counter()
            response = client.get(path, params=params)
        else:
            started = time.perf_counter()
            response = client.post(path, json={"question": text, "k": k})
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return latencies


def render(report: BenchReport) -> str:
    s = report.search
    rows = [
        ("corpus", f"{report.documents} documents, {report.passages} passages"),
        ("index build (clean, chunk, embed, save)", f"{report.index_build_s:.2f} s"),
        ("indexing throughput", f"{report.index_passages_per_s:.1f} passages/s"),
        ("raw query embedding, median", f"{report.raw_embed_ms_median:.2f} ms"),
        ("process start to /ready", f"{report.start_to_ready_s:.2f} s"),
        (f"GET /search, 1 client, {int(s['queries'])} queries: median", f"{s['median_ms']:.2f} ms"),
        ("GET /search p95", f"{s['p95_ms']:.2f} ms"),
        ("GET /search p99", f"{s['p99_ms']:.2f} ms"),
        ("HTTP median / raw embedding median", f"{s['http_over_raw_embed']:.2f}x"),
        *(
            (f"median, mode {mode}", f"{ms:.2f} ms")
            for mode, ms in report.per_mode_median_ms.items()
        ),
        *(
            (f"GET /search, {name}", f"{t['req_per_s']:.1f} req/s, median {t['median_ms']:.1f} ms")
            for name, t in report.throughput.items()
        ),
        ("RSS at ready", f"{report.rss_ready_mb:.0f} MB"),
        ("RSS after the queries", f"{report.rss_after_load_mb:.0f} MB"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'measure':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {name:<{width}} | {value} |" for name, value in rows]
    return "\n".join(lines)


def write_report(report: BenchReport, reports_dir: Path) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = reports_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(asdict(report), indent=2))
    return path
