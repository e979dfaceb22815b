from __future__ import annotations

import os
import time
from pathlib import Path

from eval import loadgen
from eval.bench import search_requests
from eval.loadgen import Request
from eval.localserver import cpu_seconds, local_server


def test_wrk_load_is_counted_and_failures_are_seen(seed_index_dir: Path) -> None:
    with local_server(seed_index_dir, env={"BYLINE_LOG_LEVEL": "warning"}) as server:
        good = loadgen.run(
            server.base_url, search_requests(["Zakharova", "peace talks"], 3), clients=2, seconds=1
        )
        asks = loadgen.run(
            server.base_url,
            [Request("POST", "/ask", {"question": "Who is Zakharova?"})],
            clients=1,
            seconds=1,
        )
        bad = loadgen.run(server.base_url, [Request("GET", "/search?q=")], clients=1, seconds=1)
    assert good.requests > 10
    assert good.failed == 0
    assert 0 < good.median_ms <= good.p95_ms <= good.p99_ms
    assert good.req_per_s > 5
    assert asks.requests > 0
    assert asks.failed == 0
    # An empty query is a 422: every request of that run counts as failed.
    assert bad.requests > 0
    assert bad.failed == bad.requests


def test_cpu_seconds_of_a_process_grow_with_the_work_it_does() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.1
