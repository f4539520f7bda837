"""Write throughput with several writer processes at once: 1, 2 and 4 on PostgreSQL, and one
on SQLite for comparison, in one run.

Each writer is its own process with its own store (as several supervision groups entering
the day's work at once), running commands for a fixed time against a shared pool of tasks:
mostly escalations (督办) of tasks picked at random — so two writers sometimes act on the same
task and one of them must reload and decide again — and one new assignment in ten, so the
writers also compete for the next task number. Every accepted command writes one event.

Goal: four writers together at least 1.5 times as fast as one (issue 21). All writers go
through the one write lock of the events table; what they can share is the commit's WAL
flush, which each waits for after releasing the lock (docs/durability.md), so the ratio
grows only while the flush, not the CPU, is what a command waits for: on two cores shared
with other work it is mostly the moment's.

Run: ``python benchmarks/bench_writers.py [--seconds S] [--rounds R] [--tasks N]
[--postgres postgresql://USER@HOST:PORT/DB]`` (default: ``TAIZHANG_TEST_POSTGRES`` or the
local test server). The PostgreSQL configurations run interleaved, round after round, in one
scratch schema dropped afterwards; the median round of each is reported.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.store import Store, StoreURL  # noqa: E402

POSTGRES = os.environ.get("TAIZHANG_TEST_POSTGRES",
                          "postgresql://postgres@127.0.0.1:5432/test")
DEADLINE = date(2099, 12, 31)
GOAL = 1.5  # four writers' commands/s over one's


def seed(url: str, tasks: int) -> list[str]:
    """A campaign with one 社区, an inspector, and ``tasks`` open tasks to act on."""
    store = Store(url)
    ledger = store.ledger
    ledger.start_campaign(name="bench", time_zone="Asia/Shanghai", categories=[],
                          required_inspections=4, admin_id="admin", admin_name="管理员")
    ledger.register_unit(actor_id="admin", code="JS", name="建设街道", kind="街道")
    ledger.register_unit(actor_id="admin", code="JS01", name="幸福社区", kind="社区", parent="JS")
    ledger.register_person(actor_id="admin", person_id="li", name="李督查", role="inspector")
    ids = [assign(ledger, i) for i in range(tasks)]
    store.close()
    return ids


def assign(ledger: Any, i: int) -> str:
    return ledger.assign(actor_id="li", unit="JS01", category="环境卫生", source="inspection",
                         location=f"幸福路{i}号", description="乱堆乱放",
                         deadline=DEADLINE)["task"]


def server_cpu(url: str, pid: int) -> dict[int, float]:
    """CPU seconds used so far by each server process serving taizhang's process ``pid``
    (its sessions name themselves after it), where the server runs on this machine
    (``/proc``); empty elsewhere."""
    parsed = StoreURL.parse(url)
    with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.user,
                         password=parsed.password or None, dbname=parsed.database) as conn:
        backends = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            [f"taizhang/{pid}"])]
    used = {}
    for backend in backends:
        try:
            fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[backend] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def writer(url: str, ids: list[str], seconds: float, number: int, start: Any,
           results: Any) -> None:
    """One writer process: commands until the time is up; reports what it did, and the
    CPU its process and its server processes used meanwhile."""
    from ledger.unit_of_work import Conflict

    store = Store(url)
    ledger = store.ledger
    ledger.max_position()  # connect before the clock starts
    chooser = random.Random(number)
    accepted = conflicts = 0
    postgres = store.url.kind == "postgresql"
    server_before = server_cpu(url, os.getpid()) if postgres else {}
    start.wait()
    client_before = time.process_time()
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        try:
            if chooser.random() < 0.1:
                assign(ledger, number)
            else:
                ledger.escalate(actor_id="li", task_id=chooser.choice(ids), reason="超期未整改，列入督办")
            accepted += 1
        except Conflict:
            conflicts += 1
    client = time.process_time() - client_before
    server = sum(used - server_before.get(backend, 0.0) for backend, used in
                 (server_cpu(url, os.getpid()) if postgres else {}).items())
    store.close()
    results.put((accepted, conflicts, client, server))


def run(url: str, ids: list[str], writers: int, seconds: float
        ) -> tuple[float, int, int, float, float]:
    """Commands per second of ``writers`` processes together, with their conflicts and the
    CPU seconds a command took in the writers' processes and in their server processes
    (0 where the server is not on this machine)."""
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(writers + 1)
    results = spawn.Queue()
    processes = [spawn.Process(target=writer, args=(url, ids, seconds, n, start, results))
                 for n in range(writers)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    done = [results.get() for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    accepted = sum(d[0] for d in done)
    per_command = max(accepted, 1)
    return (accepted / elapsed, accepted, sum(d[1] for d in done),
            sum(d[2] for d in done) / per_command, sum(d[3] for d in done) / per_command)


def drop_schema(url: str) -> None:
    parsed = StoreURL.parse(url)
    engine = sa.create_engine(parsed.sqlalchemy_url())
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{parsed.schema}" CASCADE'))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="How long each configuration writes in each round.")
    parser.add_argument("--rounds", type=int, default=3,
                        help="Rounds of 1, 2 and 4 writers, interleaved; medians reported.")
    parser.add_argument("--tasks", type=int, default=200, help="Tasks in the shared pool.")
    parser.add_argument("--postgres", default=POSTGRES)
    args = parser.parse_args()

    runs: dict[str, list[tuple[float, int, int, float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/ledger.db"
        ids = seed(url, args.tasks)
        runs["SQLite, 1 writer"] = [run(url, ids, 1, args.seconds)
                                    for _ in range(args.rounds)]

    separator = "&" if "?" in args.postgres else "?"
    url = f"{args.postgres}{separator}schema=bench_{uuid.uuid4().hex[:10]}"
    try:
        ids = seed(url, args.tasks)
        # Interleaved, so that whatever else the machine does weighs on each alike.
        for _ in range(args.rounds):
            for writers in (1, 2, 4):
                name = f"PostgreSQL, {writers} writer{'s' * (writers > 1)}"
                runs.setdefault(name, []).append(run(url, ids, writers, args.seconds))
    finally:
        drop_schema(url)

    figures = {name: sorted(r)[len(r) // 2] for name, r in runs.items()}  # median by rate
    baseline = figures["PostgreSQL, 1 writer"][0]
    print(f"{'configuration':24} {'commands/s':>11} {'accepted':>9} {'conflicts':>10} "
          f"{'vs PG 1 writer':>15} {'client CPU':>11} {'server CPU':>11} {'wall':>8}   "
          f"(median of {args.rounds} rounds of {args.seconds:g} s; ms a command)")
    for name, (rate, accepted, conflicts, client, server) in figures.items():
        writers = int(name.split(", ")[1].split()[0])
        print(f"{name:24} {rate:11,.1f} {accepted:9} {conflicts:10} {rate / baseline:15.2f} "
              f"{client * 1000:11.2f} {server * 1000:11.2f} {writers * 1000 / rate:8.2f}")
    ratio = figures["PostgreSQL, 4 writers"][0] / baseline
    ok = ratio >= GOAL
    print(f"goal: 4 writers >= {GOAL}x 1 writer on PostgreSQL: ratio {ratio:.2f} "
          f"{'ok' if ok else 'MISSED'}  ({os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}, psycopg {psycopg.pq.__impl__})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
