"""The `byline` command: build the index, serve it, search it, ask it.

The evaluation commands (eval, bench, scale, soak, chunk-sweep) live in eval/cli.py and are
mounted here through the `byline.commands` entry point where eval/ is installed; the service
never imports them, and the Docker image, which ships without eval/, does not list them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from index.documents import load_documents
from index.engine import Change, NewsIndex
from index.errors import BylineError
from index.fusion import Mode
from service import application, cli_ingest
from service.cli_common import (
    AfterOption,
    BeforeOption,
    IndexDirOption,
    ModelOption,
    PublisherOption,
    exists,
    fail,
    loaded_state,
    open_index,
    settings_from,
)
from service.errors import ServiceError
from service.schemas import AskRequest, SearchRequest, StatementsRequest

TargetT = TypeVar("TargetT")
RequestT = TypeVar("RequestT", bound=BaseModel)
ResponseT = TypeVar("ResponseT")

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Byline: semantic search over news articles, with exact source attribution.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("index")
def index_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders of articles [default: BYLINE_SEEDS_DIR, seeds/]."),
    ] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
    rebuild: Annotated[bool, typer.Option(help="Start from an empty index.")] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if an index already exists.")
    ] = False,
    prune: Annotated[
        bool, typer.Option(help="Delete indexed documents that are not in PATHS.")
    ] = False,
) -> None:
    """Index articles: add new ones, replace changed ones; unchanged ones are not re-embedded."""
    settings = settings_from(index_dir=index_dir, model=model)
    config = settings.index_config()
    if if_missing and config.backend == "embedded" and exists(config.index_dir):
        typer.echo(f"an index already exists in {config.index_dir}; nothing to do")
        return
    started = time.perf_counter()
    try:
        documents = load_documents(paths or [settings.seeds_dir])
    except BylineError as exc:
        fail(str(exc))
    if rebuild and config.backend == "embedded":
        from index.embedded import remove_archive
        from index.migration import remove_format_2

        remove_archive(config.index_dir)
        remove_format_2(config.index_dir)
    if rebuild and config.backend == "milvus" and config.milvus is not None:
        from index.milvus_archive import drop_milvus_archive

        try:
            drop_milvus_archive(config.milvus)
        except BylineError as exc:
            fail(str(exc))
    index = open_index(settings)
    try:
        results = index.upsert(documents, progress=sys.stderr.isatty())
        pruned = 0
        if prune:
            keep = {d.doc_id for d in documents}
            for indexed in index.documents():
                if indexed.document.doc_id not in keep:
                    index.delete(indexed.document.doc_id)
                    pruned += 1
        view = index.view()
        # Read before closing: a Milvus view asks the server.
        totals = (view.document_count, view.passage_count)
    except BylineError as exc:
        fail(str(exc))
    finally:
        index.close()
    counts = {change: sum(r.change == change for r in results) for change in Change}
    summary = ", ".join(f"{n} {change.value}" for change, n in counts.items() if n)
    typer.echo(
        f"indexed {len(documents)} documents ({summary}{f', {pruned} pruned' if pruned else ''}): "
        f"{totals[0]} documents, {totals[1]} passages in "
        f"{index.where} [{time.perf_counter() - started:.1f} s]"
    )


cli_ingest.register(app)


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Listen address [env: BYLINE_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: BYLINE_PORT].")] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Serve the search page (/) and the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from service.app import create_app

    settings = settings_from(host=host, port=port, index_dir=index_dir, model=model)
    # Our logging set-up stays in charge (log_config=None); requests are logged by the app.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
    )


def _reader(text: str, index_dir: Path | None, model: str | None) -> NewsIndex:
    if not text.strip():
        fail("the text is empty; give a question or keywords", code=2)
    return open_index(settings_from(index_dir=index_dir, model=model), must_exist=True)


def _through_core(
    call: Callable[[TargetT, RequestT], ResponseT],
    target: TargetT,
    request_type: type[RequestT],
    **fields: Any,
) -> ResponseT:
    """The command's arguments as a typed request through the one path to the core
    (service/application.py); a refusal ends the command with its message (exit 2)."""
    try:
        return call(target, application.make(request_type, **fields))
    except ServiceError as exc:
        fail(exc.message, code=2)


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="The question, in plain language.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Passages to return.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON response.")] = False,
    mode: Annotated[
        Mode | None, typer.Option(help="dense, bm25 or hybrid [env: BYLINE_SEARCH_MODE].")
    ] = None,
    after: AfterOption = None,
    before: BeforeOption = None,
    publisher: PublisherOption = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Search the index from the command line."""
    index = _reader(query, index_dir, model)
    try:
        response = _through_core(
            application.search,
            index,
            SearchRequest,
            query=query,
            k=k,
            mode=mode,
            published_after=after,
            published_before=before,
            publisher=publisher,
        )
    finally:
        index.close()
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
        return
    for result in response.results:
        source = result.source
        title = source.title or source.doc_id
        when = f", {source.published}" if source.published else ""
        typer.secho(f"{result.rank}. [{result.score:.3f}] {title}{when}", bold=True)
        typer.echo(f"   {source.doc_id} chars {source.char_start}-{source.char_end}")
        typer.echo("   " + result.text.replace("\n", " ") + "\n")


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help="A question about the news.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Passages to draw on.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON response.")] = False,
    after: AfterOption = None,
    before: BeforeOption = None,
    publisher: PublisherOption = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Answer a question with quotes from the indexed articles."""
    settings = settings_from(index_dir=index_dir, model=model)
    if not question.strip():
        fail("the text is empty; give a question", code=2)
    with loaded_state(settings) as state:
        response = _through_core(
            application.ask,
            state,
            AskRequest,
            question=question,
            k=k,
            published_after=after,
            published_before=before,
            publisher=publisher,
        ).response()
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
        return
    if not response.answerable:
        typer.echo(f"The articles do not answer this (confidence {response.confidence:.2f}).")
        return
    typer.echo(f"{response.answer}\n")
    for number, citation in enumerate(response.citations, start=1):
        title = citation.title or citation.doc_id
        span = f"chars {citation.char_start}-{citation.char_end}"
        typer.echo(f"[{number}] {title} ({citation.doc_id}, {span})")


@app.command("said")
def said_command(
    speaker: Annotated[str, typer.Argument(help="Full name or surname, or an organisation.")],
    about: Annotated[str | None, typer.Option(help="Only what they said about this.")] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Statements.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON response.")] = False,
    after: AfterOption = None,
    before: BeforeOption = None,
    publisher: PublisherOption = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """What a person or organisation said, quoted from the indexed articles."""
    settings = settings_from(index_dir=index_dir, model=model)
    with loaded_state(settings) as state:
        response = _through_core(
            application.statements,
            state,
            StatementsRequest,
            speaker=speaker,
            q=about,
            k=k,
            published_after=after,
            published_before=before,
            publisher=publisher,
        )
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
        return
    if response.speaker is None:
        typer.echo(f"No statements by {speaker} in the indexed articles.")
        return
    role = f" ({response.speaker.description})" if response.speaker.description else ""
    typer.echo(f"{response.speaker.name}{role}:\n")
    for number, result in enumerate(response.results, start=1):
        also = f"; also in {len(result.also_in)} more" if result.also_in else ""
        span = f"chars {result.char_start}-{result.char_end}"
        typer.echo(
            f"[{number}] “{result.quote}”\n    {result.title or result.doc_id} ({span}{also})"
        )


@app.command("mcp")
def mcp_command(
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Serve the MCP tools over stdio (for Claude Desktop and other MCP clients)."""
    from service.mcp_server import build_mcp
    from service.state import ServiceState

    settings = settings_from(index_dir=index_dir, model=model)
    state = ServiceState(settings)
    state.load()  # logs go to stderr: stdout carries the protocol
    if state.error is not None:
        fail(str(state.error))
    try:
        build_mcp(lambda: state).run("stdio")
    finally:
        state.close()


def _mount_command_groups() -> None:
    """Commands other packages add (eval/cli.py: eval, bench, scale, soak, chunk-sweep)."""
    for entry in entry_points(group="byline.commands"):
        try:
            group = entry.load()
        except ImportError as exc:  # e.g. the Docker image, which ships without eval/
            log.debug("command group %s not available: %s", entry.name, exc)
            continue
        app.registered_commands.extend(group.registered_commands)


def main() -> None:
    _mount_command_groups()
    app()


if __name__ == "__main__":
    main()
