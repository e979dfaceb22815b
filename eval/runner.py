"""`byline eval`: run a dataset in every mode and produce one report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from eval import benchmark, dated, seed, squad_answers, statements
from eval.datasets import Dataset, load_beir, load_squad
from eval.embed_cache import CachedEmbedder
from eval.report import EvalReport
from index.answer import ExtractiveAnswerer
from index.documents import load_documents
from index.embedding import Embedder
from index.engine import temporary_archive, temporary_index
from index.fusion import Mode
from index.shaped_answer import ShapedAnswerer
from service.settings import Settings

CACHE = Path("eval/cache/embeddings.sqlite")


def _metrics(metrics: dict[str, float], qps: float) -> dict[str, float]:
    return {**{k: round(v, 4) for k, v in metrics.items()}, "qps": round(qps, 1)}


def run_seed(settings: Settings, embedder: Embedder, modes: Sequence[Mode]) -> EvalReport:
    """The labelled seed questions against an index of seeds/ built with these settings."""
    with temporary_index(settings.index_config(), embedder) as index:
        index.upsert(load_documents([settings.seeds_dir]))
        questions = seed.load_questions()
        results = seed.evaluate(index, questions, modes)
        modes_out = {}
        for mode, result in results.items():
            metrics = _metrics(result.metrics, result.queries_per_second)
            # Facts repeat across articles: a question is answered when any evidence passage shows.
            for k in (1, 5, 10):
                metrics[f"passage_recall@{k}"] = metrics[f"recall@{k}"]
                metrics[f"recall@{k}"] = metrics[f"success@{k}"]
            modes_out[mode.value] = metrics
        thresholds = seed.duplicate_threshold_table(index, [0.8, 0.83, 0.86, 0.9, 0.93])
        extractive = ExtractiveAnswerer(embedder, knows=index.knows)
        answers = seed.evaluate_answers(index, extractive, questions)
        shaped = ShapedAnswerer(index, extractive, knows=index.knows)
        every = questions + seed.load_questions(seed.SHAPED_QUESTIONS)
        shaped_answers = seed.evaluate_answers(index, shaped, every)
        by_shape = {
            shape: seed.evaluate_answers(index, shaped, [q for q in every if q.shape == shape])
            for shape in ("said", "who", "number", "unanswerable")
        }
        held_out = {
            name: (about, seed.evaluate_answers(index, shaped, seed.load_questions(path)))
            for name, path, about in seed.HELD_OUT
        }
        texts = {d.document.doc_id: d.document.text for d in index.documents()}
        found = statements.evaluate_statements(texts, statements.load_labels())
    return EvalReport(
        dataset="seed",
        queries=sum(q.answerable for q in questions),
        modes=modes_out,
        notes=[
            "recall@k: share of questions with an evidence passage in the top k "
            "(passage_recall@k in the JSON: share of all evidence passages).",
            f"fusion: {settings.fusion}, dense weight {settings.dense_weight}.",
            "near-duplicate threshold on the labelled pairs (cosine: precision / recall): "
            + ", ".join(f"{t}: {p:.2f} / {r:.2f}" for t, p, r in thresholds)
            + f"; in use: {settings.duplicate_cosine}.",
            f"/ask: {answers.contains_evidence:.3f} of {answers.answerable} answerable questions "
            f"answered with an evidence quote; abstention precision "
            f"{answers.abstention_precision:.2f}, recall {answers.abstention_recall:.2f} "
            f"({answers.unanswerable} unanswerable; "
            f"{answers.wrongly_withheld} answerable withheld).",
            f"/ask in the shape of the question, {len(every)} questions (seed and seed-shapes): "
            f"{shaped_answers.contains_evidence:.3f} of {shaped_answers.answerable} answerable "
            f"with evidence; abstention precision {shaped_answers.abstention_precision:.2f}, "
            f"recall {shaped_answers.abstention_recall:.2f}; by shape: "
            + ", ".join(
                f"{shape} {q.contains_evidence:.2f}"
                if shape != "unanswerable"
                else f"{shape} withheld {q.abstention_recall:.2f}"
                for shape, q in by_shape.items()
            )
            + ".",
            *(
                f"{name} ({q.answerable + q.unanswerable} questions, {about}): "
                f"{q.contains_evidence:.3f} of {q.answerable} with evidence; abstention "
                f"precision {q.abstention_precision:.2f}, recall {q.abstention_recall:.2f} "
                f"({q.unanswerable} unanswerable)."
                for name, (about, q) in held_out.items()
            ),
            f"statements ({found.labelled} labelled in the seed articles): precision "
            f"{found.precision:.3f}, recall {found.recall:.3f}; speaker precision "
            f"{found.speaker_precision:.3f}, recall {found.speaker_recall:.3f}.",
        ],
        extra={
            "duplicate_threshold": [list(row) for row in thresholds],
            "ask": asdict(answers),
            "ask_shaped": asdict(shaped_answers),
            "ask_by_shape": {shape: asdict(q) for shape, q in by_shape.items()},
            **{"ask_" + name.replace(" ", "_"): asdict(q) for name, (_, q) in held_out.items()},
            "statements": {
                **asdict(found),
                "precision": found.precision,
                "recall": found.recall,
                "speaker_precision": found.speaker_precision,
                "speaker_recall": found.speaker_recall,
            },
        },
    )


def run_beir(
    directory: Path, split: str, settings: Settings, embedder: Embedder, modes: Sequence[Mode]
) -> EvalReport:
    return _run_public(load_beir(directory, split), settings, embedder, modes)


def run_dated(settings: Settings, embedder: Embedder, mode: Mode) -> EvalReport:
    """The dated questions, with and without their period as a filter."""
    with temporary_index(settings.index_config(), embedder) as index:
        index.upsert(dated.documents())
        results = dated.evaluate(index, mode)
    return EvalReport(
        dataset="dated",
        queries=len(dated.load_questions()),
        modes=results,
        notes=[
            f"{mode.value} search. recall@k: share of questions with the evidence passage in "
            "the top k. With the period as a filter: the period the question names, relative "
            "to the day it is asked, applied as published_after/published_before, as the chat "
            "endpoint does."
        ],
    )


def run_squad(
    path: Path, questions: int, settings: Settings, embedder: Embedder, modes: Sequence[Mode]
) -> EvalReport:
    dataset = load_squad(path, questions=questions)
    report = _run_public(dataset, settings, embedder, modes)
    cached = CachedEmbedder(embedder, CACHE)
    try:
        answers = squad_answers.evaluate(dataset, cached, settings)
    finally:
        cached.close()
    report.notes.append(
        f"/ask over all {len(dataset.documents)} paragraphs (as Byline chunks them): the answer "
        f"contains a gold answer for {answers.answer_contains_gold:.3f} of {answers.questions} "
        f"questions and cites the gold paragraph for {answers.cites_gold_paragraph:.3f}; "
        f"{answers.answered:.3f} answered rather than withheld."
    )
    report.extra["ask"] = asdict(answers)
    return report


def _run_public(
    dataset: Dataset, settings: Settings, embedder: Embedder, modes: Sequence[Mode]
) -> EvalReport:
    config = settings.index_config()
    notes = [f"fusion: {settings.fusion}, dense weight {settings.dense_weight}."]
    if config.backend == "milvus":
        with temporary_archive(config, embedder) as archive:
            cached = CachedEmbedder(embedder, CACHE)
            try:
                index: benchmark.BenchmarkIndex = benchmark.ArchiveBenchmarkIndex(
                    dataset, cached, archive
                )
            finally:
                cached.close()
            results = benchmark.evaluate(dataset, index, embedder, modes, config.search.fusion)
        assert config.milvus is not None
        notes.append(
            f"backend: Milvus at {config.milvus.uri}, {config.milvus.index_type} index, "
            "Milvus's BM25 over Byline's analysis; hybrid fused "
            + ("in Milvus (RRFRanker)" if settings.fusion == "rrf" else "by Byline")
        )
    else:
        cached = CachedEmbedder(embedder, CACHE)
        try:
            index = benchmark.BenchmarkIndex(dataset, cached, config.bm25)
        finally:
            cached.close()
        results = benchmark.evaluate(dataset, index, embedder, modes, config.search.fusion)
    return EvalReport(
        dataset=dataset.name,
        queries=len(dataset.queries),
        modes={m.value: _metrics(r.metrics, r.queries_per_second) for m, r in results.items()},
        notes=notes,
    )
