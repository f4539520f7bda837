"""Where the bulk write's time goes, an event: the figure ``benchmarks/run.py`` reports as
"bulk write" is the time of the generator's saves (``Ledger.save`` of about a thousand
aggregates: their events mapped to stored events — the state encoded as JSON — then, under
the write lock, chained and inserted with one ``executemany``, and committed), against
raw sqlite3 ``executemany`` of the same stored rows, 1,000 a transaction, into a table
with the same key and index and no trigger.

Here the generator's saves are captured (their events, in order), then replayed into a new
store, each part timed alone, in wall and CPU time (``time.process_time``), per event:

- map: ``Ledger.mapper.to_stored_event`` of each event (``ledger.codec``);
- chain: ``ledger.recorders.chain_rows`` of the save's stored events (the two SHA-256 an
  event), timed on its own on the same events;
- insert: ``recorder.insert_events`` (the chain again, the statement, the guard trigger,
  the commit), less the chain;
- raw: the baseline, the best of ``--runs``.

The replayed ledger is the generated one but for its transaction times (the replay's).
Run: ``python benchmarks/bench_bulk.py [--events N] [--runs
N] [--profile]`` (``--profile``: cProfile of the replay, by internal time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_commands import raw_table  # noqa: E402
from benchmarks.generate import city_scale  # noqa: E402
from ledger.demo import Simulation  # noqa: E402
from ledger.recorders import chain_rows  # noqa: E402
from ledger.store import Store  # noqa: E402

BATCH = 1000  # the baseline's rows a transaction, as in benchmarks/run.py


def captured_saves(folder: Path, events: int) -> list[list[Any]]:
    """The generator's saves, each its events, in order."""
    store = Store(f"sqlite:///{folder / 'captured.db'}")
    ledger = store.ledger
    saves: list[list[Any]] = []

    def save(*aggregates: Any, **_: Any) -> list[int]:
        events = [e for aggregate in aggregates for e in aggregate.collect_events()]
        saves.append(events)
        to_stored = ledger.mapper.to_stored_event
        return list(ledger.recorder.insert_events([to_stored(e) for e in events]) or [])

    ledger.save = save  # type: ignore[method-assign]
    Simulation(ledger, seed=1, until="2025-12", scale=city_scale(events), batch=1000).run()
    store.close()
    return saves


def replay(folder: Path, saves: list[list[Any]], profile: bool) -> tuple[dict[str, tuple[float, float]], Path]:
    """Wall and CPU seconds of each part, replaying ``saves`` into a new store."""
    path = folder / "replayed.db"
    store = Store(f"sqlite:///{path}")
    ledger = store.ledger
    recorder, to_stored = ledger.recorder, ledger.mapper.to_stored_event
    parts = {name: [0.0, 0.0] for name in ("map", "chain", "insert")}
    profiler = cProfile.Profile() if profile else None

    def timed(name: str, work: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        result = work()
        if profiler:
            profiler.disable()
        parts[name][0] += time.perf_counter() - wall
        parts[name][1] += time.process_time() - cpu
        return result

    position = 0
    for events in saves:
        stored = timed("map", lambda: [to_stored(e) for e in events])  # noqa: B023
        timed("chain", lambda: chain_rows(stored, position, "0" * 64,  # noqa: B023
                                          "2025-12-31T00:00:00.000000+00:00", "a@b"))
        timed("insert", lambda: recorder.insert_events(stored))  # noqa: B023
        position += len(stored)
    store.close()
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    parts["insert"] = [parts["insert"][i] - parts["chain"][i] for i in (0, 1)]
    return {name: (wall, cpu) for name, (wall, cpu) in parts.items()}, path


def raw(folder: Path, ledger_file: Path, runs: int) -> tuple[float, float]:
    """The baseline's best wall and CPU seconds: the stored rows, ``BATCH`` a transaction."""
    rows = sqlite3.connect(ledger_file).execute(
        "SELECT * FROM stored_events ORDER BY notification_id").fetchall()
    best = (float("inf"), float("inf"))
    for run in range(runs):
        conn = raw_table(str(folder / f"raw-{run}.db"))
        wall = cpu = 0.0
        for start in range(0, len(rows), BATCH):
            w, c = time.perf_counter(), time.process_time()
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)",
                             rows[start:start + BATCH])
            conn.execute("COMMIT")
            wall, cpu = wall + time.perf_counter() - w, cpu + time.process_time() - c
        conn.close()
        best = min(best, (wall, cpu))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3, help="baseline runs (best of)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taizhang-bulk-") as tmp:
        folder = Path(tmp)
        saves = captured_saves(folder, args.events)
        count = sum(map(len, saves))
        parts, replayed = replay(folder, saves, args.profile)
        baseline = raw(folder, replayed, args.runs)
    ours = tuple(sum(part[i] for part in parts.values()) for i in (0, 1))
    print(f"{count:,} events in {len(saves)} saves; µs an event (wall / CPU):")
    for name, (wall, cpu) in [*parts.items(), ("bulk write", ours), ("raw", baseline)]:
        print(f"  {name:12} {wall / count * 1e6:7.2f} / {cpu / count * 1e6:6.2f}")
    print(f"bulk write {count / ours[0]:,.0f} events/s vs raw {count / baseline[0]:,.0f} = "
          f"{baseline[0] / ours[0]:.2f} (CPU {baseline[1] / ours[1]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
