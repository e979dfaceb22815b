"""The evaluation commands of `byline`: eval, bench, scale, soak, chunk-sweep.

Mounted into `byline` through the `byline.commands` entry point (pyproject.toml), so the
service package never imports evaluation code; where eval/ is not installed (the Docker
image), these commands are simply absent.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from index.embedding import Embedder
from index.errors import BylineError
from index.fusion import Mode
from service.cli_common import fail, load_embedder, settings_from
from service.settings import Settings

app = typer.Typer(help="Measure Byline: quality, speed, scale.")


class PeerName(StrEnum):
    """Peers `byline bench --peer` can start itself."""

    TXTAI = "txtai"


@app.command("eval")
def eval_command(
    beir: Annotated[
        Path | None, typer.Option(help="A BEIR dataset folder (corpus, queries, qrels/).")
    ] = None,
    split: Annotated[str, typer.Option(help="BEIR qrels split.")] = "test",
    squad: Annotated[Path | None, typer.Option(help="A SQuAD v1.1 file (.json[.gz]).")] = None,
    dated: Annotated[
        bool, typer.Option("--dated", help="The dated questions, with and without date filters.")
    ] = False,
    questions: Annotated[int, typer.Option(min=10, help="SQuAD questions (fixed sample).")] = 1000,
    mode: Annotated[
        list[Mode] | None, typer.Option(help="Modes to evaluate [default: all three].")
    ] = None,
    dense_weight: Annotated[
        float | None, typer.Option(help="Convex fusion weight [env: BYLINE_DENSE_WEIGHT].")
    ] = None,
    fusion: Annotated[
        str | None,
        typer.Option(help="convex, zscore, dbsf, rank or rrf [env: BYLINE_FUSION]."),
    ] = None,
    fusion_table: Annotated[
        bool,
        typer.Option(
            "--fusion-table",
            help="Every fusion method and weight on SciFact (--beir; train chooses, test is "
            "reported), SQuAD (--squad) and the seeds; choose one and print the table.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="End with one JSON line of the results.")
    ] = False,
    reports_dir: Annotated[Path, typer.Option(help="Where JSON and Markdown go.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Measure retrieval quality: the seed questions by default, or a BEIR or SQuAD dataset."""
    from eval import report, runner

    if fusion_table and (beir is None or squad is None):
        fail("--fusion-table needs --beir (SciFact, with train and test qrels) and --squad", 2)
    settings = settings_from(dense_weight=dense_weight, fusion=fusion)
    modes = mode or list(Mode)
    embedder = load_embedder(settings)
    if fusion_table and beir is not None and squad is not None:
        _fusion_table(beir, squad, questions, settings, embedder, reports_dir)
        return
    try:
        if beir is not None:
            result = runner.run_beir(beir, split, settings, embedder, modes)
        elif dated:
            result = runner.run_dated(settings, embedder, modes[0] if mode else Mode.HYBRID)
        elif squad is not None:
            result = runner.run_squad(squad, questions, settings, embedder, modes)
        else:
            result = runner.run_seed(settings, embedder, modes)
    except (FileNotFoundError, ValueError, BylineError) as exc:
        fail(str(exc))
    typer.echo(report.render(result))
    json_path, md_path = report.write(result, reports_dir)
    typer.echo(f"\nreports: {json_path} {md_path}")
    if as_json:
        typer.echo(json.dumps(result.as_json()))


def _fusion_table(
    beir: Path,
    squad: Path,
    questions: int,
    settings: Settings,
    embedder: Embedder,
    reports_dir: Path,
) -> None:
    from eval import fusion_sweep
    from eval.report import write_json

    try:
        report = fusion_sweep.run(
            beir, squad, questions, settings, embedder, progress=lambda s: typer.echo(s, err=True)
        )
    except (FileNotFoundError, ValueError, BylineError) as exc:
        fail(str(exc))
    typer.echo(fusion_sweep.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'fusion')}")


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
    peer: Annotated[
        PeerName | None,
        typer.Option(
            help="Start this peer over the same articles and load it too (txtai: needs "
            "`make peer-txtai`)."
        ),
    ] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Measure indexing, start-up, HTTP latency and throughput (wrk) and memory; print a table."""
    from eval import bench
    from eval.peer import txtai_server
    from eval.report import write_json

    if peer is not None and peer_url is not None:
        fail("give --peer or --peer-url, not both", code=2)
    settings = settings_from()
    corpus = paths or [settings.seeds_dir]
    if peer is not None and not (len(corpus) == 1 and corpus[0].is_dir()):
        fail("--peer indexes one folder of .txt articles; give one folder or none", code=2)
    report = bench.run(
        corpus,
        queries=queries,
        seconds=seconds,
        peer_url=peer_url,
        peer_search=peer_search,
        peer_pid=peer_pid,
        peer_server=txtai_server(corpus[0]) if peer is not None else None,
    )
    typer.echo(bench.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'bench')}")


@app.command("bench-ask")
def bench_ask_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Corpus to index and serve [default: seeds/].")
    ] = None,
    seconds: Annotated[float, typer.Option(min=1, help="Length of each wrk run.")] = 10,
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Time /ask with the labelled questions of every shape, at 1 client and at 8."""
    from eval import ask_bench
    from eval.report import write_json

    settings = settings_from()
    report = ask_bench.measure(paths or [settings.seeds_dir], seconds)
    typer.echo(ask_bench.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'bench-ask')}")


@app.command("bench-speakers")
def bench_speakers_command(
    documents: Annotated[int, typer.Option(min=1, help="Synthetic articles to write.")] = 100_000,
    people: Annotated[int, typer.Option(min=1, help="Distinct people quoted, at most.")] = 20_000,
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Time listing speakers over a statement store of that many articles."""
    from eval import speakers_bench
    from eval.report import write_json

    report = speakers_bench.measure(documents, people)
    typer.echo(speakers_bench.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'bench-speakers')}")


@app.command("scale")
def scale_command(
    squad: Annotated[Path, typer.Option(help="SQuAD v1.1 dev JSON (.gz).")] = Path(
        "../shared/benchmarks/squad-dev/dev-v1.1.json.gz"
    ),
    sizes: Annotated[
        str, typer.Option(help="Passage counts, comma-separated.")
    ] = "10000,100000,1000000",
    beir: Annotated[
        Path | None,
        typer.Option(help="A BEIR folder: also compare the keyword engines' quality on it."),
    ] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Search at 10k-1M passages: vector latency and recall@10 against exact, filters,
    deletes, memory; the keyword engines (tantivy, FTS5, bm25s) side by side."""
    from eval import lexical, scale
    from eval.datasets import load_beir
    from eval.report import write_json

    try:
        counts = [int(s) for s in sizes.split(",")]
    except ValueError:
        fail(f"--sizes takes whole numbers separated by commas, not {sizes!r}", code=2)
    report = scale.run(squad, counts)
    if beir is not None:
        report.keyword_quality = lexical.quality(load_beir(beir, "test"))
    typer.echo(scale.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'scale')}")


@app.command("bench-writes")
def bench_writes_command(
    squad: Annotated[Path, typer.Option(help="SQuAD v1.1 dev JSON (.gz): article text.")] = Path(
        "../shared/benchmarks/squad-dev/dev-v1.1.json.gz"
    ),
    sizes: Annotated[str, typer.Option(help="Passage counts, comma-separated.")] = "10000,100000",
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
    keep_dir: Annotated[
        Path | None,
        typer.Option(
            help="Fill archives into KEEP_DIR/<size> and reuse them next time (a million "
            "passages take an hour to fill) [default: temporary]."
        ),
    ] = None,
    churn: Annotated[
        bool,
        typer.Option(
            help="Replace a fifth and delete a tenth, then measure disk against live data "
            "(at a million passages this re-writes 200k passages)."
        ),
    ] = True,
) -> None:
    """What one article's write costs as the archive grows, and search latency during writes."""
    from eval import writes
    from eval.report import write_json

    try:
        counts = [int(s) for s in sizes.split(",")]
    except ValueError:
        fail(f"--sizes takes whole numbers separated by commas, not {sizes!r}", code=2)
    report = writes.run(squad, counts, keep_dir, churn)
    typer.echo(writes.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'writes')}")


@app.command("bench-backends")
def bench_backends_command(
    passages: Annotated[
        int | None,
        typer.Option(help="Fill with SQuAD articles to this many passages [default: the seeds]."),
    ] = None,
    backend: Annotated[
        list[str] | None, typer.Option(help="embedded, milvus (BYLINE_MILVUS_URI) [both].")
    ] = None,
    squad: Annotated[Path, typer.Option(help="SQuAD v1.1 dev JSON (.gz): article text.")] = Path(
        "../shared/benchmarks/squad-dev/dev-v1.1.json.gz"
    ),
    reports_dir: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = Path(
        "eval/reports"
    ),
) -> None:
    """Search latency on the embedded and the Milvus backend, same archive, same queries."""
    from eval import backends
    from eval.report import write_json

    try:
        report = backends.run(passages, squad, backend or ["embedded", "milvus"])
    except BylineError as exc:
        fail(str(exc))
    typer.echo(backends.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'backends')}")


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

    settings = settings_from()
    report = soak.run(settings.seeds_dir, seconds=seconds, clients=clients)
    typer.echo(soak.render(report))
    typer.echo(f"\nreport: {write_json(report, reports_dir, 'soak')}")
    if report.unexpected or report.writes_missing_at_end:
        fail("the soak saw unexpected responses or lost writes")


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

    settings = settings_from()
    if not squad.is_file():
        fail(f"{squad}: no such file; pass --squad PATH to SQuAD v1.1 dev-v1.1.json.gz")
    sizes = [int(t) for t in targets.split(",") if t.strip()]
    rows = chunk_sweep.run(
        load_embedder(settings),
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
