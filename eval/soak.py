"""Soak: a real server under mixed load for a while; throughput, latency, errors, memory.

Clients on 127.0.0.1 send searches, asks, document writes and some deliberately bad requests
(which must get a 4xx). At the end every acknowledged write must be in the index.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from eval.localserver import LocalServer, local_server
from index.documents import load_documents
from index.engine import NewsIndex
from service.settings import Settings

# Share of requests by kind; "bad" requests are deliberate 4xx (an empty query).
MIX = {"search": 0.65, "ask": 0.2, "write": 0.1, "bad": 0.05}
QUESTIONS = [
    "what did Zakharova say",
    "were kids evacuated?",
    "Belgorod state of emergency",
    "Istanbul agreement",
    "How much land did Ukraine take?",
    "Pokrovsk offensive",
    "What did NATO say about the incursion?",
    "prisoners of war",
    "Putin Vladivostok forum",
]


@dataclass
class SoakReport:
    seconds: float
    clients: int
    requests: int = 0
    per_second: float = 0.0
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)
    """Status codes that were not the expected ones, by kind: should stay empty."""
    writes_acknowledged: int = 0
    writes_missing_at_end: int = 0
    rss_mb: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since start, RSS in MB), sampled during the run."""
    rss_growth_after_warmup_mb: float = 0.0


async def _client(
    base_url: str,
    deadline: float,
    rng: random.Random,
    worker: int,
    latencies: dict[str, list[float]],
    unexpected: dict[str, int],
    acknowledged: list[str],
) -> None:
    kinds, weights = list(MIX), list(MIX.values())
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        n = 0
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            n += 1
            started = time.perf_counter()
            if kind == "search":
                response = await client.get("/search", params={"q": rng.choice(QUESTIONS)})
                ok = response.status_code == 200
            elif kind == "ask":
                response = await client.post("/ask", json={"question": rng.choice(QUESTIONS)})
                ok = response.status_code == 200
            elif kind == "write":
                doc_id = f"soak-{worker}-{n}"
                text = (
                    f"Soak report {n} from client {worker}. Shelling near Sudzha on day {n}. " * 5
                )
                response = await client.post("/documents", json={"id": doc_id, "text": text})
                ok = response.status_code == 201
                if ok:
                    acknowledged.append(doc_id)
            else:
                response = await client.get("/search", params={"q": "   "})
                ok = response.status_code == 422
            latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
            if not ok:
                key = f"{kind} {response.status_code}"
                unexpected[key] = unexpected.get(key, 0) + 1


async def _drive(server: LocalServer, seconds: float, clients: int, report: SoakReport) -> None:
    base_url = server.base_url
    latencies: dict[str, list[float]] = {}
    acknowledged: list[str] = []
    start = time.monotonic()
    deadline = start + seconds
    rng = random.Random(7)
    tasks = [
        asyncio.create_task(
            _client(
                base_url,
                deadline,
                random.Random(rng.random()),
                w,
                latencies,
                report.unexpected,
                acknowledged,
            )
        )
        for w in range(clients)
    ]
    while not all(t.done() for t in tasks):
        report.rss_mb.append((round(time.monotonic() - start, 1), round(server.rss_mb(), 1)))
        await asyncio.sleep(min(5.0, max(0.5, seconds / 12)))
    for task in tasks:
        task.result()
    elapsed = time.monotonic() - start
    report.requests = sum(len(v) for v in latencies.values())
    report.per_second = report.requests / elapsed
    for kind, values in latencies.items():
        ordered = sorted(values)
        report.latency_ms[kind] = {
            "count": len(values),
            "median": round(statistics.median(values), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "p99": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        }
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        listing = (await client.get("/documents", params={"limit": 500})).json()
        present = {d["doc_id"] for d in listing["data"]}
        offset = 500
        while offset < listing["count"]:
            page = (await client.get("/documents", params={"limit": 500, "offset": offset})).json()
            present |= {d["doc_id"] for d in page["data"]}
            offset += 500
    report.writes_acknowledged = len(acknowledged)
    report.writes_missing_at_end = len(set(acknowledged) - present)
    warm = [rss for t, rss in report.rss_mb if t >= min(15.0, seconds / 4)]
    report.rss_growth_after_warmup_mb = round(max(warm) - min(warm), 1) if warm else 0.0


def run(seeds: Path, seconds: float = 60, clients: int = 16) -> SoakReport:
    """Build a seed index in a temporary directory, serve it, and soak it."""
    settings = Settings()
    embedder = settings.load_embedder()
    report = SoakReport(seconds=seconds, clients=clients)
    with tempfile.TemporaryDirectory(prefix="byline-soak-") as tmp:
        index_dir = Path(tmp) / "index"
        index = NewsIndex.open(replace(settings.index_config(), index_dir=index_dir), embedder)
        try:
            index.upsert(load_documents([seeds]))
        finally:
            index.close()
        with local_server(index_dir, env={"BYLINE_LOG_LEVEL": "warning"}) as server:
            asyncio.run(_drive(server, seconds, clients, report))
        shutil.rmtree(index_dir, ignore_errors=True)
    return report


def render(report: SoakReport) -> str:
    lines = [
        f"{report.seconds:.0f} s, {report.clients} clients: {report.requests} requests, "
        f"{report.per_second:.1f} req/s",
        "",
        "| kind | count | median ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, stats in sorted(report.latency_ms.items()):
        cells = [f"{stats['count']:.0f}", *(str(stats[q]) for q in ("median", "p95", "p99"))]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"unexpected responses: {report.unexpected or 'none'}",
        f"writes acknowledged: {report.writes_acknowledged}, missing at the end: "
        f"{report.writes_missing_at_end}",
        "RSS MB over time: " + ", ".join(f"{t:.0f}s {m:.0f}" for t, m in report.rss_mb),
        f"RSS growth after warm-up: {report.rss_growth_after_warmup_mb} MB",
    ]
    return "\n".join(lines)
