"""HTTP load from `wrk`, a C load generator, so the client costs the 2-core machine little.

Each request comes from a list (method, path, JSON body) cycled by every connection, so a
cache on the server sees as many distinct queries as the list holds. The Lua script hands
the percentiles back as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = r"""
local requests = {}
local next_request = 0

function init(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    local headers = {}
    if body ~= "" then
      headers["Content-Type"] = "application/json"
    else
      body = nil
    end
    requests[#requests + 1] = wrk.format(method, path, headers, body)
  end
  next_request = math.random(#requests)
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.stderr:write(string.format(
    '{"requests": %d, "seconds": %f, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with its query string, already URL-encoded
    body: dict[str, object] | None = None


@dataclass(frozen=True)
class LoadResult:
    clients: int
    requests: int
    req_per_s: float
    median_ms: float
    p95_ms: float
    p99_ms: float
    failed: int


def ensure_wrk() -> str:
    """The path of `wrk`, installed from Debian's packages if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("wrk is not installed; run `sudo apt-get install wrk`")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return found


def run(base_url: str, requests: Sequence[Request], *, clients: int, seconds: float) -> LoadResult:
    """`clients` connections (one wrk thread per core at most) for `seconds`."""
    wrk = ensure_wrk()
    threads = max(1, min(clients, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="byline-wrk-") as tmp:
        script, listing = Path(tmp) / "cycle.lua", Path(tmp) / "requests.tsv"
        script.write_text(_SCRIPT)
        listing.write_text(
            "".join(
                f"{r.method}\t{r.path}\t{json.dumps(r.body) if r.body is not None else ''}\n"
                for r in requests
            )
        )
        completed = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{clients}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                base_url,
                "--",
                str(listing),
            ],
            capture_output=True,
            text=True,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    stats = json.loads(completed.stderr.strip().splitlines()[-1])
    return LoadResult(
        clients=clients,
        requests=stats["requests"],
        req_per_s=stats["requests"] / stats["seconds"],
        median_ms=stats["p50_us"] / 1000,
        p95_ms=stats["p95_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        failed=stats["errors"] + stats["non_2xx"],
    )
