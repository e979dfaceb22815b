"""Nothing is lost and nothing is seen half-done: kill -9 during writes, and reads during writes,
against real server processes on 127.0.0.1."""

from __future__ import annotations

import random
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from eval.localserver import local_server

KILLS = 20


def _document_ids(base_url: str) -> set[str]:
    listing = httpx.get(f"{base_url}/documents", params={"limit": 500}, timeout=10).json()
    assert listing["count"] < 500
    return {d["doc_id"] for d in listing["data"]}


@pytest.mark.slow
def test_kill_9_during_writes_loses_no_acknowledged_write(
    seed_index_dir: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index_dir, index_dir)
    rng = random.Random(20241122)
    acknowledged: set[str] = set()
    in_flight: set[str] = set()
    expected = _seed_ids(seed_index_dir)
    survived = 0
    for run in range(KILLS + 1):
        with local_server(index_dir) as server:
            # Every start after the first is a restart after kill -9: the index loaded (the
            # server is ready, so its manifest and checksums passed) and holds what it should.
            present = _document_ids(server.base_url)
            assert acknowledged | expected <= present, "an acknowledged write was lost"
            assert present <= acknowledged | expected | in_flight, "a write appeared from nowhere"
            expected = present  # an in-flight write that did land is now simply present
            acknowledged.clear()
            in_flight.clear()
            survived += run > 0  # a restart after kill -9, checked above
            if run == KILLS:
                break
            stop = threading.Event()
            first = threading.Event()

            def write(
                run: int = run,
                base_url: str = server.base_url,
                stop: threading.Event = stop,
                first: threading.Event = first,
            ) -> None:
                with httpx.Client(base_url=base_url, timeout=30) as client:
                    for i in range(10_000):
                        if stop.is_set():
                            return
                        doc_id = f"crash-{run}-{i}"
                        body = {
                            "id": doc_id,
                            "text": f"Report {i} of run {run}: Kursk, day {i}. " * 20,
                        }
                        in_flight.add(doc_id)
                        try:
                            response = client.post("/documents", json=body)
                        except httpx.TransportError:
                            return  # killed mid-request: the write stays "in flight"
                        if response.status_code == 201:
                            acknowledged.add(doc_id)
                            in_flight.discard(doc_id)
                            first.set()

            writer = threading.Thread(target=write)
            writer.start()
            # The kill lands at a random moment of the write stream, timed from the first
            # acknowledged write: a fresh process's first write (model warm-up) is slower on a
            # busy machine than the shortest delay.
            assert first.wait(timeout=120), "no write was acknowledged within 120 s"
            time.sleep(rng.uniform(0.0, 2.2))
            server.process.kill()  # SIGKILL: no shutdown, no flush
            server.process.wait()
            stop.set()
            writer.join(timeout=30)
    assert survived == KILLS


def _seed_ids(index_dir: Path) -> set[str]:
    return {p.stem for p in (Path(__file__).parents[2] / "seeds").glob("*.txt")}


VERSION_A = "Alpha version. " + " ".join(
    f"Alpha fact {i} about the Sudzha gas station." for i in range(12)
)
VERSION_B = "Bravo version. " + " ".join(
    f"Bravo fact {i} about the Sudzha gas station." for i in range(12)
)


@pytest.mark.slow
def test_searches_during_writes_never_fail_or_see_a_half_applied_change(
    seed_index_dir: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index_dir, index_dir)
    with local_server(index_dir) as server:
        base = server.base_url
        httpx.post(f"{base}/documents", json={"id": "flip", "text": VERSION_A}, timeout=30)
        stop = threading.Event()
        problems: list[str] = []
        searches = [0]
        writes = [0]

        def read() -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop.is_set():
                    response = client.get(
                        "/search", params={"q": "facts about the Sudzha gas station", "k": 10}
                    )
                    searches[0] += 1
                    if response.status_code != 200:
                        problems.append(
                            f"search answered {response.status_code}: {response.text[:200]}"
                        )
                        continue
                    flip = [
                        r["text"]
                        for r in response.json()["results"]
                        if r["source"]["doc_id"] == "flip"
                    ]
                    in_a = [t in VERSION_A for t in flip]
                    in_b = [t in VERSION_B for t in flip]
                    if not (all(in_a) or all(in_b)):
                        problems.append(f"one response mixed versions or quoted neither: {flip}")

        def write(writer: int) -> None:
            with httpx.Client(base_url=base, timeout=30) as client:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    text = VERSION_B if i % 2 == 0 else VERSION_A
                    response = client.post("/documents", json={"id": "flip", "text": text})
                    extra = client.post(
                        "/documents", json={"id": f"extra-{writer}-{i}", "text": f"Extra note {i}."}
                    )
                    gone = client.delete(f"/documents/extra-{writer}-{i}")
                    if (response.status_code, extra.status_code, gone.status_code) != (
                        201,
                        201,
                        204,
                    ):
                        codes = (response.status_code, extra.status_code, gone.status_code)
                        problems.append(f"write failed: {codes}")
                    writes[0] += 1

        threads = [threading.Thread(target=read) for _ in range(6)] + [
            threading.Thread(target=write, args=(w,)) for w in range(2)
        ]
        for thread in threads:
            thread.start()
        time.sleep(8)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert not problems, problems[:5]
        assert searches[0] > 50
        assert writes[0] > 5
        assert "flip" in _document_ids(base)
