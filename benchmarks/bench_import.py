"""Import rate beside raw sqlite3, in one run.

A generated CSV shaped like Baltimore's 311 export (100,000 rows by default: mostly closed
requests, some duplicates, transfers and open ones) is imported with the shipped mapping
``examples/mappings/baltimore_311.toml`` into a fresh SQLite ledger — reading and decoding
the file, parsing every row, building each task through the domain, saving in batches of
1,000 rows. The baseline is raw sqlite3 ``executemany`` of exactly the event rows the import
stored (the same bytes), into a table of the same shape, in the same number of
transactions, WAL mode and the library's synchronous setting on both sides.

Run: ``python benchmarks/bench_import.py [--rows N]``. Goal: ≥ 0.35× of raw (events/s).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.importer import Importer, load_mapping, open_table  # noqa: E402
from ledger.store import Store  # noqa: E402

MAPPING = Path(__file__).resolve().parent.parent / "examples" / "mappings" / \
    "baltimore_311.toml"
FORMAT = "%m/%d/%Y %I:%M:%S %p"
HEADER = ["ServiceRequestNum", "SRType", "MethodReceived", "CreatedDate", "SRStatus",
          "StatusDate", "DueDate", "CloseDate", "Agency", "Address", "Neighborhood",
          "CouncilDistrict", "PoliceDistrict", "Outcome", "Latitude", "Longitude"]
AGENCIES = ["Solid Waste", "Transportation", "Housing", "Water Wastewater", "BGE", "Finance",
            "Health", "Recreation & Parks", "Call Center", "Fire Department"]
STATUSES = [("Closed", 0.957), ("Closed (Duplicate)", 0.021), ("Open", 0.011),
            ("New", 0.007), ("Closed (Transferred)", 0.002), ("Pending", 0.002)]
GOAL = 0.35
BATCH = 1000


def generate(path: Path, rows: int, seed: int = 311) -> None:
    """A 311-shaped CSV: 231 request types over ten agencies, five years of requests."""
    rng = random.Random(seed)
    types = [(f"{agency[:3].upper()}-Request Type {i}", agency)
             for i, agency in enumerate(AGENCIES * 24)][:231]
    statuses, weights = zip(*STATUSES, strict=True)
    start = datetime(2014, 1, 1)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            sr_type, agency = rng.choice(types)
            created = start + timedelta(seconds=rng.randrange(5 * 365 * 86400))
            due = created + timedelta(days=rng.choice([1, 2, 5, 7, 10, 30, 90]))
            status = rng.choices(statuses, weights)[0]
            closed = (created + timedelta(hours=rng.expovariate(1 / 96))
                      if status.startswith("Closed") else None)
            writer.writerow([
                f"{created:%y}-{i:08d}", sr_type, rng.choice(["Phone", "API", "Internal"]),
                f"{created:{FORMAT}}", status, f"{(closed or created):{FORMAT}}",
                "" if rng.random() < 0.03 else f"{due:{FORMAT}}",
                f"{closed:{FORMAT}}" if closed else "", agency,
                "" if rng.random() < 0.03 else f"{rng.randrange(1, 5000)} MAIN ST, BALTIMORE",
                f"Neighborhood {rng.randrange(270)}", str(rng.randrange(1, 15)),
                rng.choice(["Northern", "Southern", "Eastern", "Western", "Central"]), "",
                *(("", "") if rng.random() < 0.06 else
                  (f"{rng.uniform(39.2, 39.37):.6f}", f"{rng.uniform(-76.71, -76.53):.6f}"))])


def import_rate(folder: Path, data: Path) -> tuple[float, int, int, list[tuple]]:
    """Seconds for the whole import, rows, events, and the stored rows (for the raw side)."""
    store = Store(f"sqlite:///{folder / 'ledger.db'}")
    ledger = store.ledger
    ledger.start_campaign(name="Baltimore 311", time_zone="America/New_York", categories=[],
                          required_inspections=0, admin_id="ops", admin_name="311 office")
    before = ledger.max_position()
    started = time.perf_counter()
    mapping = load_mapping(MAPPING)
    table = open_table(data, mapping)
    report = Importer(ledger, actor_id="ops", mapping=mapping, table=table,
                      batch_size=BATCH).run()
    seconds = time.perf_counter() - started
    assert not report.rejects, report.rejects[:3]
    stored = [tuple(r) for r in ledger.records(after=before)]
    store.close()
    return seconds, report.tasks_created, report.events, stored


def raw_rate(folder: Path, stored: list[tuple], transactions: int) -> float:
    """Seconds for raw executemany of the same rows, in the same number of transactions."""
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE stored_events (notification_id INTEGER PRIMARY KEY, "
                 "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
                 "topic TEXT NOT NULL, state BLOB NOT NULL, recorded_at TEXT NOT NULL, "
                 "account TEXT NOT NULL, hash TEXT NOT NULL)")
    conn.execute("CREATE UNIQUE INDEX stored_events_aggregate ON stored_events "
                 "(originator_id, originator_version)")
    size = -(-len(stored) // transactions)
    started = time.perf_counter()
    for i in range(0, len(stored), size):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO stored_events VALUES (?,?,?,?,?,?,?,?)",
                         stored[i:i + size])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        data = folder / "requests.csv"
        generate(data, args.rows)
        seconds, tasks, events, stored = import_rate(folder, data)
        raw_seconds = raw_rate(folder, stored, transactions=-(-args.rows // BATCH))
    ours, raw = events / seconds, events / raw_seconds
    print(f"{'figure':34} {'taizhang':>12} {'raw sqlite3':>12} {'ratio':>7}  goal")
    print(f"{'import (rows/s)':34} {args.rows / seconds:12,.0f} "
          f"{args.rows / raw_seconds:12,.0f} {raw_seconds / seconds:7.2f}")
    ratio = ours / raw
    verdict = "ok" if ratio >= GOAL else "MISSED"
    print(f"{'import (events/s)':34} {ours:12,.0f} {raw:12,.0f} {ratio:7.2f}  >= {GOAL}  "
          f"{verdict}")
    print(f"({args.rows:,} rows → {tasks:,} tasks, {events:,} events in {seconds:.1f} s; raw "
          f"{raw_seconds:.2f} s; {len(stored) // max(1, -(-args.rows // BATCH)):,} events per "
          f"transaction; sqlite {sqlite3.sqlite_version}, {os.cpu_count()} cores)")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
