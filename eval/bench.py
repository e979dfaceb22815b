"""Speed and memory of a real Byline server: indexing, start-up, HTTP latency and
throughput under `wrk`, RSS. It can put the same load on another server (a peer such as
txtai) for a side-by-side table.

Numbers come from this machine, this run; nothing here asserts a threshold.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

from eval import loadgen
from eval.loadgen import LoadResult, Request
from eval.localserver import cpu_seconds, local_server, rss_mb
from eval.peer import PeerServer
from index.chunking import split_sentences
from index.cleaning import clean
from index.documents import Document, load_documents
from index.embedding import Embedder
from index.engine import NewsIndex
from index.fusion import Mode
from service.settings import Settings

CLIENT_COUNTS = (8, 32)


@dataclass
class ServerLoad:
    """What `wrk` measured against one server: one client per endpoint, then many."""

    latency: dict[str, LoadResult] = field(default_factory=dict)
    throughput: dict[int, list[LoadResult]] = field(default_factory=dict)
    """At each client count, one run, or one per turn where a peer took turns with it."""
    cpu_ms_per_request: dict[int, float] = field(default_factory=dict)
    """Server CPU time (all its threads) per search at each client count: what a request
    costs, which, unlike requests per second, holds on a machine others are loading too."""
    ask_throughput: LoadResult | None = None
    rss_mb: float | None = None


@dataclass
class BenchReport:
    machine: dict[str, str | int | None]
    embedder: dict[str, str | int]
    documents: int = 0
    passages: int = 0
    index_build_s: float = 0.0
    index_passages_per_s: float = 0.0
    raw_encoder_passages_per_s: float = 0.0
    raw_embed_ms_median: float = 0.0
    """Query by query in this process, the same queries as `GET /search`'s, in passes between
    that row's runs (all passes pooled)."""
    raw_embed_ms_passes: list[float] = field(default_factory=list)
    """Each pass's median: one before each `GET /search` run and one after the last."""
    search_to_raw: list[float] = field(default_factory=list)
    """Each `GET /search` run's median over the raw embedding median of the passes on either
    side of it: the two as the machine was in the same few seconds."""
    start_to_ready_s: float = 0.0
    rss_ready_mb: float = 0.0
    byline: ServerLoad = field(default_factory=ServerLoad)
    peer: ServerLoad | None = None
    peer_url: str | None = None


def search_requests(queries: Sequence[str], k: int, mode: str | None = None) -> list[Request]:
    extra = {"mode": mode} if mode else {}
    return [Request("GET", "/search?" + urlencode({"q": q, "k": k, **extra})) for q in queries]


def peer_requests(template: str, queries: Sequence[str]) -> list[Request]:
    """Requests for a peer: `template` is a path with {q} where the query goes."""
    return [Request("GET", template.replace("{q}", quote(q))) for q in queries]


@dataclass(frozen=True)
class Target:
    """A server under search load, and where its figures go."""

    base_url: str
    searches: list[Request]
    pid: int | None
    load: ServerLoad


PAIRED_RUNS = 5
"""`GET /search` at one client is timed in this many runs, each after a pass of the raw
embedding over the same queries."""


def measure_latency(
    base_url: str, endpoints: dict[str, list[Request]], *, seconds: float
) -> ServerLoad:
    """One wrk connection per endpoint."""
    load = ServerLoad()
    for name, requests in endpoints.items():
        loadgen.run(base_url, requests[:10], clients=1, seconds=1)  # warm-up
        load.latency[name] = loadgen.run(base_url, requests, clients=1, seconds=seconds)
    return load


def paired_latency(
    base_url: str,
    requests: list[Request],
    raw_pass: Callable[[], list[float]],
    *,
    seconds: float,
    runs: int = PAIRED_RUNS,
) -> tuple[LoadResult, list[list[float]], list[float]]:
    """One wrk connection in `runs` runs of `seconds` / `runs`, with a `raw_pass` before each
    and after the last: the row (its median, p95 and p99 are the median of the runs'), the
    passes, and each run's median over the median of the passes on either side of it.

    Others' jobs on a shared machine come and go within seconds, so a ratio of two numbers
    timed apart follows them; each run's ratio does not, and the median of the ratios drops
    a run they disturbed.
    """
    loadgen.run(base_url, requests[:10], clients=1, seconds=1)  # warm-up
    passes = [raw_pass()]
    results = []
    for _ in range(runs):
        results.append(loadgen.run(base_url, requests, clients=1, seconds=seconds / runs))
        passes.append(raw_pass())
    ratios = [
        r.median_ms / statistics.median([*before, *after])
        for r, before, after in zip(results, passes, passes[1:], strict=False)
    ]
    row = LoadResult(
        clients=1,
        requests=sum(r.requests for r in results),
        req_per_s=req_per_s(results),
        median_ms=statistics.median(r.median_ms for r in results),
        p95_ms=statistics.median(r.p95_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        failed=sum(r.failed for r in results),
    )
    return row, passes, ratios


def measure_throughput(targets: Sequence[Target], *, seconds: float) -> None:
    """Search load at each client count and, with a `pid`, the server's CPU time per search.

    Two or more servers take turns, in one order and then the other, `seconds` / 2 each
    (the others idle meanwhile): each sees the same minutes of a machine others load too.
    """
    turns = 2 if len(targets) > 1 else 1
    for clients in CLIENT_COUNTS:
        used = dict.fromkeys(range(len(targets)), 0.0)
        for turn in range(turns):
            order = list(enumerate(targets))
            for i, target in order if turn % 2 == 0 else reversed(order):
                before = cpu_seconds(target.pid) if target.pid else 0.0
                result = loadgen.run(
                    target.base_url, target.searches, clients=clients, seconds=seconds / turns
                )
                target.load.throughput.setdefault(clients, []).append(result)
                if target.pid:
                    used[i] += cpu_seconds(target.pid) - before
        for i, target in enumerate(targets):
            served = sum(r.requests for r in target.load.throughput[clients])
            if target.pid and served:
                target.load.cpu_ms_per_request[clients] = used[i] * 1000 / served


def req_per_s(results: Sequence[LoadResult]) -> float:
    """Requests per second over several runs together."""
    seconds = sum(r.requests / r.req_per_s for r in results if r.req_per_s)
    return sum(r.requests for r in results) / seconds if seconds else 0.0


def run(
    corpus: list[Path],
    queries: int = 100,
    k: int = 5,
    seconds: float = 10.0,
    peer_url: str | None = None,
    peer_search: str = "/search?query={q}&limit=5",
    peer_pid: int | None = None,
    peer_server: AbstractContextManager[PeerServer] | None = None,
) -> BenchReport:
    """Build an index of `corpus` in a temporary directory, serve it, and measure.

    `peer_server` is started after Byline's latency rows, and the two take turns under the
    search load (`measure_throughput`); `peer_url` is a peer someone else runs.
    """
    settings = Settings()
    embedder = settings.load_embedder()
    report = BenchReport(
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        embedder={
            "model": embedder.model_id,
            "backend": settings.embed_backend,
            "precision": embedder.precision,
        },
    )
    documents = load_documents(corpus)
    query_texts = bench_queries(documents, queries)

    with tempfile.TemporaryDirectory(prefix="byline-bench-") as tmp:
        index_dir = Path(tmp) / "index"
        started = time.perf_counter()
        index = NewsIndex.open(replace(settings.index_config(), index_dir=index_dir), embedder)
        try:
            index.upsert(documents)
            report.index_build_s = time.perf_counter() - started
            report.documents, report.passages = index.document_count, index.passage_count
            report.index_passages_per_s = index.passage_count / report.index_build_s
            texts = [d.passage_text(p) for d in index.documents() for p in d.passages]
        finally:
            index.close()
        started = time.perf_counter()
        embedder.embed(texts)
        report.raw_encoder_passages_per_s = len(texts) / (time.perf_counter() - started)

        # No query cache: every request pays for its embedding, as distinct queries do.
        env = {"BYLINE_LOG_LEVEL": "warning", "BYLINE_QUERY_CACHE": "0"}
        with local_server(index_dir, env=env) as server:
            report.start_to_ready_s = server.seconds_to_ready
            report.rss_ready_mb = server.rss_mb()
            for path in ("/search?q=warm", "/health"):
                httpx.get(server.base_url + path, timeout=30).raise_for_status()
            _warm_up(server.base_url, embedder, query_texts, k)
            endpoints = {
                "GET /search": search_requests(query_texts, k),
                **{
                    f"GET /search mode={m.value}": search_requests(query_texts, k, m.value)
                    for m in Mode
                },
                "POST /ask": [
                    Request("POST", "/ask", {"question": q, "k": k}) for q in query_texts
                ],
                "GET /health (the HTTP floor)": [Request("GET", "/health")],
            }
            search, raw_passes, report.search_to_raw = paired_latency(
                server.base_url,
                endpoints.pop("GET /search"),
                lambda: time_embeddings(embedder, query_texts),
                seconds=seconds,
            )
            report.raw_embed_ms_median = statistics.median(t for p in raw_passes for t in p)
            report.raw_embed_ms_passes = [statistics.median(p) for p in raw_passes]
            report.byline = measure_latency(server.base_url, endpoints, seconds=seconds)
            report.byline.latency = {"GET /search": search, **report.byline.latency}
            targets = [
                Target(
                    server.base_url,
                    search_requests(query_texts, k),
                    server.process.pid,
                    report.byline,
                )
            ]
            with ExitStack() as stack:
                if peer_server is not None:
                    peer = stack.enter_context(peer_server)
                    report.peer_url = f"{peer.name} at {peer.base_url}"
                    peer_url, peer_search, peer_pid = peer.base_url, peer.search, peer.pid
                elif peer_url:
                    report.peer_url = peer_url
                if peer_url:
                    searches = peer_requests(peer_search, query_texts)
                    loadgen.run(peer_url, searches[:10], clients=1, seconds=1)  # warm-up
                    report.peer = measure_latency(
                        peer_url, {"GET /search": searches}, seconds=seconds
                    )
                    targets.append(Target(peer_url, searches, peer_pid, report.peer))
                measure_throughput(targets, seconds=seconds)
                if report.peer is not None and peer_pid:
                    report.peer.rss_mb = rss_mb(peer_pid)
            report.byline.ask_throughput = loadgen.run(
                server.base_url, endpoints["POST /ask"], clients=CLIENT_COUNTS[0], seconds=seconds
            )
            report.byline.rss_mb = server.rss_mb()
    return report


def time_embeddings(embedder: Embedder, texts: Sequence[str]) -> list[float]:
    """Milliseconds to embed each text alone, one after another, as a lone search does."""
    times = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed([text])
        times.append((time.perf_counter() - started) * 1000)
    return times


def _warm_up(base_url: str, embedder: Embedder, texts: Sequence[str], k: int) -> None:
    """Every query once through the server and once through this process's model, untimed:
    both have then run the model at every sequence length the timed rows will meet."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for request in search_requests(texts, k):
            client.get(request.path).raise_for_status()
    for text in texts:
        embedder.embed([text])


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


def render(report: BenchReport) -> str:
    """The table `make bench` prints, with the ratios that matter stated."""
    rows = [
        ("embedder", " ".join(str(v) for v in report.embedder.values())),
        ("corpus", f"{report.documents} documents, {report.passages} passages"),
        ("index build (clean, chunk, embed, save)", f"{report.index_build_s:.2f} s"),
        (
            "indexing / raw encoder",
            f"{report.index_passages_per_s:.0f} / {report.raw_encoder_passages_per_s:.0f} "
            f"passages/s = {report.index_passages_per_s / report.raw_encoder_passages_per_s:.2f}",
        ),
        (
            f"raw query embedding, median (passes between the {PAIRED_RUNS} GET /search runs)",
            f"{report.raw_embed_ms_median:.2f} ms ("
            + " / ".join(f"{m:.2f}" for m in report.raw_embed_ms_passes)
            + ")",
        ),
        ("process start to /ready", f"{report.start_to_ready_s:.2f} s"),
        ("RSS at ready", f"{report.rss_ready_mb:.0f} MB"),
    ]
    for name, result in report.byline.latency.items():
        runs = f" ({PAIRED_RUNS} runs' median)" if name == "GET /search" else ""
        rows.append(
            (
                f"{name}, 1 client: median / p95 / p99{runs}",
                f"{result.median_ms:.2f} / {result.p95_ms:.2f} / {result.p99_ms:.2f} ms",
            )
        )
    if report.search_to_raw:
        rows.append(
            (
                "GET /search median / raw embedding median (each run to its passes)",
                f"{statistics.median(report.search_to_raw):.2f}x ("
                + " / ".join(f"{r:.2f}" for r in report.search_to_raw)
                + ")",
            )
        )
    for clients, results in report.byline.throughput.items():
        rows.append((f"GET /search, {clients} clients", _rate(results)))
    for clients, cpu in report.byline.cpu_ms_per_request.items():
        rows.append((f"GET /search, {clients} clients: server CPU per request", f"{cpu:.2f} ms"))
    if report.byline.ask_throughput is not None:
        rows.append(
            (f"POST /ask, {CLIENT_COUNTS[0]} clients", _rate([report.byline.ask_throughput]))
        )
    rows.append(("RSS after the load", f"{report.byline.rss_mb:.0f} MB"))
    if report.peer is not None:
        peer = report.peer.latency["GET /search"]
        rows.append(("peer", str(report.peer_url)))
        rows.append(
            (
                "peer search, 1 client: median / p95 / p99",
                f"{peer.median_ms:.2f} / {peer.p95_ms:.2f} / {peer.p99_ms:.2f} ms",
            )
        )
        for clients, results in report.peer.throughput.items():
            ratio = req_per_s(report.byline.throughput[clients]) / req_per_s(results)
            rows.append(
                (f"peer search, {clients} clients", f"{_rate(results)}; Byline {ratio:.1f}x")
            )
        for clients, cpu in report.peer.cpu_ms_per_request.items():
            ratio = cpu / report.byline.cpu_ms_per_request[clients]
            rows.append(
                (
                    f"peer search, {clients} clients: server CPU per request",
                    f"{cpu:.2f} ms; Byline {ratio:.1f}x less",
                )
            )
        if report.peer.rss_mb is not None:
            rows.append(("peer RSS after the load", f"{report.peer.rss_mb:.0f} MB"))
        rows.append(("peer failed requests (errors, non-2xx)", str(_failed(report.peer))))
    rows.append(("failed requests (errors, non-2xx)", str(_failed(report.byline))))
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'measure':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {name:<{width}} | {value} |" for name, value in rows]
    return "\n".join(lines)


def _failed(load: ServerLoad) -> int:
    results = [*load.latency.values(), *(r for rs in load.throughput.values() for r in rs)]
    if load.ask_throughput is not None:
        results.append(load.ask_throughput)
    return sum(r.failed for r in results)


def _rate(results: Sequence[LoadResult]) -> str:
    """Requests per second over all the runs; each run's rate and median where they took turns."""
    medians = " / ".join(f"{r.median_ms:.1f}" for r in results)
    if len(results) == 1:
        return f"{req_per_s(results):.1f} req/s, median {medians} ms"
    turns = " / ".join(f"{r.req_per_s:.1f}" for r in results)
    return f"{req_per_s(results):.1f} req/s (turns {turns}), medians {medians} ms"
