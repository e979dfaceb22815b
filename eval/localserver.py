"""Run a real `byline serve` process on a free loopback port (benchmarks and tests)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class LocalServer:
    process: subprocess.Popen[bytes]
    base_url: str
    seconds_to_ready: float
    log: Path
    """The server's stderr: a file, never a pipe, so a chatty server cannot block on it."""

    def rss_mb(self) -> float:
        """Resident memory of the server process."""
        return rss_mb(self.process.pid)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system, all threads) a process has used, from /proc (Linux)."""
    # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def local_server(
    index_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    wrapper: Sequence[str] = (),
) -> Iterator[LocalServer]:
    """Start the service on 127.0.0.1, wait until /ready answers 200, stop it afterwards.

    `wrapper` runs the server under another command (e.g. strace); the whole process group
    is stopped at the end, so a wrapper that would leave the server running cannot.
    """
    port = free_port()
    environment = {**os.environ, "BYLINE_INDEX_DIR": str(index_dir), **(env or {})}
    command = [
        *wrapper,
        sys.executable,
        "-m",
        "service.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log_dir = Path(tempfile.mkdtemp(prefix="byline-server-"))
    log = log_dir / "server.log"
    started = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"server exited with {process.returncode}: {tail}")
            try:
                if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"server not ready after {timeout} s")
            time.sleep(0.02)
        yield LocalServer(process, base_url, time.perf_counter() - started, log)
    finally:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        shutil.rmtree(log_dir, ignore_errors=True)
