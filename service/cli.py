"""The `byline` command: build the index, serve it, search it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from index import persistence
from index.documents import load_documents
from index.embedding import Embedder
from index.engine import Change, NewsIndex
from index.errors import BylineError
from index.fusion import Mode
from service import logs
from service.settings import ConfigurationError, Settings, load_settings

app = typer.Typer(
    help="Byline: semantic search over news articles, with exact source attribution.",
    no_args_is_help=True,
    add_completion=False,
)

IndexDirOption = Annotated[
    Path | None, typer.Option("--index-dir", help="Index directory [env: BYLINE_INDEX_DIR].")
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="Embedding model path or id [env: BYLINE_MODEL].")
]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _settings(**overrides: object) -> Settings:
    try:
        settings = load_settings(**overrides)
    except ConfigurationError as exc:
        _fail(str(exc), code=2)
    logs.configure(settings.log_level, settings.log_format)
    return settings


def open_index(settings: Settings, embedder: Embedder, *, create: bool) -> NewsIndex:
    """The index in settings.index_dir with every configured option; `create`: empty if none."""
    opener = NewsIndex.open if create else NewsIndex.load
    return opener(
        settings.index_dir,
        embedder,
        settings.chunking(embedder.max_tokens),
        bm25=settings.bm25(),
        options=settings.search_options(),
        store_policy=settings.store_policy(),
    )


def _existing_index(
    text: str, index_dir: Path | None, model: str | None
) -> tuple[Embedder, NewsIndex]:
    """For commands that read: refuse empty text, then load the model and the saved index."""
    if not text.strip():
        _fail("the text is empty; give a question or keywords", code=2)
    settings = _settings(index_dir=index_dir, model=model)
    if not persistence.index_exists(settings.index_dir):
        _fail(f"no index in {settings.index_dir}; build one with `byline index`")
    try:
        embedder = _embedder(settings)
        return embedder, open_index(settings, embedder, create=False)
    except (BylineError, ConfigurationError) as exc:
        _fail(str(exc))


def _embedder(settings: Settings) -> Embedder:
    try:
        return settings.load_embedder()
    except BylineError as exc:
        _fail(str(exc))


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
    settings = _settings(index_dir=index_dir, model=model)
    if if_missing and persistence.index_exists(settings.index_dir):
        typer.echo(f"an index already exists in {settings.index_dir}; nothing to do")
        return
    started = time.perf_counter()
    try:
        documents = load_documents(paths or [settings.seeds_dir])
        embedder = _embedder(settings)
        index = (
            NewsIndex(
                embedder,
                settings.chunking(embedder.max_tokens),
                bm25=settings.bm25(),
                options=settings.search_options(),
                store_policy=settings.store_policy(),
            )
            if rebuild
            else open_index(settings, embedder, create=True)
        )
        results = index.upsert(documents, progress=sys.stderr.isatty())
        pruned = 0
        if prune:
            keep = {d.doc_id for d in documents}
            for indexed in index.documents():
                if indexed.document.doc_id not in keep:
                    index.delete(indexed.document.doc_id)
                    pruned += 1
        index.save(settings.index_dir)
    except (BylineError, ConfigurationError) as exc:
        _fail(str(exc))
    counts = {change: sum(r.change == change for r in results) for change in Change}
    summary = ", ".join(f"{n} {change.value}" for change, n in counts.items() if n)
    typer.echo(
        f"indexed {len(documents)} documents ({summary}{f', {pruned} pruned' if pruned else ''}): "
        f"{index.document_count} documents, {index.passage_count} passages in "
        f"{settings.index_dir} [{time.perf_counter() - started:.1f} s]"
    )


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Listen address [env: BYLINE_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: BYLINE_PORT].")] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from service.app import create_app

    settings = _settings(host=host, port=port, index_dir=index_dir, model=model)
    # Our logging set-up stays in charge (log_config=None); requests are logged by the app.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
    )


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="The question, in plain language.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Passages to return.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON response.")] = False,
    mode: Annotated[
        Mode | None, typer.Option(help="dense, bm25 or hybrid [env: BYLINE_SEARCH_MODE].")
    ] = None,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Search the index from the command line."""
    from service.routes.search import run_search

    _, index = _existing_index(query, index_dir, model)
    response = run_search(index, query, k, mode)
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
        return
    for result in response.results:
        source = result.source
        title = source.title or source.doc_id
        typer.secho(f"{result.rank}. [{result.score:.3f}] {title}", bold=True)
        typer.echo(f"   {source.doc_id} chars {source.char_start}-{source.char_end}")
        typer.echo("   " + result.text.replace("\n", " ") + "\n")


@app.command("ask")
def ask_command(
    question: Annotated[str, typer.Argument(help="A question about the news.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=50, help="Passages to draw on.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON response.")] = False,
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Answer a question with quotes from the indexed articles."""
    from index.answer import ExtractiveAnswerer
    from service.routes.ask import run_ask

    embedder, index = _existing_index(question, index_dir, model)
    response = run_ask(index, ExtractiveAnswerer(embedder, knows=index.knows), question, k)
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


@app.command("mcp")
def mcp_command(
    index_dir: IndexDirOption = None,
    model: ModelOption = None,
) -> None:
    """Serve the MCP tools over stdio (for Claude Desktop and other MCP clients)."""
    from service.mcp_server import build_mcp
    from service.state import ServiceState

    settings = _settings(index_dir=index_dir, model=model)
    state = ServiceState(settings)
    state.load()  # logs go to stderr: stdout carries the protocol
    if state.error is not None:
        _fail(str(state.error))
    build_mcp(lambda: state).run("stdio")


@app.command("eval")
def eval_command(
    beir: Annotated[
        Path | None, typer.Option(help="A BEIR dataset folder (corpus, queries, qrels/).")
    ] = None,
    split: Annotated[str, typer.Option(help="BEIR qrels split.")] = "test",
    squad: Annotated[Path | None, typer.Option(help="A SQuAD v1.1 file (.json[.gz]).")] = None,
    questions: Annotated[int, typer.Option(min=10, help="SQuAD questions (fixed sample).")] = 1000,
    mode: Annotated[
        list[Mode] | None, typer.Option(help="Modes to evaluate [default: all three].")
    ] = None,
    dense_weight: Annotated[
        float | None, typer.Option(help="Convex fusion weight [env: BYLINE_DENSE_WEIGHT].")
    ] = None,
    fusion: Annotated[str | None, typer.Option(help="convex or rrf [env: BYLINE_FUSION].")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="End with one JSON line of the results.")
    ] = False,
    reports_dir: Annotated[Path, typer.Option(help="Where JSON and Markdown go.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Measure retrieval quality: the seed questions by default, or a BEIR or SQuAD dataset."""
    from eval import report, runner

    settings = _settings(dense_weight=dense_weight, fusion=fusion)
    modes = mode or list(Mode)
    embedder = _embedder(settings)
    try:
        if beir is not None:
            result = runner.run_beir(beir, split, settings, embedder, modes)
        elif squad is not None:
            result = runner.run_squad(squad, questions, settings, embedder, modes)
        else:
            result = runner.run_seed(settings, embedder, modes)
    except (FileNotFoundError, ValueError, BylineError) as exc:
        _fail(str(exc))
    typer.echo(report.render(result))
    json_path, md_path = report.write(result, reports_dir)
    typer.echo(f"\nreports: {json_path} {md_path}")
    if as_json:
        typer.echo(json.dumps(result.as_json()))


@app.command("bench")
def bench_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Corpus to index and serve [default: seeds/].")
    ] = None,
    queries: Annotated[int, typer.Option(min=10, help="Search requests to time.")] = 100,
    seconds: Annotated[float, typer.Option(min=1, help="Length of each wrk run.")] = 10,
    peer_url: Annotated[
        str | None, typer.Option(help="Another server to put the same search load on.")
    ] = None,
    peer_search: Annotated[
        str, typer.Option(help="The peer's search path; {q} is replaced by the query.")
    ] = "/search?query={q}&limit=5",
    peer_pid: Annotated[
        int | None, typer.Option(help="The peer's process id, to read its memory.")
    ] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Measure indexing, start-up, HTTP latency and throughput (wrk) and memory; print a table."""
    from eval import bench
    from eval.report import write_json

    settings = _settings()
    report = bench.run(
        paths or [settings.seeds_dir],
        queries=queries,
        seconds=seconds,
        peer_url=peer_url,
        peer_search=peer_search,
        peer_pid=peer_pid,
    )
    typer.echo(bench.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'bench')}")


@app.command("scale")
def scale_command(
    squad: Annotated[Path, typer.Option(help="SQuAD v1.1 dev JSON (.gz).")] = Path(
        "../shared/benchmarks/squad-dev/dev-v1.1.json.gz"
    ),
    sizes: Annotated[
        str, typer.Option(help="Passage counts, comma-separated.")
    ] = "10000,100000,1000000",
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Vector search at 10k-1M passages: latency, recall@10 against exact, memory, deletes."""
    from eval import scale
    from eval.report import write_json

    try:
        counts = [int(s) for s in sizes.split(",")]
    except ValueError:
        _fail(f"--sizes takes whole numbers separated by commas, not {sizes!r}", code=2)
    report = scale.run(squad, counts)
    typer.echo(scale.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'scale')}")


@app.command("soak")
def soak_command(
    seconds: Annotated[float, typer.Option(min=1, help="How long to keep the load on.")] = 60,
    clients: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients.")] = 16,
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Mixed search, ask and write load against a real server; errors, latency and memory."""
    from eval import soak
    from eval.report import write_json

    settings = _settings()
    report = soak.run(settings.seeds_dir, seconds=seconds, clients=clients)
    typer.echo(soak.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'soak')}")
    if report.unexpected or report.writes_missing_at_end:
        _fail("the soak saw unexpected responses or lost writes")


@app.command("chunk-sweep")
def chunk_sweep_command(
    squad: Annotated[Path, typer.Option(help="SQuAD v1.1 dev file (.json.gz).")] = Path(
        "../shared/benchmarks/squad-dev/dev-v1.1.json.gz"
    ),
    targets: Annotated[str, typer.Option(help="Comma-separated target sizes in tokens.")] = (
        "64,96,128,192,254"
    ),
    articles: Annotated[int, typer.Option(min=1, help="SQuAD articles to index.")] = 10,
    questions: Annotated[int, typer.Option(min=10, help="Questions sampled from them.")] = 1000,
    budget: Annotated[int, typer.Option(min=16, help="Reading budget in tokens.")] = 256,
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Measure retrieval quality for several passage sizes, to choose the chunking target."""
    from eval import chunk_sweep

    settings = _settings()
    if not squad.is_file():
        _fail(f"{squad}: no such file; pass --squad PATH to SQuAD v1.1 dev-v1.1.json.gz")
    sizes = [int(t) for t in targets.split(",") if t.strip()]
    rows = chunk_sweep.run(
        _embedder(settings),
        squad,
        sizes,
        articles=articles,
        questions=questions,
        budget_tokens=budget,
    )
    typer.echo(chunk_sweep.render(rows, budget))
    path = reports_dir / f"chunk-sweep-{time.strftime('%Y%m%dT%H%M%S')}.json"
    chunk_sweep.write(rows, path)
    typer.echo(f"\nreport: {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
