"""What the serving process loads and whom it talks to: checked on a real `byline serve`."""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

import httpx
import pytest

from eval.localserver import LocalServer, local_server


def _mapped_libraries(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {Path(line.split()[-1]).name for line in maps.splitlines() if ".so" in line}


def test_serving_loads_onnxruntime_and_not_torch(live_server: LocalServer) -> None:
    found = httpx.get(f"{live_server.base_url}/search", params={"q": "Kursk"}, timeout=30)
    assert found.status_code == 200
    libraries = _mapped_libraries(live_server.process.pid)
    assert any(name.startswith("libonnxruntime") for name in libraries), sorted(libraries)
    torch_libraries = sorted(name for name in libraries if name.startswith("libtorch"))
    assert not torch_libraries, torch_libraries


# strace prints sin_addr=inet_addr("10.0.0.2") and inet_pton(AF_INET6, "::1", &sin6_addr).
_ADDRESS = re.compile(r'(?:sin_addr=inet_addr\(|inet_pton\(AF_INET6, )"([^"]+)"')


def _outside_addresses(trace: str) -> list[str]:
    """Internet addresses the traced process connected or sent to, loopback excepted."""
    outside = []
    for line in trace.splitlines():
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        for address in _ADDRESS.findall(line):
            if not ipaddress.ip_address(address).is_loopback:
                outside.append(line)
    return outside


def test_the_trace_reader_sees_outside_addresses() -> None:
    trace = "\n".join(
        [
            "7 connect(3, {sa_family=AF_INET, sin_port=htons(53), "
            'sin_addr=inet_addr("10.0.0.2")}, 16) = -1 ENETUNREACH',
            '7 sendto(4, "x", 1, 0, {sa_family=AF_INET6, sin6_port=htons(443), '
            'sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr)}, 28) = 1',
            "7 connect(5, {sa_family=AF_INET, sin_port=htons(8000), "
            'sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        ]
    )
    assert len(_outside_addresses(trace)) == 2


@pytest.mark.slow
def test_serving_makes_no_outside_connection_and_no_telemetry(
    seed_index_dir: Path, tmp_path: Path
) -> None:
    strace = shutil.which("strace")
    assert strace, "strace is needed for this test; `make install-tools` installs it"
    trace_file = tmp_path / "trace.txt"
    wrapper = [strace, "-f", "-qq", "-e", "trace=%network,openat", "-o", str(trace_file)]
    with local_server(seed_index_dir, wrapper=wrapper) as server:
        for query in ["Zakharova", "peace talks", "Kursk incursion"]:
            response = httpx.get(f"{server.base_url}/search", params={"q": query}, timeout=30)
            assert response.status_code == 200
    trace = trace_file.read_text(errors="replace")
    # The trace saw the server's own loopback traffic, so it was really watching.
    assert "127.0.0.1" in trace
    assert _outside_addresses(trace) == []
    # Without ORT_DISABLE_TELEMETRY, onnxruntime 1.31 opens its telemetry store here.
    assert "Microsoft/DeveloperTools" not in trace
