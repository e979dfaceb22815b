from __future__ import annotations

import logging
from pathlib import Path

import pytest

from index.documents import Document
from index.onnx_embedding import LOSSLESS_INT8, int8_variant
from service import settings as settings_module
from service.settings import ConfigurationError, load_settings
from tests.conftest import IndexFactory
from tests.cpuinfo import CPUINFO_AVX2, CPUINFO_VNNI


def test_environment_is_read_with_the_byline_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLINE_INDEX_DIR", "/srv/byline/index")
    monkeypatch.setenv("BYLINE_PORT", "9000")
    settings = load_settings()
    assert settings.index_dir == Path("/srv/byline/index")
    assert settings.port == 9000


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLINE_PORT", "9000")
    assert load_settings(port=9100, host=None).port == 9100


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLINE_PORT", "70000")
    with pytest.raises(ConfigurationError, match=r"BYLINE_PORT='70000'.*65535"):
        load_settings()


def test_a_bad_flag_names_the_flag() -> None:
    with pytest.raises(ConfigurationError, match="--port=0"):
        load_settings(port=0)


def test_impossible_chunking_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLINE_CHUNK_OVERLAP_TOKENS", "200")
    with pytest.raises(ConfigurationError, match="BYLINE_CHUNK"):
        load_settings().chunking(254)


@pytest.mark.parametrize(
    ("cpuinfo", "lossless", "expected"),
    [
        (CPUINFO_VNNI, frozenset(), "fp32"),  # a kind not measured lossless
        (CPUINFO_AVX2, frozenset(), "fp32"),
        (CPUINFO_VNNI, frozenset({"vnni"}), "int8"),  # as measured for recipe 3
        (CPUINFO_AVX2, frozenset({"vnni"}), "fp32"),
        (CPUINFO_VNNI, LOSSLESS_INT8, "int8"),  # the table as shipped
        (CPUINFO_AVX2, LOSSLESS_INT8, "fp32"),
    ],
)
def test_auto_precision_follows_the_cpu_and_is_logged(
    cpuinfo: str,
    lossless: frozenset[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    faked = tmp_path / "cpuinfo"
    faked.write_text(cpuinfo, encoding="utf-8")
    monkeypatch.setattr(settings_module, "int8_variant", lambda: int8_variant(faked))
    monkeypatch.setattr(settings_module, "LOSSLESS_INT8", lossless)
    monkeypatch.delenv("BYLINE_EMBED_PRECISION", raising=False)
    settings = load_settings(index_dir=tmp_path / "none")
    assert settings.embed_precision == "auto"
    with caplog.at_level(logging.INFO, logger="service.settings"):
        assert settings.precision() == expected
    assert f"embedding precision {expected}: auto on a CPU of kind" in caplog.text


def test_auto_precision_follows_an_existing_index(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_index: IndexFactory,
    seed_documents: list[Document],
) -> None:
    """An index built in fp32 still opens where auto would pick int8 for a new one."""
    faked = tmp_path / "cpuinfo"
    faked.write_text(CPUINFO_VNNI, encoding="utf-8")
    monkeypatch.setattr(settings_module, "int8_variant", lambda: int8_variant(faked))
    monkeypatch.setattr(settings_module, "LOSSLESS_INT8", frozenset({"vnni"}))
    index = make_index(index_dir=tmp_path / "index")
    index.upsert(seed_documents[:1])
    index.close()
    assert load_settings(index_dir=tmp_path / "index", embed_precision="auto").precision() == "fp32"
    assert load_settings(index_dir=tmp_path / "index", embed_precision="int8").precision() == "int8"


def test_int8_needs_onnx_but_auto_does_not() -> None:
    with pytest.raises(ConfigurationError, match="BYLINE_EMBED_PRECISION=int8 needs"):
        load_settings(embed_precision="int8", embed_backend="torch")
    assert load_settings(embed_precision="auto", embed_backend="torch").precision() == "fp32"


def test_parallel_model_calls_are_read_and_zero_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().embed_parallel == 1
    monkeypatch.setenv("BYLINE_EMBED_PARALLEL", "2")
    assert load_settings().embed_parallel == 2
    monkeypatch.setenv("BYLINE_EMBED_PARALLEL", "0")
    with pytest.raises(ConfigurationError, match="BYLINE_EMBED_PARALLEL='0'"):
        load_settings()
