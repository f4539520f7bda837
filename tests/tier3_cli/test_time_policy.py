"""The README's time policy: people read times in the campaign's zone to the minute; json,
jsonl and csv carry ISO 8601 with the campaign's offset, the same in every command; dates
are local dates. One place does it (projections/times.py)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cli_support import Cli
from projections import times

ZONE = ZoneInfo("Asia/Shanghai")
FOR_PEOPLE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")
FOR_MACHINES = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
RECORDED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+08:00$")


def test_one_formatter_for_people_and_one_for_machines() -> None:
    late_utc = "2024-05-31T17:30:00.000000+00:00"  # already 1 June in Shanghai
    assert times.for_people(late_utc, ZONE) == "2024-06-01 01:30"
    assert times.for_people(late_utc, ZONE, seconds=True) == "2024-06-01 01:30:00"
    assert times.for_machines(late_utc, ZONE) == "2024-06-01T01:30:00+08:00"
    assert times.for_machines("2024-05-31T17:30:00+00:00", ZONE, exact=True) == \
        "2024-06-01T01:30:00.000000+08:00"  # six digits whether or not they are 0
    assert times.local_date(late_utc, ZONE) == "2024-06-01"
    assert times.for_people("2024-05-31", ZONE) == "2024-05-31"  # a date stays a date
    assert times.for_machines(date(2024, 5, 31), ZONE) == "2024-05-31"
    assert times.for_people(datetime(2024, 5, 3, 10, tzinfo=timezone.utc), ZONE) == \
        "2024-05-03 18:00"
    assert times.for_people(None, ZONE) == "" and times.for_machines("", ZONE) is None
    assert times.shown(late_utc, ZONE, "table") == "2024-06-01 01:30"
    assert times.shown(late_utc, ZONE, "csv") == "2024-06-01T01:30:00+08:00"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.chdir(tmp_path)
    run = Cli("sqlite:///taizhang.db")
    run.ok("campaign", "start", "--name", "创建2024", "--admin", "wang", "--admin-name", "王")
    run.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道", "--at", "2024-04-01")
    run.ok("unit", "add", "JS01", "--name", "幸福社区", "--kind", "社区", "--parent", "JS",
           "--at", "2024-04-01")
    run.ok("task", "assign", "--unit", "JS01", "--category", "环境卫生", "--source",
           "inspection", "--location", "幸福路", "--description", "牛皮癣", "--deadline",
           "2024-05-10", "--at", "2024-05-03T01:30:00Z")
    run.ok("person", "add", "zhao", "--name", "赵", "--role", "unit", "--unit", "JS01",
           "--at", "2024-04-01")
    run.ok("task", "ack", "T-000001", "--at", "2024-05-03 15:00", as_="zhao")
    (tmp_path / "rules.toml").write_text('name = "细则"\nbase = 85\n', encoding="utf-8")
    run.ok("rules", "adopt", "rules.toml", "--month", "2024-05")
    (tmp_path / "indicators.csv").write_text("code,title\n1,公共环境\n", encoding="utf-8")
    run.ok("indicators", "import", "indicators.csv")
    run.ok("audit", "checkpoint", "--note", "check")
    yield run
    run.close()


def column(text: str, name: str) -> list[str]:
    return [row[name] for row in csv.DictReader(io.StringIO(text))]


def table_cells(text: str) -> list[str]:
    """The date-times of a table, however they are written."""
    return re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d)?", text)


@pytest.mark.parametrize("args, key", [
    (("rules", "list"), "adopted_at"),
    (("indicators", "versions"), "adopted_at"),
    (("audit", "checkpoints"), "at"),
])
def test_listings_show_people_the_minute_and_machines_the_offset(
        cli: Cli, args: tuple[str, ...], key: str) -> None:
    shown = table_cells(cli.ok(*args))
    assert shown and all(FOR_PEOPLE.match(s) for s in shown), shown
    for value in column(cli.ok(*args, "--format", "csv"), key):
        assert FOR_MACHINES.match(value), value
    for row in json.loads(cli.ok(*args, "--format", "json")):
        assert FOR_MACHINES.match(row[key]), row


def test_timeline_history_and_board_carry_the_offset_the_same_way(cli: Cli) -> None:
    lines = [json.loads(line) for line in
             cli.ok("timeline", "--format", "jsonl").splitlines()]
    assert all(FOR_MACHINES.match(r["occurred_at"]) for r in lines)
    assert all(RECORDED.match(r["recorded_at"]) for r in lines)
    assigned = next(r for r in lines if r["originator"] == "T-000001")
    assert assigned["occurred_at"] == "2024-05-03T09:30:00+08:00"
    history = column(cli.ok("history", "T-000001", "--format", "csv"), "occurred_at")
    assert history == ["2024-05-03T09:30:00+08:00", "2024-05-03T15:00:00+08:00"]
    board = column(cli.ok("board", "--format", "csv"), "last_action_at")
    exported = column(cli.ok("export", "board", "--format", "csv").lstrip("\ufeff"),
                      "Last action at")  # export board's header row is for people
    assert board == exported == ["2024-05-03T15:00:00+08:00"]
    assert "2024-05-03 15:00" in cli.ok("board")
