"""A real `byline serve` on 127.0.0.1, shared by the tests that talk to it over the network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.localserver import LocalServer, local_server


@pytest.fixture(scope="session")
def live_server(seed_index_dir: Path) -> Iterator[LocalServer]:
    """Read-only: tests against it must not write documents."""
    with local_server(seed_index_dir) as server:
        yield server
