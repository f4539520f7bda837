"""The read side's speed: a full rebuild against merely reading the log, and a task's
history on a small and on a large ledger.

1. Rebuild rate: every projection in ``all_projections`` folded from zero (events/s),
   beside the rate of reading the same stored events and ``json.loads``-ing them with no
   projection work, in the same run. Goal: at least 0.5× the reading rate.
2. ``history`` latency for one task (read from that task's events alone) on a ledger of
   ``--small`` events and one of ``--large`` events. Goal: the same within 1.5×.

Ledgers are generated once with ``benchmarks/generate.py`` (the demo simulation through the
bulk path) into ``--dir`` and reused. Each timing is the best of ``--repeat`` runs, as the
machine may be shared.

Run: ``python benchmarks/bench_projections.py --rebuild 100000 --small 10000
--large 1000000 --dir /tmp/bench``
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate  # noqa: E402
from ledger.store import Store  # noqa: E402
from projections.engine import Projector  # noqa: E402
from projections.read import ReadSide  # noqa: E402


def ledger_of(folder: Path, events: int) -> str:
    """A SQLite ledger of about ``events`` events, generated on first use."""
    path = folder / f"ledger-{events}.db"
    done = folder / f"ledger-{events}.done"
    url = f"sqlite:///{path}"
    if not done.exists():
        for stale in folder.glob(f"ledger-{events}.db*"):
            stale.unlink()
        started = time.perf_counter()
        summary = generate(url, events)
        done.write_text(json.dumps(summary))
        print(f"  generated {summary['events']:,} events in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    return url


def best(repeat: int, run) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def rebuild_rate(url: str, repeat: int) -> None:
    store = Store(url)
    try:
        ledger = store.ledger
        events = ledger.max_position()
        read = ReadSide(store)

        def just_read() -> None:
            for record in ledger.records():
                json.loads(record.state)

        reading = best(repeat, just_read)
        rebuilding = best(repeat, read.rebuild)
        read_rate, rebuild = events / reading, events / rebuilding
        print(f"rebuild of {', '.join(read.projections)} over {events:,} events")
        print(f"  read + json.loads (baseline) {read_rate:12,.0f} events/s  ({reading:.2f} s)")
        print(f"  full rebuild                 {rebuild:12,.0f} events/s  ({rebuilding:.2f} s)")
        print(f"  ratio rebuild/baseline       {rebuild / read_rate:12.2f}   (goal >= 0.50)")
        print("  each projection rebuilt alone (reading and decoding included):")
        for projection in read.projections.values():
            alone = Projector(store.engine, lambda after, upto: ledger.records(after, upto),
                              read._zone, [projection], head=ledger.max_position)
            seconds = best(repeat, alone.rebuild)
            print(f"    {projection.name:12} {events / seconds:12,.0f} events/s  "
                  f"ratio {reading / seconds:5.2f}")
    finally:
        store.close()


def history_latency(urls: list[str], samples: int, repeat: int
                    ) -> list[tuple[int, float, float]]:
    """Per ledger: its events, and the median and 95th percentile seconds of one task's
    history (warm, in process). The ledgers are measured in turn, task by task, so that
    both see the same load on a shared machine."""
    stores = [Store(url) for url in urls]
    try:
        reads, tasks = [], []
        rng = random.Random(1)
        for store in stores:
            read = ReadSide(store)
            last = store.ledger.recorder.last_id_with_prefix("T-")  # type: ignore[attr-defined]
            tasks.append([f"T-{rng.randint(1, int(last[2:])):06d}" for _ in range(samples)])
            read.history(tasks[-1][0])  # the campaign and the connection, once
            reads.append(read)
        times: list[list[float]] = [[] for _ in stores]
        for n in range(samples):
            for i, read in enumerate(reads):
                task = tasks[i][n]
                times[i].append(best(repeat, lambda read=read, task=task: read.history(task)))
        found = []
        for store, seconds in zip(stores, times, strict=True):
            seconds.sort()
            found.append((store.ledger.max_position(), statistics.median(seconds),
                          seconds[int(0.95 * (len(seconds) - 1))]))
        return found
    finally:
        for store in stores:
            store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/taizhang-bench", help="where ledgers are kept")
    parser.add_argument("--rebuild", type=int, default=100_000,
                        help="events in the ledger rebuilt")
    parser.add_argument("--small", type=int, default=10_000, help="events: small ledger")
    parser.add_argument("--large", type=int, default=1_000_000, help="events: large ledger")
    parser.add_argument("--samples", type=int, default=200, help="tasks whose history is read")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)

    rebuild_rate(ledger_of(folder, args.rebuild), args.repeat)

    small, large = history_latency([ledger_of(folder, args.small),
                                    ledger_of(folder, args.large)], args.samples, args.repeat)
    print("history of one task (median, 95th percentile)")
    for label, (events, median, p95) in (("small", small), ("large", large)):
        print(f"  {label} ledger {events:>10,} events  {median * 1000:7.2f} ms  "
              f"{p95 * 1000:7.2f} ms")
    print(f"  ratio large/small (median)   {large[1] / small[1]:7.2f}   (goal <= 1.50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
