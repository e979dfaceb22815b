"""`byline bench-ask`: /ask latency with the labelled questions, at 1 client and at 8.

The questions are the seed sets' (seed, seed-shapes, held-out), so every shape of answer is
timed: who-said-what, who-is, numbers and dates, the extractive answer and abstentions. The
server answers each distinct question once before the runs start, as a warmed service would
have its model and caches ready; the query-vector cache is off, so every request embeds.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from eval import seed
from eval.loadgen import LoadResult, Request, run
from eval.localserver import local_server
from index.documents import load_documents
from index.engine import NewsIndex
from service.settings import Settings

CLIENTS = (1, 8)


@dataclass
class AskBenchReport:
    questions: int
    results: list[LoadResult] = field(default_factory=list)


def questions() -> list[str]:
    files = (seed.QUESTIONS, seed.SHAPED_QUESTIONS, seed.HELD_OUT_QUESTIONS)
    return [q.question for path in files for q in seed.load_questions(path)]


def measure(corpus: list[Path], seconds: float) -> AskBenchReport:
    """Index `corpus` in a temporary directory, serve it and time /ask under wrk."""
    settings = Settings()
    asked = questions()
    report = AskBenchReport(questions=len(asked))
    requests = [Request("POST", "/ask", {"question": q, "k": 5}) for q in asked]
    directory = Path(tempfile.mkdtemp(prefix="byline-bench-ask-"))
    try:
        config = replace(settings.index_config(), index_dir=directory / "index")
        index = NewsIndex.open(config, settings.load_embedder())
        try:
            index.upsert(load_documents(corpus))
        finally:
            index.close()
        env = {"BYLINE_LOG_LEVEL": "warning", "BYLINE_QUERY_CACHE": "0"}
        with local_server(directory / "index", env=env) as server:
            with httpx.Client(base_url=server.base_url, timeout=60) as client:
                for question in asked:
                    client.post("/ask", json={"question": question}).raise_for_status()
            for clients in CLIENTS:
                report.results.append(
                    run(server.base_url, requests, clients=clients, seconds=seconds)
                )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return report


def render(report: AskBenchReport) -> str:
    rows = [
        f"POST /ask, {report.questions} labelled questions of every shape",
        "",
        "| clients | requests/s | median ms | p95 ms | p99 ms | failed |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {r.clients} | {r.req_per_s:.1f} | {r.median_ms:.1f} | {r.p95_ms:.1f} | "
        f"{r.p99_ms:.1f} | {r.failed} |"
        for r in report.results
    ]
    return "\n".join(rows)
