"""The benchmark suite runs, at a tiny size, so that it cannot rot. No timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.store import StoreURL
from tests.conftest import POSTGRES, REQUIRE_POSTGRES, postgres_problem

ROOT = Path(__file__).resolve().parents[2]

FIGURES = ("bulk write", "full projection rebuild", "peak memory of a rebuild",
           "rank --level 社区", "history TASK", "board --unit",
           "read models' check of the chain", "command path", "audit verify",
           "reading and decoding the log alone", "taizhang --help, whole process",
           "task show TASK, whole process", "history TASK, whole process",
           "board --unit JD01, whole process", "bulletin --format md", "bulletin --format html",
           "bulletin --format xlsx", "bulletin --format docx", "summary --unit JD01",
           "summary, the whole city", "rank --published --parent JD01")
# The month's documents, judged as the history grows (the same city over ten years).
DOCUMENTS = FIGURES[-7:]


def test_benchmark_suite_prints_every_figure_beside_its_baseline() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--events", "3000",
         "--commands", "20", "--runs", "1", "--report-only"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for figure in FIGURES:
        assert any(line.startswith(figure) for line in lines), (figure, result.stdout)
    for document in DOCUMENTS:
        assert any(line.startswith(f"{document}") and "10 years vs 1" in line and
                   line.rstrip().endswith(("ok", "MISSED")) for line in lines), (
                       document, result.stdout)
    assert sum(line.rstrip().endswith(("ok", "MISSED")) for line in lines) == 21


def test_web_benchmark_runs_and_reports_every_page() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_web.py"), "--events", "3000",
         "--runs", "1", "--seconds", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for page in ("board", "task", "ranking", "timeline"):
        assert any(line.split()[:1] == [page] for line in lines), result.stdout
    assert any(line.startswith("20 clients for 2 s") and line.endswith(" 0 failed")
               for line in lines), result.stdout


def test_postgres_benchmark_prints_every_figure_and_drops_its_database() -> None:
    problem = postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(problem)
        pytest.skip(problem)
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_postgres.py"), "--db", POSTGRES,
         "--events", "1500", "--commands", "10", "--seconds", "0.3", "--import-rows", "100",
         "--report-only"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for figure in ("PostgreSQL bulk write", "PostgreSQL command path",
                   "PostgreSQL 4 writers vs 1", "import on PostgreSQL vs on SQLite"):
        assert any(line.startswith(figure) and line.rstrip().endswith(("ok", "MISSED"))
                   for line in lines), (figure, result.stdout)
    # The scratch database it names is gone.
    named = re.search(r"in database (taizhang_bench_\w+)", result.stdout)
    assert named, result.stdout
    engine = sa.create_engine(StoreURL.parse(POSTGRES).sqlalchemy_url())
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                            {"name": named[1]}).first()
    engine.dispose()
    assert left is None
