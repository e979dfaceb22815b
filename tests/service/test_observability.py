from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory


@pytest.fixture
def client(make_client: ClientFactory, seed_index_dir: Path, tmp_path: Path) -> TestClient:
    shutil.copytree(seed_index_dir, tmp_path / "index")
    return make_client(tmp_path / "index")


def test_metrics_count_requests_per_endpoint_and_report_the_index(client: TestClient) -> None:
    for _ in range(3):
        client.get("/search", params={"q": "Kursk"})
    client.get("/search", params={"q": ""})
    text = client.get("/metrics").text
    assert "byline_index_documents 5.0" in text
    assert "byline_index_passages" in text
    assert "byline_model_load_seconds" in text
    assert 'handler="/search",method="GET",status="200"} 3.0' in text
    assert 'handler="/search",method="GET",status="422"} 1.0' in text
    assert 'byline_http_request_duration_seconds_bucket{handler="/search"' in text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/health").headers["x-request-id"]
    assert len(made) == 32


def test_each_request_is_logged_with_its_id_and_never_its_body(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "an article text that must not reach the logs"
    with caplog.at_level(logging.INFO, logger="byline.access"):
        client.post(
            "/documents", json={"id": "log-1", "text": secret}, headers={"X-Request-ID": "r-9"}
        )
    records = [r for r in caplog.records if r.name == "byline.access"]
    assert records
    fields = vars(records[-1])
    assert fields["request_id"] == "r-9"
    assert fields["status"] == 201
    assert fields["path"] == "/documents"
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_metrics_name_unmatched_paths_none_and_leave_out_their_own_endpoint(
    client: TestClient,
) -> None:
    client.get("/no/such/path")
    client.get("/metrics")
    client.get("/health")
    text = client.get("/metrics").text
    assert 'handler="none",method="GET",status="404"} 1.0' in text
    assert 'handler="/metrics"' not in text
    assert 'byline_http_response_size_bytes_count{handler="/health"} 1.0' in text
