"""The suite on PostgreSQL: a city's ledger written, commanded, shared and imported, each
beside what the server does raw.

In a database of its own, created on the server named and dropped afterwards:

- bulk write: the bulk path's saves while the N-event ledger is generated vs raw psycopg
  ``COPY`` (text or binary) or ``executemany``, whichever is fastest, of the very same
  stored rows, a thousand a transaction, into a table like the event table (its columns,
  keys and indexes; none of its triggers) — goal ≥ 0.35×; beside it, for reference, the
  store alone: the recorder storing the same events already encoded (chaining, COPY, the
  guard trigger), against the same baseline;
- command path: one command (load, decide, save) at a time vs raw one-row transactions
  inserting rows like the commands' own into such a table holding the whole ledger — goal
  ≥ 0.5× (both the best of three runs);
- writers: four writer processes at once vs one (``benchmarks/bench_writers.py``'s
  escalations and assignments on a shared pool of tasks) — goal ≥ 1.5×;
- import: the Baltimore-shaped 311 file (``benchmarks/bench_import.py``) imported into
  PostgreSQL vs into SQLite, rows/s — goal ≥ 0.5×.

Run: ``python benchmarks/run.py --db postgresql://postgres@127.0.0.1:5432/test`` (the
server and a database to connect to first), or this file with ``--db`` the same way.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_import, bench_writers  # noqa: E402
from benchmarks.generate import generate  # noqa: E402
from ledger.importer import Importer, load_mapping, open_table  # noqa: E402
from ledger.store import Store, StoreURL  # noqa: E402

RUNS = 3  # best of, for the raw baselines and the command path
BATCH = 1000  # rows a transaction, as the generator's saves
# (name, ours, baseline, unit, goal): as benchmarks/run.py prints them.
Figure = tuple[str, float, float, str, float | None]


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    """A new database on the server of ``server`` (a postgresql:// URL naming a database to
    connect to), dropped afterwards: its URL."""
    name = f"taizhang_bench_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(server.split("?", 1)[0])
    admin = StoreURL.parse(server)
    conninfo = dict(host=admin.host, port=admin.port, user=admin.user,
                    password=admin.password or None, dbname=admin.database)
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def connect(url: str) -> psycopg.Connection[Any]:
    parsed = StoreURL.parse(url)
    return psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.user,
                           password=parsed.password or None, dbname=parsed.database,
                           options=f"-csearch_path={parsed.schema}")


def raw_table(conn: psycopg.Connection[Any], events: str, name: str) -> None:
    """A table like the event table: its columns, keys and indexes, none of its triggers."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                         "INCLUDING INDEXES)").format(sql.Identifier(name),
                                                      sql.Identifier(events)))
    conn.commit()


def records(url: str, after: int = 0) -> list[tuple[Any, ...]]:
    store = Store(url)
    try:
        return [tuple(r) for r in store.ledger.records(after=after, batch=10_000)]
    finally:
        store.close()


def _copy(conn: psycopg.Connection[Any], table: str, rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) \
            as copy:
        for row in rows:
            copy.write_row(row)


def _copy_binary(conn: psycopg.Connection[Any], table: str, rows: list[tuple[Any, ...]]
                 ) -> None:
    with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table))) as copy:
        copy.set_types(["int8", "text", "int8", "text", "bytea", "timestamptz", "text",
                        "text"])
        for row in rows:
            copy.write_row(row)


def _executemany(conn: psycopg.Connection[Any], table: str,
                 rows: list[tuple[Any, ...]]) -> None:
    conn.cursor().executemany(sql.SQL("INSERT INTO {} VALUES (%s,%s,%s,%s,%s,%s,%s,%s)")
                              .format(sql.Identifier(table)), rows)


def raw_bulk(url: str, events: str, rows: list[tuple[Any, ...]]) -> float:
    """Rows/s of the fastest of raw COPY (text and binary, as the bulk path copies) and
    executemany, ``BATCH`` rows a transaction, into a fresh table like the event table: the
    best of ``RUNS`` runs each."""
    best = 0.0
    # Binary COPY sends the transaction time as a timestamp (read back, it is text).
    timed = [(*row[:5], datetime.fromisoformat(row[5]), *row[6:]) for row in rows]
    with connect(url) as conn:
        for write, data in ((_copy, rows), (_copy_binary, timed), (_executemany, rows)):
            for _ in range(RUNS):
                raw_table(conn, events, "raw_events")
                started = time.perf_counter()
                for i in range(0, len(data), BATCH):
                    write(conn, "raw_events", data[i:i + BATCH])
                    conn.commit()
                best = max(best, len(rows) / (time.perf_counter() - started))
        conn.execute("DROP TABLE raw_events")
        conn.commit()
    return best


def store_alone(url: str, rows: list[tuple[Any, ...]]) -> float:
    """Events/s of the recorder storing the very same events, already encoded, ``BATCH`` a
    save, into an empty store (the bulk write without the simulation's encoding of each
    event's state): chaining, ``COPY``, the event table's guard trigger and the commits.
    The best of ``RUNS``, each in a new schema."""
    events = [StoredEvent(row[1], row[2], row[3], row[4]) for row in rows]
    best = 0.0
    for run in range(RUNS):
        store = Store(f"{url}{run}")
        try:
            recorder: Any = store.ledger.recorder
            started = time.perf_counter()
            for i in range(0, len(events), BATCH):
                recorder.insert_events(events[i:i + BATCH])
            best = max(best, len(events) / (time.perf_counter() - started))
        finally:
            store.close()
        bench_writers.drop_schema(f"{url}{run}")
    return best


def command_path(url: str, count: int) -> tuple[float, list[tuple[Any, ...]]]:
    """Escalations, one command at a time, of open tasks (``benchmarks.run.escalations``,
    the best of ``RUNS`` runs), and the rows the last run stored."""
    from benchmarks.run import escalations

    store = Store(url)
    try:
        rate, before = escalations(store, count, RUNS)
        return rate, records(url, after=before)
    finally:
        store.close()


def raw_single(url: str, events: str, ledger_rows: list[tuple[Any, ...]],
               command_rows: list[tuple[Any, ...]]) -> float:
    """Raw one-row transactions of rows like the commands' own (each moved past the log's
    end) into a table like the event table holding the whole ledger (so the same index
    entries): rows/s, the best of ``RUNS``."""
    rates = []
    with connect(url) as conn:
        raw_table(conn, events, "raw_single")
        for i in range(0, len(ledger_rows), 10_000):
            _copy(conn, "raw_single", ledger_rows[i:i + 10_000])
        conn.commit()
        insert = sql.SQL("INSERT INTO {} VALUES (%s,%s,%s,%s,%s,%s,%s,%s)").format(
            sql.Identifier("raw_single"))
        for run in range(1, RUNS + 1):
            shift = run * len(ledger_rows)
            moved = [(r[0] + shift, r[1], r[2] + shift, *r[3:]) for r in command_rows]
            started = time.perf_counter()
            for row in moved:
                conn.execute(insert, row)
                conn.commit()
            rates.append(len(moved) / (time.perf_counter() - started))
        conn.execute("DROP TABLE raw_single")
        conn.commit()
    return max(rates)


def writers(url: str, seconds: float, rounds: int = 3,
            say: Callable[[str], None] = print) -> tuple[float, float]:
    """Commands/s of one writer and of four at once (the best round of each, interleaved)
    on a pool of tasks in a schema of their own; says where a command's time went."""
    shared = f"{url}?schema=writers"
    ids = bench_writers.seed(shared, 200)
    best: dict[int, tuple[float, int, int, float, float]] = {}
    for _ in range(rounds):
        for count in (1, 4):
            found = bench_writers.run(shared, ids, count, seconds)
            if count not in best or found[0] > best[count][0]:
                best[count] = found
    for count, (rate, _, conflicts, client, server) in best.items():
        wall = count * 1000 / rate if rate else float("nan")
        say(f"  {count} writer(s): {rate:,.0f} commands/s; a command: {wall:.2f} ms in a "
            f"writer, of it {client * 1000:.2f} ms client CPU and {server * 1000:.2f} ms "
            f"server CPU ({conflicts} conflicts; {os.cpu_count()} cores, load "
            f"{os.getloadavg()[0]:.1f})")
    return best[1][0], best[4][0]


def import_rate(url: str, data: Path, rows: int) -> float:
    """Rows/s of importing the 311-shaped file ``data`` into the empty store ``url``."""
    store = Store(url)
    try:
        ledger = store.ledger
        ledger.start_campaign(name="Baltimore 311", time_zone="America/New_York",
                              categories=[], required_inspections=0, admin_id="ops",
                              admin_name="311 office")
        started = time.perf_counter()
        mapping = load_mapping(bench_import.MAPPING)
        report = Importer(ledger, actor_id="ops", mapping=mapping,
                          table=open_table(data, mapping), batch_size=bench_import.BATCH).run()
        seconds = time.perf_counter() - started
        assert not report.rejects, report.rejects[:3]
        return rows / seconds
    finally:
        store.close()


def postgres_figures(server: str, events: int, commands: int, seconds: float = 4.0,
                     import_rows: int = 10_000,
                     say: Callable[[str], None] = print) -> list[Figure]:
    """Every PostgreSQL figure, in a scratch database on ``server``'s server."""
    figures: list[Figure] = []
    with scratch_database(server) as url, tempfile.TemporaryDirectory() as folder:
        os.environ.setdefault("XDG_STATE_HOME", str(Path(folder) / "state"))
        ledger_url = f"{url}?schema=city"
        say(f"PostgreSQL: in database {StoreURL.parse(url).database} (dropped afterwards), "
            f"generating {events:,} events …")
        summary = generate(ledger_url, events)
        table = Store(ledger_url).url.events_table()
        stored = records(ledger_url)
        raw = raw_bulk(ledger_url, table, stored)
        figures.append(("PostgreSQL bulk write (events/s)",
                        summary["events"] / summary["write_seconds"], raw, "/s", 0.35))
        insert = store_alone(f"{url}?schema=again", stored)
        figures.append(("  of it the store alone (events/s)", insert, raw, "/s", None))
        say("PostgreSQL: command path …")
        rate, rows = command_path(ledger_url, commands)
        figures.append(("PostgreSQL command path (events/s)", rate,
                        raw_single(ledger_url, table, stored, rows), "/s", 0.5))
        say("PostgreSQL: 1 and 4 writers …")
        one, four = writers(url, seconds, say=say)
        figures.append(("PostgreSQL 4 writers vs 1 (commands/s)", four, one, "/s", 1.5))
        say("PostgreSQL: import …")
        data = Path(folder) / "requests.csv"
        bench_import.generate(data, import_rows)
        on_sqlite = import_rate(f"sqlite:///{Path(folder) / 'import.db'}", data, import_rows)
        figures.append(("import on PostgreSQL vs on SQLite (rows/s)",
                        import_rate(f"{url}?schema=import", data, import_rows), on_sqlite,
                        "/s", 0.5))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="postgresql://USER@HOST:PORT/DB")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--import-rows", type=int, default=10_000)
    parser.add_argument("--report-only", action="store_true",
                        help="exit 0 even when a goal is missed")
    args = parser.parse_args()
    figures = postgres_figures(args.db, args.events, args.commands, args.seconds,
                               args.import_rows)
    missed = False
    for name, ours, baseline, _, goal in figures:
        ok = goal is None or ours / baseline >= goal
        missed |= not ok
        verdict = "(reference)" if goal is None else \
            f">= {goal}  {'ok' if ok else 'MISSED'}"
        print(f"{name:44} {ours:12,.0f} {baseline:12,.0f} {ours / baseline:7.2f}  {verdict}")
    return 1 if missed and not args.report_only else 0


if __name__ == "__main__":
    raise SystemExit(main())
