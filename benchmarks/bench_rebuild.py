"""A full projection rebuild on existing SQLite ledgers: events/s beside reading and
``json.loads``-ing the same rows, and the rebuild's peak memory, as ``benchmarks/run.py``
measures them (its own functions, each rebuild in a fresh interpreter).

Run: ``python benchmarks/bench_rebuild.py sqlite:////dev/shm/big.db
[--small sqlite:////dev/shm/small.db] [--repeat 3]`` (generate the ledgers first with
``benchmarks/generate.py``). Each figure is the median of ``--repeat`` runs, as the machine
may be shared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import read_rate, rebuild  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a generated ledger (its read models are rebuilt)")
    parser.add_argument("--small", help="a smaller ledger, for the peak memory ratio")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = [rebuild(args.url) for _ in range(args.repeat)]
    rate = statistics.median(r["events"] / r["seconds"] for r in runs)
    peak = statistics.median(r["peak_kib"] for r in runs) / 1024
    reading = statistics.median(read_rate(args.url) for _ in range(args.repeat))
    events = runs[0]["events"]
    print(f"{events:,} events: rebuild {rate:,.0f}/s, reading {reading:,.0f}/s, "
          f"ratio {rate / reading:.2f} (goal >= 0.5); peak {peak:.0f} MiB")
    if args.small:
        small = [rebuild(args.small) for _ in range(args.repeat)]
        low = statistics.median(r["peak_kib"] for r in small) / 1024
        print(f"{small[0]['events']:,} events: peak {low:.0f} MiB; "
              f"ratio {peak / low:.2f} (goal <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
