"""A full projection rebuild against its true limit: events/s beside raw ``sqlite3`` reading
and decoding the same log *and* writing the very rows the rebuild left in the read models,
with ``executemany``, in as many transactions as the rebuild's windows (and the secondary
indexes made at the end, as the rebuild makes them) — and the rebuild's peak memory.

The raw run writes each final row once, into an attached scratch file with the read
models' own tables and indexes; its log is read window by window beside the writes, in the
same transactions. So the goal (≥ 0.5× of it) measures what folding costs beyond what the
disk, SQLite and JSON must do anyway. Reading and decoding alone is printed for reference.

Run: ``python benchmarks/bench_rebuild.py sqlite:////dev/shm/big.db
[--small sqlite:////dev/shm/small.db] [--repeat 3]`` (generate the ledgers first with
``benchmarks/generate.py``). Each figure is the best of ``--repeat`` runs, as the machine
may be shared. ``benchmarks/run.py`` uses these functions.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.store import StoreURL  # noqa: E402
from projections.rebuild import REBUILD_WINDOW  # noqa: E402

# Run in a fresh interpreter, so that its peak resident memory is the rebuild's alone (read
# from the kernel's high-water mark of this process's memory, VmHWM: getrusage's maxrss
# survives exec and would report the parent's).
REBUILD = """
import json, re, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from ledger.store import Store
from projections.read import ReadSide
store = Store({url!r})
read = ReadSide(store)
started = time.perf_counter()
read.rebuild()
seconds = time.perf_counter() - started
peak = re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())
print(json.dumps({{"seconds": seconds, "events": store.ledger.max_position(),
                  "peak_kib": int(peak.group(1))}}))
"""
# What a rebuild reads of each stored event.
READ = ("SELECT notification_id, originator_id, originator_version, topic, state, "
        "recorded_at, account FROM stored_events WHERE notification_id > ? "
        "AND notification_id <= ? ORDER BY notification_id")
RUNS = 3


def rebuild(url: str) -> dict[str, float]:
    """A full rebuild of ``url``'s read models in a fresh interpreter: its seconds, the
    events it folded and its peak memory (KiB)."""
    out = subprocess.run([sys.executable, "-c", REBUILD.format(root=str(ROOT), url=url)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_rate(url: str, runs: int = RUNS) -> float:
    """Raw ``sqlite3`` reading every stored event (the columns a rebuild reads) and
    ``json.loads``-ing its state: events/s, the best of ``runs``."""
    conn = sqlite3.connect(StoreURL.parse(url).path)
    try:
        last = conn.execute("SELECT max(notification_id) FROM stored_events").fetchone()[0]
        return max(last / _timed(lambda: _read(conn, 0, last)) for _ in range(runs))
    finally:
        conn.close()


def limit_rate(url: str, runs: int = RUNS, window: int = REBUILD_WINDOW) -> float:
    """The rebuild's true limit, events/s (the best of ``runs``): reading and decoding the
    log ``window`` events a transaction, and in the same transactions writing the read
    models' rows as the last rebuild left them (``rm_*``: a share of each table's rows a
    window) with ``executemany`` into the same tables in an attached scratch file; then
    their secondary indexes. Needs the read models rebuilt (``rebuild``)."""
    path = Path(StoreURL.parse(url).path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name "
                              "LIKE 'rm\\_%' ESCAPE '\\' AND sql IS NOT NULL").fetchall()
        tables = {name: sql for kind, name, sql in schema if kind == "table"}
        indexes = [sql for kind, _, sql in schema if kind == "index"]
        rows = {name: conn.execute(f'SELECT * FROM "{name}"').fetchall() for name in tables}
        last = conn.execute("SELECT max(notification_id) FROM stored_events").fetchone()[0]
        rates = []
        for run in range(runs):
            scratch = path.with_name(f"{path.stem}-limit-{run}.db")
            conn.execute("ATTACH DATABASE ? AS raw", (str(scratch),))
            conn.execute("PRAGMA raw.journal_mode=WAL")  # as the ledger file's
            for sql in tables.values():
                conn.execute(sql.replace("CREATE TABLE ", "CREATE TABLE raw.", 1))
            seconds = _timed(lambda: _write_all(conn, last, window, rows, indexes))
            rates.append(last / seconds)
            conn.execute("DETACH DATABASE raw")
            for leftover in scratch.parent.glob(f"{scratch.name}*"):
                leftover.unlink()
        return max(rates)
    finally:
        conn.close()


def _write_all(conn: sqlite3.Connection, last: int, window: int,
               rows: dict[str, list[tuple[object, ...]]], indexes: list[str]) -> None:
    windows = max(1, -(-last // window))
    for w in range(windows):
        conn.execute("BEGIN")
        _read(conn, w * window, min(last, (w + 1) * window))
        for name, table_rows in rows.items():
            share = table_rows[w * len(table_rows) // windows:
                               (w + 1) * len(table_rows) // windows]
            if share:
                marks = ",".join("?" * len(share[0]))
                conn.executemany(f'INSERT INTO raw."{name}" VALUES ({marks})', share)
        conn.execute("COMMIT")
    for sql in indexes:
        conn.execute(re.sub(r"^(CREATE (UNIQUE )?INDEX )", r"\1raw.", sql))


def _read(conn: sqlite3.Connection, after: int, upto: int) -> None:
    loads = json.loads
    for row in conn.execute(READ, (after, upto)):
        loads(row[4])


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a generated ledger (its read models are rebuilt)")
    parser.add_argument("--small", help="a smaller ledger, for the peak memory ratio")
    parser.add_argument("--repeat", type=int, default=RUNS)
    args = parser.parse_args()
    runs = [rebuild(args.url) for _ in range(args.repeat)]
    rate = max(r["events"] / r["seconds"] for r in runs)
    peak = min(r["peak_kib"] for r in runs) / 1024
    limit = limit_rate(args.url, args.repeat)
    reading = read_rate(args.url, args.repeat)
    events = runs[0]["events"]
    print(f"{events:,} events: rebuild {rate:,.0f}/s; raw read + decode + write "
          f"{limit:,.0f}/s, ratio {rate / limit:.2f} (goal >= 0.5); read + decode alone "
          f"{reading:,.0f}/s; peak {peak:.0f} MiB")
    if args.small:
        small = [rebuild(args.small) for _ in range(args.repeat)]
        low = min(r["peak_kib"] for r in small) / 1024
        print(f"{small[0]['events']:,} events: peak {low:.0f} MiB; "
              f"ratio {peak / low:.2f} (goal <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
