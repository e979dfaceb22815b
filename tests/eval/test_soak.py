from __future__ import annotations

import pytest

from eval import soak
from tests.conftest import SEEDS


@pytest.mark.slow
def test_a_short_soak_sees_no_errors_and_keeps_every_write() -> None:
    report = soak.run(SEEDS, seconds=6, clients=4)
    assert report.requests > 20
    assert report.unexpected == {}
    assert report.writes_acknowledged > 0
    assert report.writes_missing_at_end == 0
    assert set(report.latency_ms) >= {"search", "ask"}
    assert report.rss_mb
    assert all(mb > 100 for _, mb in report.rss_mb)
