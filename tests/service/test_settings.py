from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import ConfigurationError, load_settings


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
