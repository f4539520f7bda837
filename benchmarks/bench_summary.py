"""How long a work summary (工作总结) takes beside the floor any summary of the log has.

The summary used to fold every stored event, so its baseline here is a bare pass over the
log: reading every record and parsing its JSON. It now reads the period's rows from the read
models (``projections/summary_rows.py``), so it should take a small part of that pass.
Figures: the summary of one month for the whole city and for one 街道, the same for a whole
year, and the process's peak memory. Goal: within 3× the bare pass. The suite's figure is
the summary at N events against N/10 (``bench_bulletin.py``, in ``run.py``): ≤ 1.5×.

Run: ``python benchmarks/bench_summary.py [--events 100000] [--db sqlite:///city.db]``
(an existing store is reused; otherwise one is generated, see ``generate.py``).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate  # noqa: E402
from ledger.store import Store  # noqa: E402
from projections.read import ReadSide  # noqa: E402
from projections.summary import Period, paragraph, summary_of  # noqa: E402


def timed(work):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="a store to reuse or fill")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/city.db"
    store = Store(url)
    if not store.ledger.max_position():
        store.close()
        generate(url, args.events, until="2025-12")
        store = Store(url)
    try:
        ledger = store.ledger
        events = ledger.max_position()
        caught_up, _ = timed(lambda: ReadSide(store).current())
        print(f"read models brought up to date first (units for the scope): "
              f"{caught_up:.2f} s")
        bare, _ = timed(lambda: sum(1 for r in ledger.records() if json.loads(r.state)))
        print(f"ledger: {events:,} events; bare pass over the log (read + parse): "
              f"{bare:.2f} s")
        cases = [("one month, whole city", Period(date(2025, 6, 1), date(2025, 6, 30)), None),
                 ("one month, one 街道", Period(date(2025, 6, 1), date(2025, 6, 30)), "JD01"),
                 ("the year, whole city", Period(date(2025, 1, 1), date(2025, 12, 31)), None)]
        for name, period, unit in cases:
            seconds, result = timed(lambda: summary_of(ReadSide(store), period, unit))
            paragraph(result)
            print(f"summary, {name}: {seconds:.2f} s (baseline {bare:.2f} s, ratio "
                  f"{seconds / bare:.2f}×; goal ≤ 3×) — found {result.figures['found']:,}, "
                  f"visits {result.figures['visits']:,}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of the process: {peak:.0f} MiB")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
