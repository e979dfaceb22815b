"""Schemathesis against Byline's own OpenAPI schema: generated requests, a bounded number per
operation, must never get a 5xx, and every documented response must match its schema.

Runs schemathesis's own CLI against a real server (its pytest plugin does not load under
pytest 9), and keeps its JUnit report for the numbers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from eval.localserver import local_server

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
EXAMPLES_PER_OPERATION = 25


def test_no_server_errors_and_responses_match_the_schema(
    seed_index_dir: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index_dir, index_dir)  # generated writes land in a private copy
    report = tmp_path / "junit.xml"
    # Small document limits keep generated writes cheap to embed.
    limits = {"BYLINE_MAX_DOCUMENT_CHARS": "2000", "BYLINE_MAX_DOCUMENTS_PER_REQUEST": "4"}
    with local_server(index_dir, env=limits) as server:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{server.base_url}/openapi.json",
                "--checks",
                CHECKS,
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--seed",
                "1",
                "--workers",
                "1",
                "--no-color",
                "--report",
                "junit",
                "--report-junit-path",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    suites = ET.parse(report).getroot()
    cases = suites.findall(".//testcase")
    assert len(cases) >= 8  # every operation of the schema was exercised
    assert not suites.findall(".//failure")
    assert not suites.findall(".//error")
