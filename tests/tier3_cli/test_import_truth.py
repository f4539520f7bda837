"""Import truth: every row lands on the right unit and month whatever the batch size, units
and categories are registered as of their earliest row (so imported months rank), rejects
name their column and value, coordinates are kept."""

from __future__ import annotations

import csv
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from said_support import english
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.base import Actor, Refused
from domain.task import Task
from ledger.importer import Importer, ImportReport, load_mapping, open_table
from ledger.store import Store
from projections.board import Board
from projections.facts import Context, decode
from projections.projection import fold_in_memory
from projections.history import task_history
from conftest import Clock
from tests.cli_support import Cli
from web_support import World, client_for

EASTERN = ZoneInfo("America/New_York")
HEADER = ["Id", "Type", "Agency", "Created", "Closed", "Address", "Lat", "Lon"]
MAPPING = """
[file]
source = "city-311"
format = "csv"

[columns]
id = "Id"
category = "Type"
description = "{Type} (311 request {Id})"
location = "Address"
unit = "Agency"
assigned = "Created"
closed = "Closed"
latitude = "Lat"
longitude = "Lon"

[defaults]
source = "complaint"
location = "(no address)"

[dates]
formats = ["%Y-%m-%d %H:%M"]
time_zone = "America/New_York"

[deadline]
days = 30

[units]
unknown = "register"

[categories]
unknown = "register"
"""
# Two agencies whose names share their first 40 characters (and more), a name that is
# another's slug, a Chinese name: the names that once became one unit.
LONG_A = "Department of Transportation Maintenance Division North"
LONG_B = "Department of Transportation Maintenance Division South"
AGENCIES = [LONG_A, LONG_B, "Public Works", "Public-Works", "城管局", "Housing"]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def row(number: int, agency: str, created: str, closed: str = "", kind: str = "Pothole",
        lat: str = "", lon: str = "") -> list[str]:
    return [f"R{number}", kind, agency, created, closed, f"{number} Main St", lat, lon]


def new_store(folder: Path) -> Store:
    store = Store(f"sqlite:///{folder / 'ledger.db'}")
    store.ledger.start_campaign(name="311", time_zone="America/New_York", categories=[],
                                required_inspections=0, admin_id="ops",
                                admin_name="311 office")
    return store


def import_into(store: Store, data: Path, mapping: Path, batch_size: int) -> ImportReport:
    loaded = load_mapping(mapping)
    return Importer(store.ledger, actor_id="ops", mapping=loaded,
                    table=open_table(data, loaded), batch_size=batch_size).run()


def outcome(store: Store, report: ImportReport) -> dict[str, Any]:
    """What an import leaves: the board, the units (with their registration's valid time),
    the categories, and the rejects."""
    facts = [decode(r) for r in store.ledger.records()]
    tables = fold_in_memory(Board(), facts, Context(EASTERN))
    units = sorted((f.data["code"], f.data["name"], f.data["kind"], f.occurred_at)
                   for f in facts if f.kind == "Unit.Registered")
    categories = sorted((f.data["category"], f.occurred_at) for f in facts
                        if f.kind == "Campaign.CategoryAdded")
    return {"board": tables.table("tasks"), "places": tables.table("places"), "units": units,
            "categories": categories,
            "rejects": [(r.row, r.column, r.value, r.reason) for r in report.rejects]}


# --- batch size ------------------------------------------------------------------------------

days = st.builds(lambda d, h: f"2016-{6 + d // 28:02d}-{1 + d % 28:02d} {h:02d}:00",
                 st.integers(0, 83), st.integers(0, 23))
rows_strategy = st.lists(
    st.tuples(st.sampled_from([*AGENCIES, ""]), days,
              st.one_of(st.just(""), days), st.sampled_from(["Pothole", "Graffiti", "坑洼"])),
    min_size=1, max_size=7)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(rows_strategy)
def test_the_same_rows_import_alike_whatever_the_batch_size(
        drawn: list[tuple[str, str, str, str]]) -> None:
    rows = [row(i, agency, created, closed, kind)
            for i, (agency, created, closed, kind) in enumerate(drawn)]
    seen = []
    with tempfile.TemporaryDirectory() as folder:
        data = write_csv(Path(folder) / "311.csv", rows)
        mapping = Path(folder) / "mapping.toml"
        mapping.write_text(MAPPING, encoding="utf-8")
        for size in range(1, len(rows) + 1):
            run = Path(folder) / f"batch-{size}"
            run.mkdir()
            store = new_store(run)
            try:
                seen.append(outcome(store, import_into(store, data, mapping, size)))
            finally:
                store.close()
    assert all(found == seen[0] for found in seen[1:])
    names = [name for _, name, _, _ in seen[0]["units"]]
    assert len(names) == len(set(names)), "two units of one name"


@pytest.mark.parametrize("batch_size", [1, 2], ids=["two batches", "one batch"])
def test_two_long_names_sharing_a_prefix_are_two_units(tmp_path: Path,
                                                      batch_size: int) -> None:
    data = write_csv(tmp_path / "311.csv", [row(1, LONG_A, "2016-07-01 09:00"),
                                            row(2, LONG_B, "2016-07-02 09:00")])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    store = new_store(tmp_path)
    report = import_into(store, data, mapping, batch_size)
    assert report.rejects == [] and report.tasks_created == 2
    found = outcome(store, report)
    codes = {name: code for code, name, _, _ in found["units"]}
    assert set(codes) == {LONG_A, LONG_B} and codes[LONG_A] != codes[LONG_B]
    assert all(len(code) <= 40 for code in codes.values())
    by_id = {r["description"].split()[-1].rstrip(")"): r["unit"]
             for r in found["board"].values()}
    assert by_id == {"R1": codes[LONG_A], "R2": codes[LONG_B]}
    store.close()


def test_a_name_that_is_another_units_code_is_a_unit_of_its_own(tmp_path: Path) -> None:
    """'Public Works' is registered as Public-Works; a later 'Public-Works' is not filed
    under it (a generated code is never matched), and gets a code of its own."""
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    store = new_store(tmp_path)
    first = import_into(store, write_csv(tmp_path / "a.csv", [
        row(1, "Public Works", "2016-07-01 09:00")]), mapping, 10)
    second = import_into(store, write_csv(tmp_path / "b.csv", [
        row(2, "Public-Works", "2016-07-02 09:00"), row(3, "Public Works", "2016-07-03 09:00")]),
        mapping, 10)
    assert first.units_registered == ["Public-Works"]
    assert len(second.units_registered) == 1
    (other,) = second.units_registered
    assert other.startswith("Public-Works-") and len(other) == len("Public-Works-") + 10
    units = {r["task"]: r["unit"] for r in outcome(store, second)["board"].values()}
    assert sorted(units.values()) == sorted(["Public-Works", other, "Public-Works"])
    store.close()


# --- registration as of the earliest row ---------------------------------------------------

def test_a_2016_file_ranks_its_units_for_2016_07_with_no_manual_registration(
        tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    data = write_csv(tmp_path / "311.csv", [
        row(1, "Housing", "2016-07-20 09:00", "2016-07-21 10:00"),
        row(2, "Public Works", "2016-08-02 09:00"),
        row(3, "Housing", "2016-07-03 08:00", "2016-07-05 10:00", kind="Graffiti"),
        row(4, "Public Works", "2016-07-09 14:30", "2016-07-10 10:00"),
    ])
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.ok("campaign", "start", "--name", "311", "--time-zone", "America/New_York",
           "--admin", "ops", "--admin-name", "311 office")
    report = json.loads(cli.ok("import", str(data), "--mapping", str(mapping),
                               "--batch-size", "1", "--format", "json", as_="ops"))
    assert (report["tasks_created"], report["written"]) == (4, True)
    facts = [decode(r) for r in cli.store.ledger.records()]
    registered = {f.data["name"]: f.occurred_at for f in facts if f.kind == "Unit.Registered"}
    # the earliest row naming each unit, not the first row read nor the import's own time
    assert registered == {"Housing": "2016-07-03T08:00:00-04:00",
                          "Public Works": "2016-07-09T14:30:00-04:00"}
    added = {f.data["category"]: f.occurred_at for f in facts
             if f.kind == "Campaign.CategoryAdded"}
    assert added == {"Pothole": "2016-07-09T14:30:00-04:00",
                     "Graffiti": "2016-07-03T08:00:00-04:00"}
    ranked = json.loads(cli.ok("rank", "--month", "2016-07", "--level", "部门", "--format",
                               "json"))
    assert sorted(r["unit"] for r in ranked) == ["Housing", "Public-Works"]
    metrics = json.loads(cli.ok("metrics", "--month", "2016-07", "--level", "部门",
                                "--format", "json"))
    assert sorted(r["unit"] for r in metrics) == ["Housing", "Public-Works"]
    cli.close()


def test_an_import_that_writes_nothing_says_so(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    data = write_csv(tmp_path / "311.csv", [row(1, "Housing", "2016-07-20 09:00")])
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.ok("campaign", "start", "--name", "311", "--admin", "ops", "--admin-name", "office")
    first = json.loads(cli.ok("import", str(data), "--mapping", str(mapping), "--format",
                              "json", as_="ops"))
    again = json.loads(cli.ok("import", str(data), "--mapping", str(mapping), "--format",
                              "json", as_="ops"))
    assert (first["written"], again["written"], again["already_imported"]) == (True, False, 1)
    summary = cli.ok("import", str(data), "--mapping", str(mapping), as_="ops")
    assert re.search(r"\noutcome +nothing written\n", summary), summary
    cli.close()


# --- reasons ---------------------------------------------------------------------------------

@pytest.fixture
def imported_badly(tmp_path: Path) -> Iterator[ImportReport]:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING.replace('source = "complaint"\n', "").replace(
        'assigned = "Created"', 'assigned = "Created"\nsource = "Via"')
        + '\n[values.source]\nPhone = "complaint"\n', encoding="utf-8")
    rows = [
        row(1, "Housing", "2014-08-16 09:45", "2014-08-16 02:00"),  # closed before created
        row(2, "Housing", "2016-13-01 09:00"),                      # no 13th month
        row(3, "", "2016-07-01 09:00"),                             # no unit
        row(4, "Housing", "0099-01-01 09:00"),                      # the year 99
        row(5, "Housing", "2016-07-01 09:00"),                      # by fax (unknown)
        row(6, "Housing", "2016-07-01 09:00", lat="39.3"),           # half a place
        row(7, "Housing", "2016-07-01 09:00"),                       # the one good row
        row(7, "Housing", "2016-07-02 09:00"),                       # its id again
        row(8, "Housing", "2099-07-01 09:00"),                       # in the future
        row(9, "Housing", "2016-07-01 09:00"),                       # a cell too many
        row(10, "Housing\x07", "2016-07-01 09:00"),                  # a bell in a name
    ]
    for number, cells in enumerate(rows):
        cells.append("Fax" if number == 4 else "Phone")
    rows[9].append("extra")
    with open(tmp_path / "311.csv", "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*HEADER, "Via"])
        writer.writerows(rows)
    store = new_store(tmp_path)
    yield import_into(store, tmp_path / "311.csv", mapping, 3)
    store.close()


def test_every_reject_names_its_column_and_value(imported_badly: ImportReport) -> None:
    rejects = {r.row: r for r in imported_badly.rejects}
    assert imported_badly.tasks_created == 1
    reasons = {row: english(r.said) for row, r in rejects.items()}
    assert reasons[2] == "Closed 2014-08-16 02:00 is before Created 2014-08-16 09:45"
    assert reasons[3].startswith("Created '2016-13-01 09:00' is not a date")
    assert reasons[4] == "Agency is empty"
    assert reasons[5] == ("Created '0099-01-01 09:00' is outside the days the ledger takes "
                          "(1900-01-01 to 2099-12-31)")
    assert reasons[6].startswith("Via 'Fax': source must be one of")
    assert reasons[7] == "Lon is empty but Lat is '39.3': a place needs both"
    assert reasons[9] == "Id 'R7' repeats row 8"
    assert reasons[10] == "Created 2099-07-01 09:00 is in the future"
    assert reasons[11] == ("row has 10 values, the header 9 columns (beyond the header: "
                           "'extra')")
    assert reasons[12] == ("Agency 'Housing\\x07': unit name holds a control character "
                           "(U+0007) at position 8")
    for reject in imported_badly.rejects:
        if reject.column:
            assert english(reject.said).startswith(reject.column), reject
        if reject.value:  # as written, or (a date read) its day
            assert any(shown in english(reject.said) for shown in (
                reject.value, repr(reject.value)[1:-1], reject.value[:10])), reject


# --- coordinates -----------------------------------------------------------------------------

def test_coordinates_are_kept_and_shown(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    data = write_csv(tmp_path / "311.csv", [
        row(1, "Housing", "2016-07-20 09:00", lat="39.2904", lon="-76.6122"),
        row(2, "Housing", "2016-07-21 09:00"),
        row(3, "Housing", "2016-07-21 09:00", lat="95", lon="-76.6")])
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.ok("campaign", "start", "--name", "311", "--time-zone", "America/New_York",
           "--admin", "ops", "--admin-name", "311 office")
    report = json.loads(cli.ok("import", str(data), "--mapping", str(mapping), "--format",
                               "json", as_="ops"))
    assert report["rejects"] == [{"row": 4, "column": "Lat", "value": "95", "reason":
                                  "Lat '95' is not a latitude (a number of degrees from -90 "
                                  "to 90)"}]
    board = {r["location"]: r for r in json.loads(cli.ok("board", "--format", "json"))}
    placed, unplaced = board["1 Main St"], board["2 Main St"]
    assert (placed["latitude"], placed["longitude"]) == (39.2904, -76.6122)
    assert (unplaced["latitude"], unplaced["longitude"]) == (None, None)
    shown = json.loads(cli.ok("task", "show", placed["task"], "--format", "json"))
    assert (shown["latitude"], shown["longitude"]) == (39.2904, -76.6122)
    history = json.loads(cli.ok("history", placed["task"], "--format", "json"))
    assert (history["state"]["latitude"], history["state"]["longitude"]) == (39.2904, -76.6122)
    assert " · at 39.2904, -76.6122 · " in cli.ok("history", placed["task"])
    exported = cli.ok("export", "board", "--format", "csv").splitlines()
    header = exported[0].split(",")
    lines = {line.split(",")[0]: line.split(",") for line in exported[1:]}
    assert lines[placed["task"]][header.index("Latitude")] == "39.2904"
    assert lines[placed["task"]][header.index("Longitude")] == "-76.6122"
    assert lines[unplaced["task"]][header.index("Latitude")] == ""
    cli.close()
    # Open311 readers (311 dashboards) get them as the specification's lat and long.
    world = World(cli.url, Clock(datetime.now(timezone.utc)), datetime.now(timezone.utc), 0)
    client, server, _ = client_for(world)
    try:
        requests = {r["service_request_id"]: r
                    for r in client.get("/open311/v2/requests.json").json()}
    finally:
        server.store.close()
    assert (requests[placed["task"]]["lat"], requests[placed["task"]]["long"]) == \
        (39.2904, -76.6122)
    assert (requests[unplaced["task"]]["lat"], requests[unplaced["task"]]["long"]) == \
        (None, None)


def test_an_assignment_stored_before_coordinates_reads_with_none(tmp_path: Path) -> None:
    """Events stored before coordinates existed lack the two fields: the task, the board
    and the history read them as no place (the library restores an event's stored fields
    over its class, as done here)."""
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    store = new_store(tmp_path)
    import_into(store, write_csv(tmp_path / "311.csv", [
        row(1, "Housing", "2016-07-20 09:00", lat="39.29", lon="-76.61")]), mapping, 10)
    facts = [decode(r) for r in store.ledger.records()]
    (assigned,) = [f for f in facts if f.kind == "Task.Assigned"]
    assert (assigned.data["latitude"], assigned.data["longitude"]) == (39.29, -76.61)
    old = replace(assigned, data={k: v for k, v in assigned.data.items()
                                  if k not in ("latitude", "longitude")})
    tables = fold_in_memory(Board(), [old], Context(EASTERN))
    assert len(tables.table("tasks")) == 1 and tables.table("places") == {}
    state = task_history([old], Context(EASTERN), date(2016, 8, 1))["state"]
    assert (state["latitude"], state["longitude"]) == (None, None)
    event = next(iter(store.ledger.events.get(assigned.originator_id)))
    stored = {k: v for k, v in event.__dict__.items() if k not in ("latitude", "longitude")}
    restored = object.__new__(Task.Assigned)
    object.__setattr__(restored, "__dict__", stored)
    task = restored.mutate(None)
    assert (task.latitude, task.longitude) == (None, None)
    store.close()


@pytest.mark.parametrize(("latitude", "longitude", "message"), [
    (39.3, None, "latitude and longitude go together, got latitude 39.3 and longitude None"),
    (90.5, 0.0, "latitude must be a number from -90 to 90, got 90.5"),
    (0.0, -180.01, "longitude must be a number from -180 to 180, got -180.01"),
    (float("nan"), 0.0, "latitude must be a number from -90 to 90, got nan"),
])
def test_a_task_refuses_half_a_place_or_one_off_the_globe(
        latitude: float | None, longitude: float | None, message: str) -> None:
    moment = datetime(2024, 5, 3, 10, tzinfo=EASTERN)
    with pytest.raises(Refused) as refused:
        Task.assign(task_id="T-000001", unit="JS01", category="环境卫生", source="inspection",
                    location="幸福路", description="垃圾", deadline=date(2024, 5, 10),
                    actor=Actor("admin", "admin"), occurred_at=moment, zone=EASTERN,
                    now=moment, latitude=latitude, longitude=longitude)
    assert english(refused.value) == message
