"""The cost of the audit chain, and the rate of ``audit verify``.

- command path: escalate existing tasks, one event per command and transaction, through the
  ledger application — with the ledger's recorder (transaction time, account and hash chain,
  positions under BEGIN IMMEDIATE) versus the library's plain SQLiteApplicationRecorder on the
  same events. Goal: the chain costs under 15% (ratio >= 0.85).
- batched save: new tasks, many aggregates per save, the same two ways. Goal: the same.
- audit verify: events recomputed per second over the chained store (streaming, from event 1).

The two sides take their steps in turn (a command on one, then on the other), so that both
meet the same disk and the same neighbours.
Run: ``python benchmarks/bench_chain.py [--commands N] [--batches N] [--verify-events N]
[--postgres postgresql://USER@HOST:PORT/DB]`` (PostgreSQL is measured only when given).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from eventsourcing.postgres import PostgresApplicationRecorder  # noqa: E402
from eventsourcing.sqlite import SQLiteApplicationRecorder  # noqa: E402
from eventsourcing.utils import get_topic  # noqa: E402

from benchmarks.bench_commands import START, seed  # noqa: E402
from domain.task import Task  # noqa: E402
from ledger import audit  # noqa: E402
from ledger.app import Ledger  # noqa: E402
from ledger.store import Store, StoreURL  # noqa: E402
from ledger.tasks import TASK_PREFIX  # noqa: E402
from ledger.unit_of_work import sequence_id  # noqa: E402

GOAL = 0.85


class PlainRecorder(SQLiteApplicationRecorder):
    """The library's recorder as it ships (no chain, no stamps), plus the one look-up the
    application needs to number new tasks."""

    def last_id_with_prefix(self, prefix: str) -> str | None:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT originator_id FROM {self.events_table_name} WHERE "
                      "originator_id >= ? AND originator_id < ? ORDER BY originator_id DESC "
                      "LIMIT 1", [prefix, upper])
            row = c.fetchone()
        return row[0] if row else None


class PlainPostgresRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder as it ships, plus the same look-up."""

    def last_id_with_prefix(self, prefix: str) -> str | None:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        with self.datastore.transaction(commit=False) as c:
            c.execute(f'SELECT originator_id FROM "{self.datastore.schema}".'
                      f"{self.events_table_name} WHERE originator_id >= %s AND "
                      "originator_id < %s ORDER BY originator_id DESC LIMIT 1",
                      [prefix, upper])
            row = c.fetchone()
        return row["originator_id"] if row else None


def open_ledger(url: str, chained: bool) -> Ledger:
    """A ledger with a campaign and two units, on our recorder or on the library's."""
    store_url = StoreURL.parse(url)
    if store_url.kind == "postgresql":
        Store(url).prepare()  # the schema
    env = store_url.event_store_env()
    if not chained:
        plain = PlainRecorder if store_url.kind == "sqlite" else PlainPostgresRecorder
        env["APPLICATION_RECORDER_TOPIC"] = get_topic(plain)
    ledger = Ledger(env, clock=lambda: START + timedelta(days=30))
    seed(ledger)
    return ledger


def make_tasks(ledger: Ledger, count: int) -> list[str]:
    return [ledger.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                          location=f"幸福路{i}号", description="乱堆乱放",
                          deadline=date(2024, 3, 20), occurred_at=START)["task"]
            for i in range(count)]


def escalate(ledger: Ledger, task_id: str) -> int:
    """One command: one event in one transaction."""
    ledger.escalate(actor_id="admin", task_id=task_id, reason="超期未整改，列入督办",
                    occurred_at=START + timedelta(days=1))
    return 1


def new_tasks(ledger: Ledger, size: int) -> int:
    """One batched save: ``size`` new tasks in one transaction."""
    admin = ledger.actor("admin")
    zone = ledger.campaign().zone
    last = ledger.recorder.last_id_with_prefix(TASK_PREFIX)  # type: ignore[attr-defined]
    number = int(last[len(TASK_PREFIX):]) if last else 0
    ledger.save(*[Task.assign(
        task_id=sequence_id(TASK_PREFIX, number + i + 1), unit="JS01", category="环境卫生",
        source="inspection", location="幸福路1号", description="牛皮癣小广告",
        deadline=date(2024, 3, 20), actor=admin, occurred_at=START, zone=zone, now=START)
        for i in range(size)])
    return size


def interleaved(ledgers: list[Ledger], steps: int,
                step: Callable[[Ledger, int], int]) -> list[float]:
    """Events per second of each ledger, their steps taken in turn so that both meet the
    same disk and the same neighbours (this machine is shared)."""
    elapsed = [0.0] * len(ledgers)
    events = [0] * len(ledgers)
    for i in range(steps):
        for k, ledger in enumerate(ledgers):
            started = time.perf_counter()
            events[k] += step(ledger, i)
            elapsed[k] += time.perf_counter() - started
    return [e / t for e, t in zip(events, elapsed, strict=True)]


def verify_rate(folder: str, events: int) -> tuple[float, int]:
    """``audit verify`` over a chained store of about ``events`` events."""
    ledger = open_ledger(f"sqlite:///{folder}/verify.db", True)
    for _ in range(max(1, events // 500)):
        new_tasks(ledger, 500)
    started = time.perf_counter()
    result = audit.verify(ledger)
    elapsed = time.perf_counter() - started
    assert result.ok, result.broken
    ledger.close()
    return result.events / elapsed, result.events


def write_rates(backend: str, chained_url: str, plain_url: str,
                args: argparse.Namespace) -> list[tuple[str, float, float]]:
    """Command-path and batched rates, with the chain and without, interleaved."""
    ledgers = [open_ledger(chained_url, True), open_ledger(plain_url, False)]
    tasks = [make_tasks(ledger, 200) for ledger in ledgers]
    commands = interleaved(ledgers, args.commands,
                           lambda ledger, i: escalate(ledger, tasks[ledgers.index(ledger)]
                                                      [i % 200]))
    batched = interleaved(ledgers, args.batches,
                          lambda ledger, _: new_tasks(ledger, args.batch_size))
    for ledger in ledgers:
        ledger.close()
    return [(f"{backend}: command path (events/s)", *commands),
            (f"{backend}: batched save, {args.batch_size}/tx (events/s)", *batched)]


def postgres_rates(url: str, args: argparse.Namespace) -> list[tuple[str, float, float]]:
    """The same on PostgreSQL, each side in a scratch schema dropped afterwards."""
    schemas = [f"bench_chain_{os.getpid()}_{side}" for side in ("chained", "plain")]
    separator = "&" if "?" in url else "?"
    try:
        return write_rates("postgresql", *(f"{url}{separator}schema={s}" for s in schemas),
                           args)
    finally:
        engine = sa.create_engine(StoreURL.parse(url).sqlalchemy_url())
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1500)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--verify-events", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="Also measure on this PostgreSQL database (in scratch schemas).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures = write_rates("sqlite", f"sqlite:///{folder}/chained.db",
                              f"sqlite:///{folder}/plain.db", args)
        if args.postgres:
            figures += postgres_rates(args.postgres, args)
        rate, verified = verify_rate(folder, args.verify_events)
    failed = False
    print(f"{'figure':50} {'with chain':>11} {'plain lib':>11} {'ratio':>6}  goal")
    for name, ours, plain in figures:
        ratio = ours / plain
        failed |= ratio < GOAL
        print(f"{name:50} {ours:11,.0f} {plain:11,.0f} {ratio:6.2f}  >= {GOAL}  "
              + ("ok" if ratio >= GOAL else "MISSED"))
    print(f"{'sqlite: audit verify (events/s)':50} {rate:11,.0f} {'':>11} {'':>6}  "
          f"({verified:,} events, streaming)")
    print(f"(sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cores, the two sides "
          "interleaved step by step)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
