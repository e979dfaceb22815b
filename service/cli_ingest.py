"""`byline ingest` and `byline watch`: news in from web pages, feeds, sitemaps and saved HTML."""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from index.engine import NewsIndex
from index.ingest import Outcome, Progress, WebIngest
from index.watch import STATE_FILE, Watcher
from index.web import Fetcher
from service.cli_common import IndexDirOption, ModelOption, fail, open_index, settings_from

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

AllowPrivateOption = Annotated[
    bool | None,
    typer.Option(
        "--allow-private/--no-allow-private",
        help="Fetch from private and loopback addresses [env: BYLINE_FETCH_ALLOW_PRIVATE].",
    ),
]


def parse_duration(text: str) -> float:
    """'15m', '90s', '2h', '1d' or plain seconds, to seconds (at least 10)."""
    match = _DURATION.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r}: give a duration such as 90s, 15m, 2h or 1d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 10:
        raise typer.BadParameter(f"{text!r}: poll at most every 10 seconds")
    return seconds


@contextmanager
def _progress_bar(label: str) -> Iterator[Progress]:
    """A progress bar on a terminal (click draws nothing elsewhere)."""
    with typer.progressbar(length=1, label=label) as progress:

        def update(done: int, total: int) -> None:
            progress.length = max(total, 1)
            progress.update(done - progress.pos)

        yield update


def _log_progress(done: int, total: int) -> None:
    if done == total or done % 20 == 0:
        log.info("articles fetched: %d of %d", done, total)


def _report(outcomes: Sequence[Outcome], index: NewsIndex) -> int:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status == "failed":
            typer.secho(f"failed: {outcome.error}", err=True, fg=typer.colors.YELLOW)
        elif outcome.status == "duplicate":
            typer.echo(f"duplicate: {outcome.source} is {outcome.duplicate_of}")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing"
    view = index.view()
    typer.echo(
        f"{summary}: {view.document_count} documents, {view.passage_count} passages in "
        f"{index.where}"
    )
    return counts.get("failed", 0)


def ingest_command(
    sources: Annotated[
        list[str],
        typer.Argument(help="Article URLs, RSS/Atom feeds, sitemaps, HTML files or folders."),
    ],
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    allow_private: AllowPrivateOption = None,
) -> None:
    """Fetch and index news from the web or saved pages; failures are listed, the rest kept."""
    settings = settings_from(index_dir=index_dir, model=model, fetch_allow_private=allow_private)
    index = open_index(settings)
    try:
        with Fetcher(settings.fetch_policy()) as fetcher, _progress_bar("ingesting") as bar:
            outcomes = WebIngest(index, fetcher).ingest(sources, progress=bar)
        failed = _report(outcomes, index)
    finally:
        index.close()
    if failed and failed == len(outcomes):
        raise typer.Exit(1)


def watch_command(
    feeds: Annotated[list[str], typer.Argument(help="RSS or Atom feeds, or sitemaps, to poll.")],
    every: Annotated[str, typer.Option(help="How often to poll: 90s, 15m, 2h.")] = "15m",
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    allow_private: AllowPrivateOption = None,
    state_file: Annotated[
        Path | None,
        typer.Option(help=f"Poll state [default: {STATE_FILE} in the index directory]."),
    ] = None,
) -> None:
    """Poll feeds and index what is new, until stopped (Ctrl-C or SIGTERM)."""
    seconds = parse_duration(every)
    settings = settings_from(index_dir=index_dir, model=model, fetch_allow_private=allow_private)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    index = open_index(settings)
    state = state_file or settings.index_config().index_dir / STATE_FILE
    try:
        with Fetcher(settings.fetch_policy()) as fetcher:
            watcher = Watcher(WebIngest(index, fetcher), state)
            rounds = watcher.run(feeds, seconds, stop, progress=_log_progress)
    except OSError as exc:
        fail(f"cannot keep the poll state in {state}: {exc}")
    finally:
        index.close()
    typer.echo(f"stopped after {rounds} polls")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_command)
    app.command("watch")(watch_command)
