"""Peers `byline bench` can start itself and put the same search load on: txtai's API, from
its own virtualenv, over the same articles with the same packaged model."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from eval.localserver import free_port

TXTAI_SCRIPT = Path(__file__).parent / "peers" / "txtai" / "serve.py"
TXTAI_PYTHON = Path(__file__).resolve().parents[1] / ".venv-txtai" / "bin" / "python"
"""Made by `make peer-txtai`: txtai[api] and torch (CPU) pinned by constraints.txt."""


@dataclass(frozen=True)
class PeerServer:
    name: str
    base_url: str
    search: str
    """The peer's search path; {q} is replaced by the URL-encoded query."""
    pid: int


@contextmanager
def txtai_server(
    seeds: Path, *, python: Path = TXTAI_PYTHON, timeout: float = 300
) -> Iterator[PeerServer]:
    """Index `seeds` with txtai and serve its API on a free loopback port until the block ends."""
    if not python.is_file():
        raise RuntimeError(
            f"no txtai virtualenv at {python}; run `make peer-txtai` to create .venv-txtai"
        )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile(prefix="byline-peer-", suffix=".log") as log:
        process = subprocess.Popen(
            [str(python), str(TXTAI_SCRIPT), "--seeds", str(seeds), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(process, f"{base_url}/search?query=warm&limit=1", Path(log.name), timeout)
            yield PeerServer("txtai", base_url, "/search?query={q}&limit=5", process.pid)
        finally:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    started = time.perf_counter()
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the txtai peer exited with {process.returncode}: {tail}")
        with suppress(httpx.TransportError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the txtai peer did not answer {url} within {timeout} s")
        time.sleep(0.2)
