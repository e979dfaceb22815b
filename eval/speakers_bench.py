"""`byline bench-speakers`: listing speakers as the statement store grows.

Synthetic articles, each one quotation by one of many people (Zipf-distributed: a few speak
often, most once), are written through the store's own path (extraction, keys, counts).
Then the reads that depend on the number of statements are timed: a page of `GET /speakers`,
the first 1,000 speakers (what a question naming a speaker by role reads), one speaker's
counts, and the grouping of every statement that listing did before the counts were kept.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import Document
from index.statement_store import StatementStore

_FIRST = [
    "Anna",
    "Boris",
    "Carla",
    "Dmitry",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Irina",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
]
_WORDS = [
    "talks",
    "ceasefire",
    "border",
    "troops",
    "aid",
    "sanctions",
    "drones",
    "energy",
    "grain",
    "elections",
]


@dataclass
class SpeakersReport:
    documents: int
    people: int
    statements: int = 0
    write_ms_per_document: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)


def _article(rng: random.Random, people: int) -> str:
    person = min(int(rng.paretovariate(1.2)), people) - 1
    name = f"{_FIRST[person % len(_FIRST)]} Speaker{person}"
    quote = " ".join(rng.choice(_WORDS) for _ in range(8))
    return f"“We discussed {quote} today,” {name} said."


def _median_ms(call: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(documents: int, people: int, batch: int = 500, seed: int = 0) -> SpeakersReport:
    rng = random.Random(seed)
    report = SpeakersReport(documents, people)
    with tempfile.TemporaryDirectory() as where:
        store = StatementStore(Path(where))
        started = time.perf_counter()
        for first in range(0, documents, batch):
            store.replace(
                [
                    Document(f"d{i}", _article(rng, people))
                    for i in range(first, min(first + batch, documents))
                ]
            )
        report.write_ms_per_document = (time.perf_counter() - started) * 1000 / documents
        db = sqlite3.connect(store.path)
        report.statements = int(db.execute("SELECT COUNT(*) FROM statements").fetchone()[0])
        top = store.speakers(None, 1, 0)[0][0].key
        grouped = (
            "SELECT speaker_key, COUNT(*) AS n, COUNT(DISTINCT doc_id) FROM statements "
            "GROUP BY speaker_key ORDER BY n DESC, speaker_key LIMIT 20"
        )
        report.timings_ms = {
            "GET /speakers, a page of 20": _median_ms(lambda: store.speakers(None, 20, 0)),
            "GET /speakers?q=anna, a page of 20": _median_ms(lambda: store.speakers("anna", 20, 0)),
            "the first 1,000 speakers (a speaker named by role)": _median_ms(
                lambda: store.speakers(None, 1000, 0)
            ),
            "the most quoted speaker's counts": _median_ms(lambda: store.stats(top)),
            "grouping every statement (the listing before counts were kept)": _median_ms(
                lambda: db.execute(grouped).fetchall(), repeats=3
            ),
        }
        db.close()
        store.close()
    return report


def render(report: SpeakersReport) -> str:
    lines = [
        f"{report.documents:,} articles, {report.statements:,} statements, up to "
        f"{report.people:,} people; writing: {report.write_ms_per_document:.2f} ms an article",
        "",
        "| read | median ms |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {ms:.1f} |" for name, ms in report.timings_ms.items()]
    return "\n".join(lines)
