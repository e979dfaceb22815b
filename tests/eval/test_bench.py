from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval import ask_bench, bench
from eval.localserver import local_server
from tests.conftest import SEEDS


@pytest.mark.slow
def test_a_short_bench_fills_every_row_and_sees_no_failure() -> None:
    report = bench.run([SEEDS], queries=10, seconds=1)
    assert report.passages > 0
    assert report.raw_embed_ms_median > 0
    assert len(report.raw_embed_ms_passes) == bench.PAIRED_RUNS + 1
    assert len(report.search_to_raw) == bench.PAIRED_RUNS
    assert report.raw_encoder_passages_per_s > 0
    assert report.start_to_ready_s > 0
    assert report.rss_ready_mb > 100
    assert set(report.byline.latency) >= {
        "GET /search",
        "POST /ask",
        "GET /health (the HTTP floor)",
    }
    assert set(report.byline.throughput) == set(bench.CLIENT_COUNTS)
    assert report.byline.ask_throughput is not None
    assert set(report.byline.cpu_ms_per_request) == set(bench.CLIENT_COUNTS)
    assert all(cpu > 0 for cpu in report.byline.cpu_ms_per_request.values())
    assert all(r.requests > 0 for r in report.byline.latency.values())
    table = bench.render(report)
    assert re.search(r"\| failed requests \(errors, non-2xx\) +\| 0 \|", table), table
    assert "GET /search median / raw embedding median" in table
    assert "GET /search, 8 clients: server CPU per request" in table


@pytest.mark.slow
def test_bench_ask_times_every_labelled_question_at_one_and_eight_clients() -> None:
    report = ask_bench.measure([SEEDS], seconds=1)
    assert report.questions == len(ask_bench.questions()) >= 100
    assert [r.clients for r in report.results] == [1, 8]
    assert all(r.requests > 0 and r.failed == 0 for r in report.results)
    table = ask_bench.render(report)
    assert "| clients | requests/s | median ms | p95 ms | p99 ms | failed |" in table


@pytest.mark.slow
def test_with_a_peer_both_servers_take_turns_under_the_search_load(tmp_path: Path) -> None:
    # A second Byline server, over an empty index, stands in for the peer.
    with local_server(tmp_path / "peer-index", env={"BYLINE_QUERY_CACHE": "0"}) as peer:
        report = bench.run(
            [SEEDS],
            queries=10,
            seconds=2,
            peer_url=peer.base_url,
            peer_search="/search?q={q}&k=5",
            peer_pid=peer.process.pid,
        )
    assert report.peer is not None
    for load in (report.byline, report.peer):
        assert {c: len(turns) for c, turns in load.throughput.items()} == dict.fromkeys(
            bench.CLIENT_COUNTS, 2
        )
        assert all(r.requests > 0 for turns in load.throughput.values() for r in turns)
    table = bench.render(report)
    assert re.search(r"\| peer search, 8 clients +\| [\d.]+ req/s \(turns ", table), table
    assert re.search(r"\| peer failed requests \(errors, non-2xx\) +\| 0 \|", table), table
