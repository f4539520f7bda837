"""The bulk write's breakdown (benchmarks/bench_bulk.py) runs, at a tiny size, so that it
cannot rot. No timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_bulk_writes_breakdown_prints_each_part_beside_the_baseline() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_bulk.py"), "--events", "1500",
         "--runs", "1"], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    for part in ("map", "chain", "insert", "bulk write", "raw"):
        assert re.search(rf"^  {part} +[\d.]+ / +[\d.]+$", result.stdout, re.M), part
    assert re.search(r"^bulk write [\d,]+ events/s vs raw [\d,]+ = [\d.]+ \(CPU [\d.]+\)$",
                     result.stdout, re.M), result.stdout
