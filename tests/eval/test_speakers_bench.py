from __future__ import annotations

from eval import speakers_bench


def test_the_speakers_bench_writes_through_the_store_and_times_each_read() -> None:
    report = speakers_bench.measure(documents=300, people=40, batch=100)
    # Every synthetic article is one quotation by one named person, found by the extractor.
    assert report.statements == 300
    assert report.write_ms_per_document > 0
    assert len(report.timings_ms) == 5
    assert all(ms >= 0 for ms in report.timings_ms.values())
    table = speakers_bench.render(report)
    assert "| GET /speakers, a page of 20 |" in table
    assert "300 articles, 300 statements" in table
