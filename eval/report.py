"""Evaluation results as a table on screen, and as JSON and Markdown under eval/reports/."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COLUMNS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


@dataclass
class EvalReport:
    dataset: str
    queries: int
    modes: dict[str, dict[str, float]]
    """mode -> metric name -> value (metrics plus "qps")."""
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "queries": self.queries, "modes": self.modes, **self.extra}


def render(report: EvalReport) -> str:
    header = "| mode | " + " | ".join(COLUMNS) + " | queries/s |"
    lines = [
        f"{report.dataset}: {report.queries} queries",
        "",
        header,
        "|---|" + "---:|" * (len(COLUMNS) + 1),
    ]
    for mode, metrics in report.modes.items():
        cells = " | ".join(f"{metrics.get(c, float('nan')):.4f}" for c in COLUMNS)
        lines.append(f"| {mode} | {cells} | {metrics.get('qps', 0.0):.1f} |")
    lines += ["", *report.notes]
    return "\n".join(lines).rstrip()


def write_json(report: Any, reports_dir: Path, name: str) -> Path:
    """A dataclass report as `<name>-<UTC time>.json` in `reports_dir`."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{name}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(asdict(report), indent=2))
    return path


def write(report: EvalReport, reports_dir: Path) -> tuple[Path, Path]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{report.dataset}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    json_path = reports_dir / f"{stem}.json"
    md_path = reports_dir / f"{stem}.md"
    json_path.write_text(json.dumps(report.as_json(), indent=2))
    md_path.write_text(f"# {report.dataset}\n\n{render(report)}\n")
    return json_path, md_path
