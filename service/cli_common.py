"""What every `byline` command shares: options, settings, the index, and how to fail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from index.archive_db import DATABASE
from index.embedding import Embedder
from index.engine import NewsIndex
from index.errors import BylineError
from index.migration import has_format_2
from service import logs
from service.settings import ConfigurationError, Settings, load_settings

if TYPE_CHECKING:
    from service.state import ServiceState

IndexDirOption = Annotated[
    Path | None, typer.Option("--index-dir", help="Index directory [env: BYLINE_INDEX_DIR].")
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="Embedding model path or id [env: BYLINE_MODEL].")
]
AfterOption = Annotated[
    str | None, typer.Option("--after", help="Only articles published on or after (ISO date).")
]
BeforeOption = Annotated[
    str | None, typer.Option("--before", help="Only articles published before (ISO date).")
]
PublisherOption = Annotated[
    list[str] | None, typer.Option("--publisher", help="Only this publisher (repeatable).")
]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def settings_from(**overrides: object) -> Settings:
    """Settings from the environment and these flags; a bad value exits with code 2."""
    try:
        settings = load_settings(**overrides)
    except ConfigurationError as exc:
        fail(str(exc), code=2)
    logs.configure(settings.log_level, settings.log_format)
    return settings


def load_embedder(settings: Settings) -> Embedder:
    try:
        return settings.load_embedder()
    except BylineError as exc:
        fail(str(exc))


def open_index(settings: Settings, *, must_exist: bool = False) -> NewsIndex:
    """The configured index, through the one `IndexConfig` every command uses."""
    config = settings.index_config()
    if must_exist and config.backend == "embedded" and not exists(config.index_dir):
        fail(f"no index in {config.index_dir}; build one with `byline index`")
    try:
        return NewsIndex.open(config, load_embedder(settings))
    except (BylineError, ConfigurationError, ValueError) as exc:
        fail(str(exc))


def exists(index_dir: Path) -> bool:
    """Is there an index (of this format or the one before) in `index_dir`?"""
    return (index_dir / DATABASE).is_file() or has_format_2(index_dir)


@contextmanager
def loaded_state(settings: Settings) -> Iterator[ServiceState]:
    """The model and index loaded as the service loads them (the answerer too), closed after."""
    from service.state import ServiceState

    state = ServiceState(settings)
    state.load()
    if state.error is not None:
        fail(str(state.error))
    try:
        yield state
    finally:
        state.close()
