"""One index configuration: a setting means the same in the service, every CLI command and
the evaluation code, because each builds its index from `Settings.index_config()`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from index.config import IndexConfig, MilvusConfig
from index.embedding import Embedder
from index.engine import NewsIndex
from index.errors import IndexConfigError
from service.settings import Settings
from service.state import ServiceState
from tests.conftest import SEEDS


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> list[IndexConfig]:
    """Every configuration an index is opened with, while BYLINE_INDEX_KIND=ivf and
    BYLINE_IVF_NPROBE=7 are set; the packaged model is shared to keep it quick."""
    seen: list[IndexConfig] = []
    original = NewsIndex.open.__func__  # type: ignore[attr-defined]

    def recording(cls: type[NewsIndex], config: IndexConfig, with_embedder: Embedder) -> Any:
        seen.append(config)
        return original(cls, config, with_embedder)

    monkeypatch.setattr(NewsIndex, "open", classmethod(recording))
    monkeypatch.setattr(Settings, "load_embedder", lambda self: embedder)
    monkeypatch.setenv("BYLINE_INDEX_KIND", "ivf")
    monkeypatch.setenv("BYLINE_IVF_NPROBE", "7")
    return seen


def _honoured(config: IndexConfig) -> bool:
    return config.store.kind == "ivf" and config.store.nprobe == 7


def test_the_service_uses_the_index_kind(opened: list[IndexConfig], tmp_path: Path) -> None:
    state = ServiceState(Settings(index_dir=tmp_path / "index"))
    state.load()
    state.close()
    assert opened
    assert all(_honoured(c) for c in opened)


def test_every_cli_command_uses_the_index_kind(opened: list[IndexConfig], tmp_path: Path) -> None:
    from service.cli import app

    index_dir = str(tmp_path / "index")
    runner = CliRunner()
    for args in (
        ["index", str(SEEDS), "--index-dir", index_dir],
        ["search", "Zakharova", "--index-dir", index_dir],
        ["ask", "what did Zakharova say", "--index-dir", index_dir],
    ):
        before = len(opened)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert len(opened) > before, args
    assert all(_honoured(c) for c in opened)


def test_the_evaluation_uses_the_index_kind(opened: list[IndexConfig]) -> None:
    from eval import runner
    from index.fusion import Mode

    runner.run_seed(Settings(), Settings().load_embedder(), [Mode.HYBRID])
    assert opened
    assert all(_honoured(c) for c in opened)


def test_index_config_maps_every_index_setting(tmp_path: Path) -> None:
    settings = Settings(
        index_dir=tmp_path,
        chunk_target_tokens=80,
        chunk_overlap_tokens=10,
        fusion="rrf",
        dense_weight=0.4,
        duplicate_cosine=0.95,
        query_cache=7,
        index_kind="flat",
        ivf_threshold=1234,
    )
    config = settings.index_config()
    assert (config.index_dir, config.target_tokens, config.overlap_tokens) == (tmp_path, 80, 10)
    assert (config.search.fusion.method, config.search.fusion.dense_weight) == ("rrf", 0.4)
    assert (config.search.duplicate_cosine, config.search.query_cache) == (0.95, 7)
    assert (config.store.kind, config.store.ivf_threshold) == ("flat", 1234)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_storage_backend_not_built_here_is_refused_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in the Docker image, which has no Milvus client.
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    monkeypatch.delitem(sys.modules, "index.milvus_archive", raising=False)
    monkeypatch.delitem(sys.modules, "index.milvus_view", raising=False)
    config = IndexConfig(
        index_dir=tmp_path, backend="milvus", milvus=MilvusConfig(uri=str(tmp_path / "m.db"))
    )
    with pytest.raises(IndexConfigError, match="BYLINE_STORE=embedded"):
        config.open_archive(384)
