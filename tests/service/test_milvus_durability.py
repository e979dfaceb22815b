"""Kill the Milvus server (SIGKILL) while `byline serve` writes through it: every acknowledged
write survives the restart, Byline answers 503 naming BYLINE_MILVUS_URI while Milvus is
down, and serves again when it is back, without being restarted itself."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from eval.localserver import local_server
from tests.milvus import MilvusServer, collection_name

KILLS = 3


def _document_ids(base_url: str) -> set[str]:
    response = httpx.get(f"{base_url}/documents", params={"limit": 500}, timeout=30)
    assert response.status_code == 200, response.text
    listing = response.json()
    assert listing["count"] < 500
    return {d["doc_id"] for d in listing["data"]}


def _wait_ready(base_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{base_url}/ready", timeout=30).status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"Byline did not recover within {timeout} s")


@pytest.mark.slow
def test_killing_milvus_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    milvus = MilvusServer(tmp_path / "milvus")
    milvus.start()
    env = {
        "BYLINE_STORE": "milvus",
        "BYLINE_MILVUS_URI": milvus.uri,
        "BYLINE_MILVUS_COLLECTION": collection_name(),
        "BYLINE_MILVUS_TIMEOUT_SECONDS": "2",
    }
    rng = random.Random(20261201)
    acknowledged: set[str] = set()
    in_flight: set[str] = set()
    try:
        with local_server(tmp_path / "unused", env=env) as byline:
            base = byline.base_url
            for run in range(KILLS):
                stop = threading.Event()
                refused: list[str] = []

                def write(
                    run: int = run, stop: threading.Event = stop, refused: list[str] = refused
                ) -> None:
                    with httpx.Client(base_url=base, timeout=60) as client:
                        for i in range(10_000):
                            if stop.is_set():
                                return
                            doc_id = f"kill-{run}-{i}"
                            in_flight.add(doc_id)
                            text = f"Dispatch {i} of run {run}: shelling near Kupiansk, day {i}."
                            response = client.post("/documents", json={"id": doc_id, "text": text})
                            if response.status_code == 201:
                                acknowledged.add(doc_id)
                                in_flight.discard(doc_id)
                            else:
                                refused.append(response.text)

                writer = threading.Thread(target=write)
                writer.start()
                time.sleep(rng.uniform(1.0, 2.5))
                milvus.kill()
                deadline = time.monotonic() + 30
                while not refused and time.monotonic() < deadline:
                    time.sleep(0.1)
                down = httpx.get(f"{base}/ready", timeout=30)
                stop.set()
                writer.join(timeout=60)
                assert refused, "a write was acknowledged with Milvus down"
                assert down.status_code == 503
                assert down.json()["error"]["code"] == "store_unavailable"
                assert "BYLINE_MILVUS_URI" in down.json()["error"]["message"]
                assert all("BYLINE_MILVUS_URI" in r for r in refused)

                milvus.start()
                _wait_ready(base)
                present = _document_ids(base)
                assert acknowledged <= present, "an acknowledged write was lost"
                assert present <= acknowledged | in_flight, "a write appeared from nowhere"
            assert len(acknowledged) > KILLS
            # Writes work again, and the search sees them.
            assert httpx.post(
                f"{base}/documents", json={"id": "after", "text": "Calm night in Kharkiv."}
            ).is_success
            hits = httpx.get(f"{base}/search", params={"q": "calm night Kharkiv", "k": 1}).json()
            assert hits["results"][0]["source"]["doc_id"] == "after"
    finally:
        milvus.stop()
