"""The benchmark suite: a city's ledger at N events, each figure beside its baseline.

In one run, on SQLite (the embedded default):

- bulk write: the bulk path's saves while the N-event ledger is generated (events encoded,
  chained, inserted and committed, a thousand aggregates a save) vs raw sqlite3
  ``executemany`` of the very same stored rows — goal ≥ 0.35×; beside it, for reference,
  the whole generation's rate (the simulation's draws and the domain's commands included);
- command path: one command (load, decide, save) vs raw one-row-per-transaction inserts of
  the same rows into the same table, taking turns every 50 commands — goal ≥ 0.5× (both
  the best of three runs);
- full projection rebuild vs its true limit: raw sqlite3 reading and decoding the same log
  and writing the very rows the rebuild left, in as many transactions
  (``benchmarks/bench_rebuild.py``) — goal ≥ 0.5×;
- ``rank``, ``history`` and ``board --unit`` at N events vs at N/10 — goal ≤ 1.5×;
- the month's documents (``benchmarks/bench_bulletin.py``): the bulletin in every format,
  the summary of a 街道 and of the city, ``rank --published`` — goal ≤ 1.5× as the ledger's
  history grows: on the city of N/10 over ten years (about N events) vs over one; at N vs
  N/10 too, where the 街道's are judged and the whole city's (a city ten times the size)
  reported;
- peak memory (RSS) of a full rebuild at N vs at N/10 — goal ≤ 1.3×;
- the check every query makes that the read models were folded from the ledger as it is
  (their positions' hashes, one indexed lookup each) at N vs at N/10 — goal ≤ 1.5×; the
  queries above pay it, and each command the check of this account's witness;
- start-up: ``taizhang --help``, ``task show``, ``history`` and ``board --unit`` as whole
  processes vs ``sqlite-utils rows DB stored_events --limit 5`` on the same ledger file
  (``benchmarks/bench_startup.py``) — goal ≤ 1.5×;
- ``audit verify`` events/s.

Each raw baseline is the best of three runs. Exits non-zero if a goal is missed
(``--report-only``: always 0, for the smoke test).
Run: ``python benchmarks/run.py [--events N]`` (default 200,000: half a minute on two cores;
``--events 1000000`` is the yardstick: a city's year). From 170,000 events up, the ledger of
N/10 is a smaller city over the same twelve months, so its 街道 JD01 has the same history.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_bulletin import command, document_times  # noqa: E402
from benchmarks.bench_commands import raw_table  # noqa: E402
from benchmarks.bench_rebuild import limit_rate, read_rate, rebuild  # noqa: E402
from benchmarks.bench_startup import startup_times  # noqa: E402
from benchmarks.generate import generate  # noqa: E402
from ledger import audit  # noqa: E402
from ledger.app import Ledger  # noqa: E402
from ledger.store import Store, StoreURL  # noqa: E402
from projections.read import ReadSide  # noqa: E402

MONTH = "2025-12"  # the generated ledgers end with this month
UNIT = "JD01"  # a 街道 that exists at every size, at the same density
BATCH = 1000  # the generator's aggregates per save
# Raw baselines are the best of a few runs: a busy moment on the machine must not make a
# goal look met.
BASELINE_RUNS = 3


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def median_of(runs: int, work: Callable[[], object]) -> float:
    return statistics.median(timed(work) for _ in range(runs))


def raw_executemany(folder: Path, url: str) -> float:
    """Raw sqlite3 inserting the ledger's own stored rows, ``BATCH`` per transaction, into
    a new file (only the inserts and commits are timed; the rows are read from the ledger
    in between). The best of ``BASELINE_RUNS``."""
    store = Store(url)
    try:
        return max(_executemany_once(folder / f"raw-many-{run}.db", store)
                   for run in range(BASELINE_RUNS))
    finally:
        store.close()


def _executemany_once(path: Path, store: Store) -> float:
    conn = raw_table(str(path))
    rows: list[tuple[object, ...]] = []
    seconds, count = 0.0, 0

    def insert() -> float:
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", rows)
        conn.execute("COMMIT")
        return time.perf_counter() - started

    for record in store.ledger.records(batch=10_000):
        rows.append(tuple(record))
        if len(rows) == BATCH:
            seconds, count = seconds + insert(), count + len(rows)
            rows.clear()
    if rows:
        seconds, count = seconds + insert(), count + len(rows)
    conn.close()
    path.unlink()
    return count / seconds


def open_tasks(store: Store, wanted: int) -> list[str]:
    """``wanted`` open tasks picked at random (each once, if there are as many)."""
    tasks = [row["task"] for row in ReadSide(store).board(open_only=True)]
    rng = random.Random(1)
    return (rng.sample(tasks, wanted) if len(tasks) >= wanted
            else [rng.choice(tasks) for _ in range(wanted)])


def escalate(ledger: Ledger, tasks: list[str]) -> float:
    """Escalate ``tasks``, one command (one event, one transaction) each: the seconds."""
    started = time.perf_counter()
    for task_id in tasks:
        ledger.escalate(actor_id="admin", task_id=task_id, reason="超期未整改，列入督办")
    return time.perf_counter() - started


def escalations(store: Store, count: int, runs: int) -> tuple[float, int]:
    """Escalate open tasks, one command (one event, one transaction) at a time: the best
    rate of ``runs`` runs (whichever runs first in a process also pays for growing the
    write-ahead log), each on tasks no earlier run loaded, and the log's position before
    the last run. PostgreSQL's command path."""
    ledger = store.ledger
    chosen = open_tasks(store, count * runs)
    rates = []
    for run in range(runs):
        before = ledger.max_position()
        rates.append(count / escalate(ledger, chosen[run * count:(run + 1) * count]))
    return max(rates), before


# The command path and its baseline take turns every this many commands: both meet the
# same moments of the disk, whose flush time drifts (seen here: 160 to 340 µs a commit
# within minutes).
TURN = 50


def command_path(url: str, path: str, count: int) -> tuple[float, float]:
    """The command path (:func:`escalations`' commands) and its baseline, taking turns
    every ``TURN`` commands: raw sqlite3 inserting rows like the turn's commands' own, one
    per transaction, into the same events table (the same file, the same WAL mode and
    fsync setting: the library's, SQLite's default). Each raw row is a command's row moved
    past the log's end under its task's id with a mark added (its index entry beside the
    task's; the ledger's tasks stay as the next commands expect). Each side's best rate
    of ``BASELINE_RUNS`` runs of ``count``. The raw rows break the scratch ledger's chain:
    this comes last."""
    store = Store(url)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    columns = ("notification_id, originator_id, originator_version, topic, state, "
               "recorded_at, account, hash")
    statement = f"INSERT INTO stored_events ({columns}) VALUES (?,?,?,?,?,?,?,?)"
    try:
        ledger = store.ledger
        chosen = open_tasks(store, count * BASELINE_RUNS)
        ours, raw = [], []
        for run in range(BASELINE_RUNS):
            tasks = chosen[run * count:(run + 1) * count]
            seconds = [0.0, 0.0]
            for turn in range(0, count, TURN):
                before = ledger.max_position()
                seconds[0] += escalate(ledger, tasks[turn:turn + TURN])
                rows = [tuple(record) for record in ledger.records(after=before)]
                moved = [(row[0] + len(rows), f"{row[1]}~raw", *row[2:]) for row in rows]
                started = time.perf_counter()
                for row in moved:
                    conn.execute("BEGIN")
                    conn.execute(statement, row)
                    conn.execute("COMMIT")
                seconds[1] += time.perf_counter() - started
            ours.append(count / seconds[0])
            raw.append(count / seconds[1])
        return max(ours), max(raw)
    finally:
        conn.close()
        store.close()


def verify_rate(url: str) -> float:
    store = Store(url)
    try:
        started = time.perf_counter()
        report = audit.verify(store.ledger)
        seconds = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(f"audit verify failed on the generated ledger: {report.as_dict()}")
        return store.ledger.max_position() / seconds
    finally:
        store.close()


def query_times(url: str, runs: int) -> dict[str, float]:
    """Median seconds of rank, history and board --unit, projections current."""
    store = Store(url)
    read = ReadSide(store)
    read.current()
    last = store.ledger.recorder.last_id_with_prefix("T-")  # type: ignore[attr-defined]
    rng = random.Random(2)
    tasks = [f"T-{rng.randint(1, int(last[2:])):06d}" for _ in range(runs)]
    store.close()
    history = statistics.median(timed(command(url, "history", task)) for task in tasks)
    return {
        "rank": median_of(runs, command(url, "rank", "--month", MONTH, "--level", "社区",
                                        "--parent", UNIT)),
        "history": history,
        "board": median_of(runs, command(url, "board", "--unit", UNIT, "--format", "csv")),
    }


def check_time(url: str, runs: int = 200) -> float:
    """Median seconds of the read models' check against the ledger (what every query
    does before it answers)."""
    store = Store(url)
    try:
        projector = ReadSide(store).projector
        projector.checked_positions()
        return median_of(runs, projector.checked_positions)
    finally:
        store.close()


def sqlite_figures(args: argparse.Namespace, figure: Callable[..., None]) -> str:
    """Every SQLite figure (through ``figure``); returns what the table is of."""
    with tempfile.TemporaryDirectory(prefix="taizhang-bench-") as tmp:
        folder = Path(tmp)
        # Each command keeps this account's witness of the store, as a user's would: here.
        os.environ["XDG_STATE_HOME"] = str(folder / "state")
        big, small = (f"sqlite:///{folder / 'big.db'}", f"sqlite:///{folder / 'small.db'}")
        print(f"generating {args.events:,} and {args.events // 10:,} events …", flush=True)
        started = time.perf_counter()
        summary = generate(big, args.events)
        seconds = time.perf_counter() - started
        written = summary["events"]
        generate(small, args.events // 10)
        figure("bulk write (events/s)", written / summary["write_seconds"],
               raw_executemany(folder, big), "/s", 0.35)
        figure("whole generation incl. domain commands (events/s)",
               written / seconds, written / seconds, "/s", None)

        print("rebuilding projections …", flush=True)
        at_big, at_small = rebuild(big), rebuild(small)
        figure("full projection rebuild (events/s)", at_big["events"] / at_big["seconds"],
               limit_rate(big), "/s", 0.5)
        reading = read_rate(big)
        figure("reading and decoding the log alone (events/s)", reading, reading, "/s", None)
        figure("peak memory of a rebuild (MiB), N vs N/10", at_big["peak_kib"] / 1024,
               at_small["peak_kib"] / 1024, "MiB", 1.3, at_most=True)

        print("timing queries …", flush=True)
        q_big, q_small = query_times(big, args.runs), query_times(small, args.runs)
        for name, label in (("rank", f"rank --level 社区 --parent {UNIT}"),
                            ("history", "history TASK"), ("board", f"board --unit {UNIT}")):
            figure(f"{label} (s), N vs N/10", q_big[name], q_small[name], "s", 1.5,
                   at_most=True)
        figure("read models' check of the chain (ms), N vs N/10", check_time(big) * 1000,
               check_time(small) * 1000, "ms", 1.5, at_most=True)
        documents = document_times(big, args.runs, folder), document_times(small, args.runs,
                                                                            folder)
        # A whole city's document at N is that of a city ten times the size: reported, and
        # judged on the same city with ten times the history (below).
        for name in documents[0]:
            figure(f"{name} (CPU s), N vs N/10", documents[0][name], documents[1][name], "s",
                   1.5 if UNIT in name else None, at_most=True)
        history = f"sqlite:///{folder / 'history.db'}"
        print("the city of N/10 over ten years …", flush=True)
        generate(history, args.events // 10, years=10)
        over_ten = document_times(history, args.runs, folder)
        for name, seconds in over_ten.items():
            figure(f"{name} (CPU s), 10 years vs 1", seconds, documents[1][name], "s", 1.5,
                   at_most=True)

        print("start-up …", flush=True)
        peer, started_up = startup_times(folder / "big.db", args.runs)
        for name, seconds in started_up.items():
            figure(f"{name}, whole process (ms)", seconds * 1000,
                   peer * 1000, "ms", 1.5, at_most=True)

        verify = verify_rate(big)
        print("command path …", flush=True)
        rate, raw = command_path(big, str(folder / "big.db"), args.commands)
        figure("command path (events/s)", rate, raw, "/s", 0.5)
        figure("audit verify (events/s)", verify, verify, "/s", None)
    return f"{written:,} events (N) and a ledger of N/10; SQLite {sqlite3.sqlite_version}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--commands", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5, help="runs per query timing (median)")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="postgresql://USER@HOST:PORT/DB: the PostgreSQL figures "
                        "(benchmarks/bench_postgres.py, in a database made and dropped on "
                        "that server) instead of SQLite's")
    parser.add_argument("--report-only", action="store_true",
                        help="exit 0 even when a goal is missed")
    args = parser.parse_args()
    rows: list[tuple[str, float, float, str, float | None, bool]] = []

    def figure(name: str, ours: float, baseline: float, unit: str, goal: float | None,
               at_most: bool = False) -> None:
        rows.append((name, ours, baseline, unit, goal, at_most))

    if args.db:
        from benchmarks.bench_postgres import postgres_figures

        with tempfile.TemporaryDirectory(prefix="taizhang-bench-") as tmp:
            os.environ["XDG_STATE_HOME"] = str(Path(tmp) / "state")
            for name, ours, baseline, unit, goal in postgres_figures(
                    args.db, args.events, args.commands,
                    say=lambda line: print(line, flush=True)):
                figure(name, ours, baseline, unit, goal)
        about = f"{args.events:,} events asked for; PostgreSQL at {StoreURL.parse(args.db).host}"
    else:
        about = sqlite_figures(args, figure)

    missed = False
    print(f"\n{about}")
    print(f"{'figure':52} {'taizhang':>12} {'baseline':>12} {'ratio':>7}  goal")
    for name, ours, baseline, unit, goal, at_most in rows:
        ratio = ours / baseline
        fmt = ",.3f" if unit in ("s", "ms") else ",.0f"
        if goal is None:
            # A figure for reference: alone, or beside what it is compared with.
            print(f"{name:52} {ours:12,.1f}" if ours == baseline else
                  f"{name:52} {ours:12{fmt}} {baseline:12{fmt}} {ratio:7.2f}  (reference)")
            continue
        ok = ratio <= goal if at_most else ratio >= goal
        missed |= not ok
        sign = "<=" if at_most else ">="
        print(f"{name:52} {ours:12{fmt}} {baseline:12{fmt}} {ratio:7.2f}  {sign} {goal}  "
              f"{'ok' if ok else 'MISSED'}")
    return 1 if missed and not args.report_only else 0


if __name__ == "__main__":
    raise SystemExit(main())
