from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from eval import peer
from tests.conftest import SEEDS


def _serve_script() -> ModuleType:
    """The peer's script, loaded without running it (it imports txtai only in main)."""
    spec = importlib.util.spec_from_file_location("txtai_serve", peer.TXTAI_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_txtai_peer_indexes_every_paragraph_of_the_seed_articles() -> None:
    paragraphs = _serve_script().paragraphs(SEEDS)
    lines = [
        line.strip()
        for article in sorted(SEEDS.glob("*.txt"))
        for line in article.read_text(encoding="utf-8").splitlines()
    ]
    assert paragraphs == [line for line in lines if line]
    assert all(paragraphs)


def test_a_missing_txtai_virtualenv_says_how_to_make_it(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="make peer-txtai"),
        peer.txtai_server(SEEDS, python=tmp_path / "python"),
    ):
        pass


@pytest.mark.slow
@pytest.mark.skipif(
    not peer.TXTAI_PYTHON.is_file(), reason="no .venv-txtai: `make peer-txtai` creates it"
)
def test_the_txtai_peer_serves_searches_over_the_seeds_until_the_block_ends() -> None:
    with peer.txtai_server(SEEDS) as server:
        url = server.base_url + server.search.replace("{q}", "peace%20talks")
        results = httpx.get(url, timeout=30).json()
        assert len(results) == 5
        assert all(r["text"] for r in results)
    with pytest.raises(httpx.TransportError):
        httpx.get(server.base_url + "/search?query=x", timeout=2)
