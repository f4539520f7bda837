"""The benchmark suite runs, at a tiny size, so that it cannot rot. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIGURES = ("bulk write", "full projection rebuild", "peak memory of a rebuild",
           "rank --level 社区", "history TASK", "board --unit",
           "read models' check of the chain", "command path", "audit verify")


def test_benchmark_suite_prints_every_figure_beside_its_baseline() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--events", "3000",
         "--commands", "20", "--runs", "1", "--report-only"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for figure in FIGURES:
        assert any(line.startswith(figure) for line in lines), (figure, result.stdout)
    assert sum(line.rstrip().endswith(("ok", "MISSED")) for line in lines) == 8
