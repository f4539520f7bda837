"""An office keeps its Excel 台账 after the ledger arrives and sends it back each week:
``import --update`` appends the events its changes prove, lists what contradicts the ledger
without applying it, reports rows gone from the file without closing them, and appends
nothing when run again; the month's metrics are those of the same history entered by hand."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from ledger.importer import task_id_for
from ledger.store import Store
from tests.cli_support import Cli
from tests.conftest import Clock, new_postgres_url, seed_campaign

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "建设街道问题整改台账"
ZONE = ZoneInfo("Asia/Shanghai")
HEADER = ["序号", "问题类别", "问题描述", "地点", "责任单位", "发现时间", "发现方式", "整改时限",
          "整改情况", "复查结果", "复查时间", "销号时间"]


def update_mapping(folder: Path, keyed: bool = False) -> Path:
    """The shipped workbook mapping, with a 复查时间 column dating a failed re-inspection
    (不合格 → rework); ``keyed``: rows named by 责任单位 + 问题描述 + 发现时间, not 序号."""
    text = (ROOT / "examples" / "mappings" / "taizhang_workbook.toml").read_text(
        encoding="utf-8")
    text = text.replace('"不合格" = "open"', '"不合格" = "rework"')
    text = text.replace('closed = "销号时间"', 'closed = "销号时间"\nstatus_date = "复查时间"')
    if keyed:
        text = text.replace('id = "序号"\n', "").replace(
            'format = "xlsx"', 'format = "xlsx"\nkey = ["责任单位", "问题描述", "发现时间"]')
    path = folder / ("keyed.toml" if keyed else "update.toml")
    path.write_text(text, encoding="utf-8")
    return path


def write(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(["建设街道文明创建问题整改台账（2024年5月）"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def d(text: str) -> datetime:
    return datetime.fromisoformat(text)


# The 台账 as first imported: seven open items.
FIRST = [
    [1, "环境卫生", "电线杆牛皮癣", "幸福路12号", "幸福社区", d("2024-05-03 10:00"), "巡查",
     d("2024-05-10"), None, None, None, None],
    [2, "交通秩序", "占道经营", "幸福路口", "幸福社区", d("2024-05-04 09:15"), "群众举报", "7天",
     None, None, None, None],
    [3, "环境卫生", "卫生死角", "和平街3号", "和平社区", d("2024-05-05"), "媒体曝光",
     d("2024-05-12"), None, None, None, None],
    [4, "建筑工地", "工地围挡破损", "建没路88号", "城管局", d("2024-05-06 14:00"), "暗访", None,
     None, None, None, None],
    [5, "集贸市场", "乱堆乱放", "和平菜市场", "和平社区", d("2024-05-07"), "巡查发现",
     d("2024-05-09"), None, None, None, None],
    [6, "环境卫生", "垃圾满溢", "幸福路20号", "幸福社区", d("2024-05-08 08:00"), "巡查",
     d("2024-05-15"), None, None, None, None],
    [7, "交通秩序", "乱停车", "和平街口", "和平社区", d("2024-05-09 09:00"), "巡查",
     d("2024-05-16"), None, None, None, None],
]


def edited(rows: list[list[Any]], changes: dict[int, dict[int, Any]],
           deleted: tuple[int, ...] = (), added: list[list[Any]] = ()) -> list[list[Any]]:
    out = []
    for row in rows:
        if row[0] in deleted:
            continue
        row = list(row)
        for column, value in changes.get(row[0], {}).items():
            row[column] = value
        out.append(row)
    return out + [list(r) for r in added]


# A week later, as the office edits it: item 1 closed (合格), item 2 failed (不合格) at its
# re-inspection, item 3's deadline moved, item 4's location typo fixed, item 5 deleted,
# item 6 closed as rectified though the ledger closed it as void meanwhile, item 7 as it
# was; a new item 8, and a new item 9 whose date is not one.
SECOND = edited(FIRST, {
    1: {8: "已清除", 9: "合格", 10: d("2024-05-08 16:00"), 11: d("2024-05-08 16:30")},
    2: {8: "已劝离", 9: "不合格", 10: d("2024-05-09 10:00")},
    3: {7: d("2024-05-20")},
    4: {3: "建设路88号"},
    6: {8: "已清运", 9: "合格", 11: d("2024-05-12 09:00")},
}, deleted=(5,), added=[
    [8, "集贸市场", "占道摆摊", "幸福市场", "幸福社区", d("2024-05-10 08:30"), "巡查",
     d("2024-05-17"), None, None, None, None],
    [9, "集贸市场", "乱扔垃圾", "幸福市场", "幸福社区", "2024-13-01", "巡查", None,
     None, None, None, None],
])
# Another week: item 2 rectified again and passed.
THIRD = edited(SECOND, {2: {8: "已劝离并设置隔离栏", 9: "合格", 10: d("2024-05-14 10:00"),
                            11: d("2024-05-14 15:00")}})


@pytest.fixture
def second_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty store on the same backend, for the history entered by hand."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'by_hand.db'}"
    else:
        yield from new_postgres_url()


def seeded_cli(url: str) -> Cli:
    """The small campaign, its units registered before the month measured."""
    store = Store(url, clock=Clock(datetime(2024, 4, 1, tzinfo=timezone.utc)))
    seed_campaign(store.ledger)
    store.close()
    return Cli(url)


def update(cli: Cli, path: Path, mapping: Path, *more: str) -> dict[str, Any]:
    return json.loads(cli.ok("import", str(path), "--mapping", str(mapping), "--update",
                             "--format", "json", *more, as_="admin"))


def history(cli: Cli, number: int) -> list[tuple[str, str]]:
    """(event, local time) of the task imported from 序号 ``number``."""
    shown = json.loads(cli.ok("task", "show", task_id_for(f"{SOURCE}\n{number}"),
                              "--format", "json"))
    return [(e["event"], f"{datetime.fromisoformat(e['occurred_at']).astimezone(ZONE):%Y-%m-%dT%H:%M}")
            for e in shown["events"]]


def test_an_edited_workbook_updates_the_ledger_with_exactly_what_changed(
        store_url: str, second_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(store_url)
    mapping = update_mapping(tmp_path)
    first = json.loads(cli.ok("import", str(write(tmp_path / "v1.xlsx", FIRST)), "--mapping",
                              str(mapping), "--format", "json", as_="admin"))
    assert (first["tasks_created"], first["rows_rejected"]) == (7, 0)
    # Meanwhile in the ledger: item 6 closed as void.
    cli.ok("task", "close", task_id_for(f"{SOURCE}\n6"), "--closure", "void", "--reason",
           "重复上报", "--at", "2024-05-10 09:00", as_="admin")

    v2 = write(tmp_path / "v2.xlsx", SECOND)
    before = cli.max_position()
    planned = update(cli, v2, mapping, "--dry-run")
    assert cli.max_position() == before, "a dry run wrote events"
    report = update(cli, v2, mapping)
    def said(rows: list[dict[str, Any]]) -> list[Any]:  # events entered "now" differ in time
        return [(r["row"], r["task"], [e["event"] for e in r["events"]], r["conflicts"])
                for r in rows]
    assert said(planned["update"]["rows"]) == said(report["update"]["rows"])
    got = report["update"]
    assert (got["rows_unchanged"], got["rows_updated"], got["rows_conflicting"]) == (1, 4, 1)
    assert (report["tasks_created"], report["rows_rejected"]) == (1, 1)
    assert got["events_by_kind"] == {"Closed": 1, "Corrected": 1, "DeadlineExtended": 1,
                                     "RectificationReported": 2, "ReinspectionFailed": 1,
                                     "ReinspectionPassed": 1}
    by_row = {r["row"]: r for r in got["rows"]}
    assert [e["event"] for e in by_row[3]["events"]] == [
        "RectificationReported", "ReinspectionPassed", "Closed"]
    (conflict,) = by_row[7]["conflicts"]
    assert by_row[7]["events"] == []
    assert (conflict["column"], conflict["file"], conflict["ledger"]) == (
        "复查结果", "合格", "closed (void) on 2024-05-10")
    assert [m["task"] for m in got["missing_from_file"]] == [task_id_for(f"{SOURCE}\n5")]
    assert got["missing_from_file"][0]["state"] == "assigned"

    assert history(cli, 1)[1:] == [("RectificationReported", "2024-05-08T16:30"),
                                   ("ReinspectionPassed", "2024-05-08T16:30"),
                                   ("Closed", "2024-05-08T16:30")]
    assert history(cli, 2)[1:] == [("RectificationReported", "2024-05-09T10:00"),
                                   ("ReinspectionFailed", "2024-05-09T10:00")]
    assert [e for e, _ in history(cli, 3)] == ["Assigned", "DeadlineExtended"]
    assert [e for e, _ in history(cli, 4)] == ["Assigned", "Corrected"]
    assert [e for e, _ in history(cli, 5)] == ["Assigned"]  # gone from the file, not closed
    assert [e for e, _ in history(cli, 6)] == ["Assigned", "Closed"]  # the conflict
    assert [e for e, _ in history(cli, 7)] == ["Assigned"]
    shown = json.loads(cli.ok("task", "show", task_id_for(f"{SOURCE}\n4"), "--format",
                              "json"))
    assert shown["location"] == "建设路88号"
    reasons = json.dumps(shown["events"], ensure_ascii=False)
    assert "updated from v2.xlsx (台账) row 6" in reasons

    # The same file again: nothing appended, the conflict still listed.
    before = cli.max_position()
    again = update(cli, v2, mapping)
    assert cli.max_position() == before
    assert (again["update"]["rows_unchanged"], again["update"]["rows_updated"],
            again["update"]["rows_conflicting"], again["tasks_created"]) == (6, 0, 1, 0)
    assert again["written"] is False

    # Item 2 passes at last.
    third = update(cli, write(tmp_path / "v3.xlsx", THIRD), mapping)
    assert third["update"]["events_by_kind"] == {"Closed": 1, "RectificationReported": 1,
                                                 "ReinspectionPassed": 1}
    assert history(cli, 2)[3:] == [("RectificationReported", "2024-05-14T15:00"),
                                   ("ReinspectionPassed", "2024-05-14T15:00"),
                                   ("Closed", "2024-05-14T15:00")]

    hand = by_hand(seeded_cli(second_url))
    for month in ("2024-05", "2024-06"):
        assert metrics(cli, month) == metrics(hand, month)
    cli.close()
    hand.close()


def metrics(cli: Cli, month: str) -> list[dict[str, Any]]:
    figures = json.loads(cli.ok("metrics", "--month", month, "--format", "json"))
    assert figures, f"no figures for {month}"
    return figures


def by_hand(cli: Cli) -> Cli:
    """The same history, entered through the task commands by the people who act."""
    def assign(unit: str, category: str, source: str, location: str, description: str,
               deadline: str, at: str) -> str:
        out = cli.ok("task", "assign", "--unit", unit, "--category", category, "--source",
                     source, "--location", location, "--description", description,
                     "--deadline", deadline, "--at", at, as_="admin")
        return out.split()[0]

    def rectified(task: str, unit_person: str, at: str, passed: bool) -> None:
        cli.ok("task", "report", task, "--description", "已整改", "--at", at, as_=unit_person)
        cli.ok("task", "reinspect", task, "--pass" if passed else "--fail", "--note", "复查",
               "--at", at, as_="li")

    one = assign("JS01", "环境卫生", "inspection", "幸福路12号", "电线杆牛皮癣", "2024-05-10",
                 "2024-05-03 10:00")
    two = assign("JS01", "交通秩序", "complaint", "幸福路口", "占道经营", "2024-05-11",
                 "2024-05-04 09:15")
    three = assign("JS02", "环境卫生", "media", "和平街3号", "卫生死角", "2024-05-12",
                   "2024-05-05 00:00")
    four = assign("CGJ", "建筑工地", "unannounced", "建没路88号", "工地围挡破损", "2024-05-13",
                  "2024-05-06 14:00")
    assign("JS02", "集贸市场", "inspection", "和平菜市场", "乱堆乱放", "2024-05-09",
           "2024-05-07 00:00")
    six = assign("JS01", "环境卫生", "inspection", "幸福路20号", "垃圾满溢", "2024-05-15",
                 "2024-05-08 08:00")
    assign("JS02", "交通秩序", "inspection", "和平街口", "乱停车", "2024-05-16",
           "2024-05-09 09:00")
    cli.ok("task", "close", six, "--closure", "void", "--reason", "重复上报", "--at",
           "2024-05-10 09:00", as_="admin")
    for task, at in ((one, "2024-05-03 11:00"), (two, "2024-05-04 10:00")):
        cli.ok("task", "notice", task, "--number", f"N-{task}", "--at", at, as_="admin")
    rectified(one, "zhao", "2024-05-08 16:30", passed=True)
    cli.ok("task", "close", one, "--reason", "销号", "--at", "2024-05-08 16:30", as_="li")
    cli.ok("task", "extend", three, "--deadline", "2024-05-20", "--reason", "延期",
           as_="admin")
    cli.ok("task", "correct", four, "--event", "1", "--set", "location=建设路88号", "--reason",
           "笔误", as_="admin")
    assign("JS01", "集贸市场", "inspection", "幸福市场", "占道摆摊", "2024-05-17",
           "2024-05-10 08:30")
    rectified(two, "zhao", "2024-05-09 10:00", passed=False)
    rectified(two, "zhao", "2024-05-14 15:00", passed=True)
    cli.ok("task", "close", two, "--reason", "销号", "--at", "2024-05-14 15:00", as_="li")
    return cli


def imported(cli: Cli, path: Path, mapping: Path, *more: str) -> dict[str, Any]:
    return json.loads(cli.ok("import", str(path), "--mapping", str(mapping), "--format",
                             "json", *more, as_="admin"))


def test_the_readmes_update_example_runs_as_written(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's --update example, after the import section's first command: every row
    of the shipped workbook unchanged, nothing written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("#### Updating from the office's edited 台账"):]
    opening = section.index("```sh\n") + 6
    block = section[opening:section.index("\n```", opening)].replace("\\\n", " ")
    (words,) = [shlex.split(line, comments=True) for line in block.splitlines() if line]
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    cli = seeded_cli("sqlite:///taizhang.db")
    assert words[:3] == ["taizhang", "--as", "wang"]
    workbook, mapping = words[4], words[words.index("--mapping") + 1]
    created = imported(cli, Path(workbook), Path(mapping))["tasks_created"]
    assert created > 0
    before = cli.max_position()
    shown = cli.ok(*words[3:], as_="admin")
    assert cli.max_position() == before
    assert ["rows", "unchanged", str(created)] in [line.split() for line in shown.splitlines()]
    assert not any(line.split()[:2] == ["rows", "updated"] and line.split()[2] != "0"
                   for line in shown.splitlines())
    cli.close()
