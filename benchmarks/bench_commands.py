"""Write rates of the ledger beside raw sqlite3 at the same fsync setting.

- command path: load a task (and the acting person and the campaign), apply one command,
  save — versus raw sqlite3 inserting one row per transaction. Goal ≥ 0.5×.
- batched save: many new tasks saved in one transaction through ``Ledger.save`` — versus raw
  sqlite3 ``executemany`` of the same number of rows per transaction.

Both sides use a file in WAL mode with SQLite's default synchronous setting, as the
eventsourcing library opens it. Run: ``python benchmarks/bench_commands.py [--commands N]``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.task import Task  # noqa: E402
from ledger.app import Ledger  # noqa: E402
from ledger.store import Store  # noqa: E402
from ledger.tasks import TASK_PREFIX  # noqa: E402
from ledger.unit_of_work import sequence_id  # noqa: E402

START = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def seeded_store(folder: str) -> Store:
    store = Store(f"sqlite:///{folder}/ledger.db", clock=lambda: START + timedelta(days=30))
    seed(store.ledger)
    return store


def seed(ledger: Ledger) -> None:
    """A campaign with one 街道 and one 社区, all at START."""
    ledger.start_campaign(name="bench", time_zone="Asia/Shanghai", categories=[],
                          required_inspections=4, admin_id="admin", admin_name="管理员",
                          occurred_at=START)
    ledger.register_unit(actor_id="admin", code="JS", name="建设街道", kind="街道", occurred_at=START)
    ledger.register_unit(actor_id="admin", code="JS01", name="幸福社区", kind="社区", parent="JS",
                         occurred_at=START)


def raw_table(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE events (notification_id INTEGER PRIMARY KEY, originator_id "
                 "TEXT, originator_version INTEGER, topic TEXT, state BLOB, recorded_at "
                 "TEXT, account TEXT, hash TEXT)")
    conn.execute("CREATE UNIQUE INDEX events_aggregate ON events "
                 "(originator_id, originator_version)")
    return conn


def sample_row(i: int, state: bytes) -> tuple[object, ...]:
    return (i, f"T-{i:06d}", 1, "domain.task:Task.Escalated", state,
            "2024-03-01T09:00:00.000000+00:00", "bench@host", "0" * 64)


def raw_single(folder: str, count: int, state: bytes) -> float:
    conn = raw_table(f"{folder}/raw1.db")
    started = time.perf_counter()
    for i in range(1, count + 1):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", sample_row(i, state))
        conn.execute("COMMIT")
    return count / (time.perf_counter() - started)


def raw_batched(folder: str, batches: int, size: int, state: bytes) -> float:
    conn = raw_table(f"{folder}/raw2.db")
    started = time.perf_counter()
    for b in range(batches):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)",
                         [sample_row(b * size + i + 1, state) for i in range(size)])
        conn.execute("COMMIT")
    return batches * size / (time.perf_counter() - started)


def command_path(store: Store, count: int, tasks: int) -> float:
    """Escalate existing tasks one command at a time (one event, one transaction each)."""
    ledger = store.ledger
    ids = [ledger.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                         location=f"幸福路{i}号", description="乱堆乱放",
                         deadline=date(2024, 3, 20), occurred_at=START)["task"]
           for i in range(tasks)]
    started = time.perf_counter()
    for i in range(count):
        ledger.escalate(actor_id="admin", task_id=ids[i % tasks], reason="超期未整改，列入督办",
                        occurred_at=START + timedelta(days=1))
    return count / (time.perf_counter() - started)


def batched_save(store: Store, batches: int, size: int) -> float:
    """New tasks, ``size`` aggregates per save, through the application's bulk path."""
    ledger = store.ledger
    admin = ledger.actor("admin")
    zone = ledger.campaign().zone
    last = ledger.recorder.last_id_with_prefix(TASK_PREFIX)  # type: ignore[attr-defined]
    number = int(last[len(TASK_PREFIX):]) if last else 0
    started = time.perf_counter()
    for _ in range(batches):
        tasks = []
        for _ in range(size):
            number += 1
            tasks.append(Task.assign(
                task_id=sequence_id(TASK_PREFIX, number), unit="JS01", category="环境卫生",
                source="inspection", location="幸福路1号", description="牛皮癣小广告",
                deadline=date(2024, 3, 20), actor=admin, occurred_at=START, zone=zone,
                now=START))
        ledger.save(*tasks)
    return batches * size / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = seeded_store(folder)
        state = store.ledger.records().__next__().state
        cmd = command_path(store, args.commands, tasks=200)
        bulk = batched_save(store, args.batches, args.batch_size)
        store.close()
        single = raw_single(folder, args.commands, state)
        many = raw_batched(folder, args.batches, args.batch_size, state)
    failed = False
    print(f"{'figure':38} {'taizhang':>12} {'raw sqlite3':>12} {'ratio':>7}  goal")
    for name, ours, raw, goal in [
        ("command path (events/s)", cmd, single, 0.5),
        (f"batched save, {args.batch_size}/tx (events/s)", bulk, many, None),
    ]:
        ratio = ours / raw
        verdict = "" if goal is None else (f">= {goal}  " + ("ok" if ratio >= goal
                                                               else "MISSED"))
        failed |= goal is not None and ratio < goal
        print(f"{name:38} {ours:12,.0f} {raw:12,.0f} {ratio:7.2f}  {verdict}")
    print(f"(sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cores)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
