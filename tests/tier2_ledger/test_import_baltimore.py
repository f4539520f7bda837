"""The real Baltimore 311 sample imports with its shipped mapping, and taizhang's per-agency
figures equal a direct computation from the CSV. SQLite only: the sample is 10,000 rows."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ci_support import SHARED_DATA, shared_data
from click.testing import CliRunner

from cli import main
from ledger.store import Store
from projections.board import Board
from projections.facts import Context, decode
from projections.projection import fold_in_memory

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = SHARED_DATA / "baltimore_311_sample.csv"
MAPPING = ROOT / "examples/mappings/baltimore_311.toml"
EASTERN = ZoneInfo("America/New_York")
FORMAT = "%m/%d/%Y %I:%M:%S %p"


@pytest.fixture(autouse=True, scope="module")
def sample_here() -> None:
    """The module's tests need the sample: skipped where it is missing, failed in CI."""
    shared_data(SAMPLE.name)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, dict]]:
    """The sample imported once into a campaign kept in US Eastern time."""
    url = f"sqlite:///{tmp_path_factory.mktemp('baltimore') / 'ledger.db'}"
    store = Store(url)
    store.ledger.start_campaign(name="Baltimore 311", time_zone="America/New_York",
                                categories=[], required_inspections=0, admin_id="ops",
                                admin_name="311 office")
    result = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["--db", url, "--as", "ops", "import", str(SAMPLE),
                                       "--mapping", str(MAPPING), "--format", "json"])
    assert result.exit_code == 0, result.output
    yield store, json.loads(result.stdout)
    store.close()


def sample_rows() -> list[dict[str, str]]:
    with open(SAMPLE, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def day(text: str) -> datetime:
    return datetime.strptime(text, FORMAT)


def test_every_row_becomes_a_task_or_is_reported(imported: tuple[Store, dict]) -> None:
    store, report = imported
    assert report["rows_read"] == 10_000
    assert report["tasks_created"] + report["rows_rejected"] == 10_000
    assert len(report["rejects"]) == report["rows_rejected"]
    rejected = {r["row"] for r in report["rejects"]}
    origins = Counter(decode(r).data["origin"]["row"] for r in store.ledger.records()
                      if r.topic.endswith("Task.Assigned"))
    assert set(origins.values()) == {1}
    assert set(origins) | rejected == set(range(2, 10_002))
    assert not set(origins) & rejected


def test_what_was_filled_in_for_incomplete_rows_is_counted(
        imported: tuple[Store, dict]) -> None:
    _, report = imported
    rows = sample_rows()
    assert report["filled_in"] == {
        "deadline: 30 days after assignment (DueDate empty)":
            sum(1 for r in rows if not r["DueDate"]),
        "location: '(no address in the 311 record)' (Address empty)":
            sum(1 for r in rows if not r["Address"]),
    }
    assert report["filled_in"]["deadline: 30 days after assignment (DueDate empty)"] == 286
    statuses = Counter(r["SRStatus"] for r in rows)
    opened = sum(n for status, n in report["statuses"].items() if status.endswith("→ open"))
    assert opened == sum(1 for r in rows if not r["CloseDate"]) == 208
    assert report["statuses"]["Closed → verified"] == statuses["Closed"]


def test_per_agency_tasks_and_on_time_closures_equal_the_csv(
        imported: tuple[Store, dict]) -> None:
    store, _ = imported
    # The board projection folded in memory: the same rows ReadSide.board() serves, without
    # catching up every other read model over 39,000 events.
    facts = [decode(record) for record in store.ledger.records()]
    tables = fold_in_memory(Board(), facts, Context(EASTERN))
    board = {key[0]: row for key, row in tables.table("tasks").items()}
    names = {code: store.ledger.unit(code).name
             for code in {row["unit"] for row in board.values()}}
    passed = {f.originator_id: datetime.fromisoformat(f.occurred_at) for f in facts
              if f.kind == "Task.ReinspectionPassed"}
    tasks = Counter(names[row["unit"]] for row in board.values())
    on_time = Counter(
        names[row["unit"]] for task, row in board.items()
        if row["closure"] == "verified"
        and passed[task].astimezone(EASTERN).date().isoformat() <= row["deadline"])
    duplicates = Counter(names[row["unit"]] for row in board.values()
                         if row["closure"] == "duplicate")

    # Straight from the CSV: a transferred request now sits with the holding unit; a request
    # is closed on time when its CloseDate falls on or before its DueDate (or 30 days after
    # CreatedDate where the city gave no DueDate).
    expected_tasks: Counter[str] = Counter()
    expected_on_time: Counter[str] = Counter()
    expected_duplicates: Counter[str] = Counter()
    for row in sample_rows():
        agency = "Transferred" if row["SRStatus"] == "Closed (Transferred)" else row["Agency"]
        expected_tasks[agency] += 1
        due = (day(row["DueDate"]).date() if row["DueDate"]
               else day(row["CreatedDate"]).date() + timedelta(days=30))
        if row["SRStatus"] == "Closed" and day(row["CloseDate"]).date() <= due:
            expected_on_time[agency] += 1
        if row["SRStatus"] == "Closed (Duplicate)":
            expected_duplicates[agency] += 1
    assert tasks == expected_tasks
    assert on_time == expected_on_time
    assert duplicates == expected_duplicates
    assert sum(expected_on_time.values()) > 8000


def test_importing_the_sample_again_adds_nothing(imported: tuple[Store, dict]) -> None:
    store, _ = imported
    before = store.ledger.max_position()
    result = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["--db", f"sqlite:///{store.url.path}", "--as", "ops",
                                       "import", str(SAMPLE), "--mapping", str(MAPPING),
                                       "--format", "json"])
    report = json.loads(result.stdout)
    assert (report["tasks_created"], report["already_imported"]) == (0, 10_000)
    assert store.ledger.max_position() == before


def test_each_requests_latitude_and_longitude_are_kept(imported: tuple[Store, dict]) -> None:
    store, report = imported
    rejected = {r["row"] for r in report["rejects"]}
    expected = {number: (float(r["Latitude"]), float(r["Longitude"]))
                for number, r in enumerate(sample_rows(), 2)
                if r["Latitude"] and number not in rejected}
    kept = {}
    for record in store.ledger.records():
        if record.topic.endswith("Task.Assigned"):
            data = decode(record).data
            if data["latitude"] is not None:
                kept[data["origin"]["row"]] = (data["latitude"], data["longitude"])
    assert kept == expected
    assert len(kept) > 9000
