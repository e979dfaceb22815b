from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from eval.localserver import local_server
from index.engine import NewsIndex
from service.cli import app
from tests.conftest import SEEDS

runner = CliRunner()


def test_index_then_search_as_json(tmp_path: Path, seed_index: NewsIndex) -> None:
    index_dir = tmp_path / "index"
    built = runner.invoke(app, ["index", str(SEEDS), "--index-dir", str(index_dir)])
    assert built.exit_code == 0, built.output
    assert "5 added" in built.output
    assert f"{seed_index.passage_count} passages" in built.output

    again = runner.invoke(app, ["index", str(SEEDS), "--index-dir", str(index_dir)])
    assert "5 unchanged" in again.output

    skipped = runner.invoke(app, ["index", "--if-missing", "--index-dir", str(index_dir)])
    assert "nothing to do" in skipped.output

    found = runner.invoke(
        app,
        ["search", "what did Zakharova say", "-k", "3", "--json", "--index-dir", str(index_dir)],
    )
    assert found.exit_code == 0, found.output
    response = json.loads(found.stdout[found.stdout.index("{") :])
    assert len(response["results"]) == 3
    assert any("Zakharova" in r["text"] for r in response["results"])


def test_said_quotes_a_speaker_and_finds_no_one_unknown(seed_index_dir: Path) -> None:
    where = ["--index-dir", str(seed_index_dir)]
    said = runner.invoke(app, ["said", "Ushakov", "--about", "talks", "--json", *where])
    assert said.exit_code == 0, said.output
    response = json.loads(said.stdout[said.stdout.index("{") :])
    assert response["speaker"]["name"] == "Yuri Ushakov"
    assert any("we will not talk" in r["quote"] for r in response["results"])
    printed = runner.invoke(app, ["said", "Ushakov", *where])
    assert "Yuri Ushakov (Kremlin adviser):" in printed.stdout
    assert "[1] “" in printed.stdout
    nobody = runner.invoke(app, ["said", "Angela Merkel", *where])
    assert nobody.exit_code == 0
    assert "No statements by Angela Merkel" in nobody.stdout


def test_ask_prints_the_answer_and_its_sources(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    runner.invoke(app, ["index", str(SEEDS), "--index-dir", str(index_dir)])
    answered = runner.invoke(app, ["ask", "were kids evacuated?", "--index-dir", str(index_dir)])
    assert answered.exit_code == 0, answered.output
    assert "children" in answered.stdout
    assert "[1]" in answered.stdout
    declined = runner.invoke(
        app, ["ask", "Who won the marathon at the 2024 Olympics?", "--index-dir", str(index_dir)]
    )
    assert "do not answer" in declined.stdout


def test_prune_removes_documents_not_given(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    runner.invoke(app, ["index", str(SEEDS), "--index-dir", str(index_dir)])
    one = SEEDS / "002_64060a8aba6b5fc0.txt"
    pruned = runner.invoke(app, ["index", str(one), "--prune", "--index-dir", str(index_dir)])
    assert pruned.exit_code == 0, pruned.output
    assert "4 pruned" in pruned.output
    assert "1 documents" in pruned.output


def test_errors_exit_non_zero_with_a_message(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["search", "Kursk", "--index-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1
    assert "byline index" in missing.output
    bad_path = runner.invoke(
        app, ["index", str(tmp_path / "nope"), "--index-dir", str(tmp_path / "i")]
    )
    assert bad_path.exit_code == 1
    assert "no such file or folder" in bad_path.output
    bad_env = runner.invoke(app, ["index"], env={"BYLINE_BATCH_SIZE": "0"})
    assert bad_env.exit_code == 2
    assert "BYLINE_BATCH_SIZE" in bad_env.output


@pytest.mark.slow
def test_serve_answers_over_real_http(seed_index_dir: Path) -> None:
    with local_server(seed_index_dir) as server:
        response = httpx.get(
            f"{server.base_url}/search", params={"q": "what did Zakharova say"}, timeout=10
        )
    assert response.status_code == 200
    assert any("Zakharova" in r["text"] for r in response.json()["results"][:3])


def test_the_service_runs_without_the_eval_package() -> None:
    # The Docker image ships index/ and service/ only (see Dockerfile).
    code = (
        "import sys, service.cli, service.app, service.mcp_server; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'eval'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
