from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.settings import ConfigurationError, load_settings
from tests.conftest import ClientFactory

DOC = {"id": "sec-1", "text": "The mayor of Sumy opened a shelter on Monday."}


@pytest.fixture
def start(make_client: ClientFactory, seed_index_dir: Path, tmp_path: Path) -> Any:
    """An app on a fresh copy of the seed index, with these settings."""
    count = iter(range(100))

    def make(**settings: Any) -> TestClient:
        index_dir = tmp_path / f"index-{next(count)}"
        shutil.copytree(seed_index_dir, index_dir)
        return make_client(index_dir, **settings)

    return make


def test_writes_need_the_key(start: Any) -> None:
    client = start(api_key="s3cret-key")
    missing = client.post("/documents", json=DOC)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["error"]["code"] == "unauthorized"
    wrong = client.post("/documents", json=DOC, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert client.delete("/documents/000_4669eddcbb62d802").status_code == 401
    right = client.post("/documents", json=DOC, headers={"Authorization": "Bearer s3cret-key"})
    assert right.status_code == 201
    assert client.get("/search", params={"q": "Sumy shelter"}).status_code == 200  # reads open


def test_protected_reads_leave_probes_open(start: Any) -> None:
    client = start(api_key="k", protect_reads=True)
    assert client.get("/search", params={"q": "Kursk"}).status_code == 401
    assert client.post("/ask", json={"question": "Kursk?"}).status_code == 401
    assert client.get("/documents").status_code == 401
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
    authorized = client.get("/search", params={"q": "Kursk"}, headers={"Authorization": "bearer k"})
    assert authorized.status_code == 200


def test_without_a_key_writes_need_loopback(start: Any) -> None:
    exposed = start(host="0.0.0.0")
    refused = exposed.post("/documents", json=DOC)
    assert refused.status_code == 403
    assert "BYLINE_API_KEY" in refused.json()["error"]["message"]
    assert exposed.get("/search", params={"q": "Kursk"}).status_code == 200
    local = start(host="127.0.0.1")
    assert local.post("/documents", json=DOC).status_code == 201


def test_key_can_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file\n")
    monkeypatch.setenv("BYLINE_API_KEY_FILE", str(key_file))
    assert load_settings().key() == "from-a-file"
    key_file.write_text("")
    with pytest.raises(ConfigurationError, match=r"BYLINE_API_KEY_FILE.*empty"):
        load_settings()


def test_rate_limit_answers_429_with_retry_after(start: Any) -> None:
    client = start(rate_limit="3/minute")
    codes = [client.get("/search", params={"q": "Kursk"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/documents")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["error"]["code"] == "rate_limited"
    assert client.get("/health").status_code == 200  # probes are not limited


def test_bad_rate_limit_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLINE_RATE_LIMIT", "lots")
    with pytest.raises(ConfigurationError, match="BYLINE_RATE_LIMIT"):
        load_settings()


def _openai_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None
    return error


def test_middleware_refusals_under_v1_have_the_openai_shape(start: Any) -> None:
    """401, 403, 413 and 429 come from middleware, before any route: one error writer."""
    chat = {"model": "byline", "messages": [{"role": "user", "content": "Kursk?"}]}
    client = start(api_key="k", protect_reads=True, max_body_bytes=2048, rate_limit="3/minute")
    assert _openai_error(client.post("/v1/chat/completions", json=chat), 401)["code"] == (
        "unauthorized"
    )
    wrong = client.post("/v1/chat/completions", json=chat, headers={"Authorization": "Bearer x"})
    assert _openai_error(wrong, 403)["code"] == "forbidden"
    big = {**chat, "messages": [{"role": "user", "content": "x" * 4000}]}
    too_big = client.post("/v1/chat/completions", json=big, headers={"Authorization": "Bearer k"})
    assert _openai_error(too_big, 413)["code"] == "body_too_large"
    limited = [client.get("/v1/models", headers={"Authorization": "Bearer k"}) for _ in range(4)]
    assert _openai_error(limited[-1], 429)["code"] == "rate_limited"
    # Outside /v1/ the same refusals keep Byline's shape.
    assert set(client.get("/documents").json()["error"]) == {"code", "message"}
