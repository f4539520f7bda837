"""Importing an existing 台账 (a Chinese Excel workbook, or its CSV export in GB18030) and
exporting the board back to a spreadsheet, through the command line on both backends."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

from cli import main
from i18n import translation
from ledger.app import Ledger
from ledger.importer import task_id_for
from ledger.store import Store
from projections.sheet import EXPORT_COLUMNS, headers
from projections.facts import decode
from tests.conftest import Clock, seed_campaign

ROOT = Path(__file__).resolve().parents[2]
WORKBOOK_MAPPING = ROOT / "examples" / "mappings" / "taizhang_workbook.toml"
SOURCE = "建设街道问题整改台账"
HEADER = ["序号", "问题类别", "问题描述", "地点", "责任单位", "发现时间", "发现方式", "整改时限",
          "整改情况", "复查结果", "销号时间"]

# The 台账 as an office keeps it: dates as Excel dates or typed text, deadlines as dates or
# as a number of days, units by name (or code), closed items with their 复查结果 and 销号时间.
ROWS = [
    [1, "环境卫生", "电线杆牛皮癣", "幸福路12号", "幸福社区", datetime(2024, 5, 3, 10, 0), "巡查",
     datetime(2024, 5, 10), "已清除", "合格", datetime(2024, 5, 8, 16, 30)],
    [2, "交通秩序", "占道经营", "幸福路口", "幸福社区", "2024-05-04 09:15", "群众举报", "7天",
     None, None, None],
    [3, "环境卫生", "卫生死角", "和平街3号", "和平社区", "2024/05/05", "媒体曝光", "2024-05-12",
     "已清理并设专人保洁", "合格", "2024年5月15日"],
    [4, "建筑工地", "工地围挡破损", "建设路88号", "CGJ", datetime(2024, 5, 6, 14, 0), "暗访", None,
     "正在整改", "不合格", None],
    [5, "集贸市场", "乱堆乱放", "和平菜市场", "和平社区", datetime(2024, 5, 7), "巡查发现",
     datetime(2024, 5, 9), "已整改", "通过", datetime(2024, 5, 9, 11, 0)],
]


def write_workbook(path: Path, rows: list[list[object]] = ROWS) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append(["建设街道文明创建问题整改台账（2024年5月）"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    sheet.append([])  # Excel sheets end in formatted blank rows
    book.save(path)
    return path


def csv_mapping(folder: Path, **changes: str) -> Path:
    """The workbook mapping, for the 台账 exported as CSV (header in row 1)."""
    text = WORKBOOK_MAPPING.read_text(encoding="utf-8")
    text = text.replace('format = "xlsx"\nsheet = "台账"\nheader_row = 2',
                        'format = "csv"')
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(["" if c is None else
                             c.strftime("%Y-%m-%d %H:%M") if isinstance(c, datetime) else c
                             for c in row])
    return path


@pytest.fixture
def local(sqlite_url: str, clock: Clock) -> Iterator[Ledger]:
    """A seeded ledger on SQLite only, for what does not depend on the backend."""
    store = Store(sqlite_url, clock=clock)
    seed_campaign(store.ledger)
    yield store.ledger
    store.close()


def run(url: str, *args: str, actor: str = "admin") -> Result:
    """The command for ``actor``: the test's account is the founding administrator's, so
    for anyone else it is a proxy entry."""
    return CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(main, ["--db", url, "--on-behalf-of", actor, *args])


def summary(result: Result) -> dict:
    """The import's report, from ``--format json``."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def task_facts(ledger: Ledger) -> dict[str, list]:
    facts: dict[str, list] = {}
    for record in ledger.records():
        fact = decode(record)
        if fact.kind.startswith("Task."):
            facts.setdefault(fact.originator_id, []).append(fact)
    return facts


def one_error_line(result: Result) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# --- the workbook ---------------------------------------------------------------------------

def test_a_taizhang_workbook_round_trips_through_import_and_export(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "台账.xlsx")
    imported = summary(run(store_url, "import", str(workbook), "--mapping",
                           str(WORKBOOK_MAPPING), "--format", "json"))
    assert (imported["tasks_created"], imported["rows_rejected"]) == (5, 0)

    exported = run(store_url, "export", "board", "--format", "xlsx", "--output",
                   str(tmp_path / "board.xlsx"))
    assert exported.stdout == f"5 tasks written to {tmp_path / 'board.xlsx'}\n"
    sheet = openpyxl.load_workbook(tmp_path / "board.xlsx").active
    header, *lines = list(sheet.iter_rows(values_only=True))
    # The header row in the command's language (English here); the columns as the keys say.
    assert list(header) == headers(translation("en").gettext)
    keys = [key for key, _label in EXPORT_COLUMNS]
    board = {line[0]: dict(zip(keys, line, strict=True)) for line in lines}
    units = {"幸福社区": "JS01", "和平社区": "JS02", "CGJ": "CGJ"}
    sources = {"巡查": "inspection", "群众举报": "complaint", "媒体曝光": "media",
               "暗访": "unannounced", "巡查发现": "inspection"}
    expected_found = [datetime(2024, 5, 3, 10, 0), datetime(2024, 5, 4, 9, 15),
                      datetime(2024, 5, 5), datetime(2024, 5, 6, 14, 0), datetime(2024, 5, 7)]
    expected_deadline = [date(2024, 5, 10), date(2024, 5, 11), date(2024, 5, 12),
                         date(2024, 5, 13), date(2024, 5, 9)]
    closed_at = {1: datetime(2024, 5, 8, 16, 30), 3: datetime(2024, 5, 15),
                 5: datetime(2024, 5, 9, 11, 0)}
    assert len(board) == len(ROWS)
    for row, found, deadline in zip(ROWS, expected_found, expected_deadline, strict=True):
        out = board[task_id_for(f"{SOURCE}\n{row[0]}")]
        assert (out["unit"], out["category"], out["description"], out["location"],
                out["source"]) == (units[row[4]], row[1], row[2], row[3], sources[row[6]])
        assert out["unit_name"] == {"JS01": "幸福社区", "JS02": "和平社区", "CGJ": "城管局"}[
            out["unit"]]
        assert out["assigned_at"] == found
        assert out["deadline"] == datetime.combine(deadline, datetime.min.time())
        if row[0] in closed_at:
            assert (out["state"], out["closure"], out["last_action"]) == (
                "closed", "verified", "Closed")
            assert out["last_action_at"] == closed_at[row[0]]
        else:
            assert (out["state"], out["closure"]) == ("assigned", None)


def test_an_imported_row_keeps_its_origin_and_the_workbook_texts(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "台账.xlsx")
    assert run(store_url, "import", str(workbook), "--mapping",
               str(WORKBOOK_MAPPING)).exit_code == 0
    facts = task_facts(seeded)[task_id_for(f"{SOURCE}\n3")]
    assigned, reported, passed, closed = facts
    digest = __import__("hashlib").sha256(workbook.read_bytes()).hexdigest()
    assert assigned.data["origin"] == {"source": SOURCE, "file": digest, "name": "台账.xlsx",
                                       "row": 5, "id": "3", "sheet": "台账"}
    assert (reported.data["description"], passed.data["note"]) == ("已清理并设专人保洁", "合格")
    assert closed.data["reason"] == "imported: 台账.xlsx row 5 (复查结果 合格)"
    assert {(f.data["actor"], f.data["role"]) for f in facts} == {("admin", "admin")}


def test_importing_the_same_workbook_again_adds_nothing(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "台账.xlsx")
    assert run(store_url, "import", str(workbook), "--mapping",
               str(WORKBOOK_MAPPING)).exit_code == 0
    before = seeded.max_position()
    again = summary(run(store_url, "import", str(workbook), "--mapping",
                        str(WORKBOOK_MAPPING), "--format", "json"))
    assert (again["tasks_created"], again["already_imported"], again["events"]) == (
        0, 5, 0)
    assert seeded.max_position() == before


def test_the_import_summary_names_each_figure(local: Ledger, sqlite_url: str,
                                              tmp_path: Path) -> None:
    rows = [ROWS[0], [*ROWS[1][:5], "2024-05-32", *ROWS[1][6:]],
            [*ROWS[2][:4], "无名社区", *ROWS[2][5:]]]
    book = write_workbook(tmp_path / "五月.xlsx", rows)
    result = run(sqlite_url, "import", str(book), "--mapping", str(WORKBOOK_MAPPING))
    digest = __import__("hashlib").sha256(book.read_bytes()).hexdigest()
    assert result.exit_code == 0, result.output
    assert result.stdout == f"""\
field                                value
-----------------------------------  ----------------------------------------------------
file                                 五月.xlsx (sha256 {digest[:12]}…)
mapping                              taizhang_workbook.toml (source {SOURCE})
outcome                              written
rows read                            3
tasks created                        1
events                               4
already imported                     0
rows rejected                        2
rejected: malformed date (发现时间)  1
rejected: unknown unit (责任单位)    1
status 合格 → verified               1

Row    Column    Value       Reason
-----  --------  ----------  ----------------------------------------------------------------------------------------------------------------
4      发现时间  2024-05-32  发现时间 '2024-05-32' is not a date (%Y-%m-%d %H:%M, %Y-%m-%d, %Y/%m/%d %H:%M, %Y/%m/%d, %Y年%m月%d日, %Y.%m.%d)
5      责任单位  无名社区    责任单位 '无名社区' is neither a unit's name nor its code (the mapping refuses unknown units)
"""


# --- encodings ------------------------------------------------------------------------------

def test_a_gb18030_export_imports_when_its_encoding_is_named(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "台账.csv", ROWS, encoding="gb18030")
    mapping = csv_mapping(tmp_path)
    before = seeded.max_position()
    refused = run(store_url, "import", str(data), "--mapping", str(mapping))
    assert "is not utf-8 text" in one_error_line(refused)
    assert "--encoding" in one_error_line(refused)
    assert seeded.max_position() == before

    result = summary(run(store_url, "import", str(data), "--mapping", str(mapping),
                         "--encoding", "gb18030", "--format", "json"))
    assert result["tasks_created"] == 5
    task = seeded.describe(task_id_for(f"{SOURCE}\n3"))
    assert (task["description"], task["location"], task["state"]) == (
        "卫生死角", "和平街3号", "closed")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"], ids=["no BOM", "BOM"])
def test_a_utf8_csv_imports_with_or_without_a_byte_order_mark(
        local: Ledger, sqlite_url: str, tmp_path: Path, encoding: str) -> None:
    data = write_csv(tmp_path / "台账.csv", ROWS, encoding=encoding)
    result = summary(run(sqlite_url, "import", str(data), "--mapping",
                         str(csv_mapping(tmp_path)), "--format", "json"))
    assert result["tasks_created"] == 5


# --- bad rows -------------------------------------------------------------------------------

def test_a_bad_row_is_reported_and_can_be_fixed_and_imported_again(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][5] = "2024-13-04"          # no 13th month
    rows[3][10] = "2024-05-01 08:00"   # 销号时间 before 发现时间 (and 复查结果 不合格)
    rows[4][10] = "2024-05-01 08:00"   # closed before it was found
    data = write_csv(tmp_path / "台账.csv", rows)
    rejects = tmp_path / "rejects.csv"
    result = summary(run(store_url, "import", str(data), "--mapping",
                         str(csv_mapping(tmp_path)), "--rejects", str(rejects), "--format",
                         "json"))
    assert (result["tasks_created"], result["rows_rejected"]) == (2, 3)
    assert result["rejected_by_reason"] == {"malformed date (发现时间)": 1,
                                            "inconsistent status (销号时间)": 1,
                                            "date out of order (销号时间)": 1}
    with open(rejects, encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0] == [*HEADER, "import_row", "import_column", "import_reason"]
    assert [(line[0], line[-3], line[-2]) for line in lines[1:]] == [
        ("2", "3", "发现时间"), ("4", "5", "销号时间"), ("5", "6", "销号时间")]
    assert "'2024-13-04' is not a date" in lines[1][-1]
    assert "maps to open" in lines[2][-1]
    assert lines[3][-1] == "销号时间 2024-05-01 08:00 is before 发现时间 2024-05-07 00:00"
    assert lines[1][:len(HEADER)] == write_csv_row(rows[1])

    # fixed in the rejects file, which imports with the same mapping
    lines[1][5] = "2024-05-04 09:15"
    lines[2][10] = ""
    lines[3][10] = "2024-05-09 11:00"
    with open(rejects, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(lines)
    fixed = summary(run(store_url, "import", str(rejects), "--mapping",
                        str(csv_mapping(tmp_path)), "--format", "json"))
    assert (fixed["tasks_created"], fixed["rows_rejected"]) == (3, 0)
    assert len(task_facts(seeded)) == 5


def test_a_workbooks_rejects_import_with_the_workbooks_mapping_once_fixed(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[2][7] = "2024-05-01"  # 整改时限 before 发现时间
    rejects = tmp_path / "待修正.csv"
    first = summary(run(store_url, "import", str(write_workbook(tmp_path / "台账.xlsx", rows)),
                        "--mapping", str(WORKBOOK_MAPPING), "--rejects", str(rejects),
                        "--format", "json"))
    assert first["rejects"] == [{
        "row": 5, "column": "整改时限", "value": "2024-05-01",
        "reason": "整改时限 2024-05-01 is before 发现时间 2024-05-05"}]
    with open(rejects, encoding="utf-8-sig", newline="") as f:
        title, header, line = list(csv.reader(f))
    assert title == ["rows of 台账.xlsx not imported"]
    assert line == ["3", "环境卫生", "卫生死角", "和平街3号", "和平社区", "2024/05/05", "媒体曝光",
                    "2024-05-01", "已清理并设专人保洁", "合格", "2024年5月15日", "5", "整改时限",
                    "整改时限 2024-05-01 is before 发现时间 2024-05-05"]
    line[7] = "2024-05-12"
    with open(rejects, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([title, header, line])
    fixed = summary(run(store_url, "import", str(rejects), "--mapping", str(WORKBOOK_MAPPING),
                        "--format", "json"))
    assert (fixed["tasks_created"], fixed["rows_rejected"]) == (1, 0)
    assert seeded.describe(task_id_for(f"{SOURCE}\n3"))["deadline"] == "2024-05-12"
    assert len(task_facts(seeded)) == len(ROWS)


def write_csv_row(row: list[object]) -> list[str]:
    return ["" if c is None else c.strftime("%Y-%m-%d %H:%M") if isinstance(c, datetime)
            else str(c) for c in row]


def test_unknown_units_are_refused_or_registered_as_the_mapping_says(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    rows = [[*ROWS[1][:4], "光明社区", *ROWS[1][5:]]]
    data = write_csv(tmp_path / "台账.csv", rows)
    refused = summary(run(store_url, "import", str(data), "--mapping",
                          str(csv_mapping(tmp_path)), "--format", "json"))
    assert refused["rejected_by_reason"] == {"unknown unit (责任单位)": 1}
    register = csv_mapping(tmp_path, **{'[units]\nunknown = "refuse"':
                                        '[units]\nunknown = "register"\nkind = "社区"\n'
                                        'parent = "JS"'})
    registered = summary(run(store_url, "import", str(data), "--mapping", str(register),
                             "--format", "json"))
    (task_id,) = task_facts(seeded)
    unit = seeded.unit(seeded.task(task_id).unit)
    assert (unit.name, unit.kind, unit.parent) == ("光明社区", "社区", "JS")
    assert registered["units_registered"] == [unit.code]


def test_a_repeated_id_in_the_file_is_rejected_not_imported_twice(
        local: Ledger, sqlite_url: str, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "台账.csv", [ROWS[0], ROWS[1], [2, *ROWS[2][1:]]])
    result = summary(run(sqlite_url, "import", str(data), "--mapping",
                         str(csv_mapping(tmp_path)), "--format", "json"))
    assert result["rejects"] == [{"row": 4, "column": "序号", "value": "2",
                                  "reason": "序号 '2' repeats row 3"}]
    assert len(task_facts(local)) == 2


def test_strict_writes_nothing_when_any_row_is_bad(seeded: Ledger, store_url: str,
                                                  tmp_path: Path) -> None:
    rows = [*ROWS, [6, "环境卫生", "垃圾满溢", "幸福路1号", "无名社区", "2024-05-08", "巡查",
                    None, None, None, None]]
    data = write_csv(tmp_path / "台账.csv", rows)
    before = seeded.max_position()
    result = run(store_url, "import", str(data), "--mapping", str(csv_mapping(tmp_path)),
                 "--strict")
    assert one_error_line(result) == \
        "Error: 1 of 6 rows are bad; --strict: nothing was written"
    assert "责任单位 '无名社区' is neither" in result.stdout
    assert seeded.max_position() == before

    good = write_csv(tmp_path / "good.csv", ROWS)
    result = summary(run(store_url, "import", str(good), "--mapping",
                         str(csv_mapping(tmp_path)), "--strict", "--format", "json"))
    assert (result["tasks_created"], result["written"]) == (5, True)
    assert len(task_facts(seeded)) == 5


def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "台账.xlsx")
    before = seeded.max_position()
    result = run(store_url, "import", str(workbook), "--mapping", str(WORKBOOK_MAPPING),
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written" in result.stdout
    report = summary(run(store_url, "import", str(workbook), "--mapping",
                         str(WORKBOOK_MAPPING), "--dry-run", "--format", "json"))
    assert (report["tasks_created"], report["written"]) == (5, False)
    assert seeded.max_position() == before


# --- refusals -------------------------------------------------------------------------------

@pytest.mark.parametrize(("mapping_text", "message"), [
    ("[file]\nsource = 'x'\n[colums]\n", "mapping mapping.toml: [colums]: unknown table"),
    ("[file]\nformat = 'csv'\n", "[file] source: is required"),
    (None, "[status] '合格': must be one of open, reassign, verified, void, duplicate, "
           "not_responsible, rework, got 'passed'"),
    (None, "[dates] time_zone: time zone 'Mars/Olympus' is not a known IANA zone"),
    (None, "column '整改期限' is not in 台账.csv's header"),
    ("[file\n", "mapping mapping.toml: not valid TOML"),
])
def test_a_bad_mapping_is_one_error_line_and_writes_nothing(
        seeded: Ledger, store_url: str, tmp_path: Path, mapping_text: str | None,
        message: str) -> None:
    data = write_csv(tmp_path / "台账.csv", ROWS)
    if mapping_text is not None:
        mapping = tmp_path / "mapping.toml"
        mapping.write_text(mapping_text, encoding="utf-8")
    elif "passed" in message:
        mapping = csv_mapping(tmp_path, **{'"合格" = "verified"': '"合格" = "passed"'})
    elif "Mars" in message:
        mapping = csv_mapping(tmp_path, **{'time_zone = "Asia/Shanghai"':
                                           'time_zone = "Mars/Olympus"'})
    else:
        mapping = csv_mapping(tmp_path, **{'deadline = "整改时限"': 'deadline = "整改期限"'})
    before = seeded.max_position()
    result = run(store_url, "import", str(data), "--mapping", str(mapping))
    assert message in one_error_line(result)
    assert seeded.max_position() == before


@pytest.mark.parametrize(("actor", "args", "message"), [
    ("li", [], "Error: li (inspector) may not import records: that is for admin"),
    ("zhao", [], "Error: zhao (unit) may not import records: that is for admin"),
    ("admin", ["--sheet", "六月"], "Error: 台账.xlsx has no sheet '六月' (sheets: 台账)"),
    ("nobody", [], "Error: unknown person: nobody"),
])
def test_who_and_what_may_not_be_imported_is_one_error_line(
        seeded: Ledger, store_url: str, tmp_path: Path, actor: str, args: list[str],
        message: str) -> None:
    workbook = write_workbook(tmp_path / "台账.xlsx")
    before = seeded.max_position()
    result = run(store_url, "import", str(workbook), "--mapping", str(WORKBOOK_MAPPING),
                 *args, actor=actor)
    assert one_error_line(result) == message
    assert seeded.max_position() == before


def test_a_file_that_is_no_workbook_is_one_error_line(local: Ledger, sqlite_url: str,
                                                     tmp_path: Path) -> None:
    fake = tmp_path / "台账.xlsx"
    fake.write_text("序号,问题类别\n1,环境卫生\n", encoding="utf-8")
    before = local.max_position()
    result = run(sqlite_url, "import", str(fake), "--mapping", str(WORKBOOK_MAPPING))
    assert one_error_line(result) == "Error: 台账.xlsx is not an xlsx workbook"
    assert local.max_position() == before


def test_an_import_into_a_ledger_without_a_campaign_is_refused(sqlite_url: str,
                                                               tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "台账.xlsx")
    result = run(sqlite_url, "import", str(workbook), "--mapping", str(WORKBOOK_MAPPING))
    assert one_error_line(result) == \
        "Error: this ledger has no campaign yet: run 'taizhang campaign start'"


# --- statuses and deadlines -----------------------------------------------------------------

def test_statuses_map_onto_duplicate_closure_and_reassignment(
        seeded: Ledger, store_url: str, tmp_path: Path) -> None:
    header = ["no", "unit", "type", "what", "where", "found", "due", "status", "when"]
    data = tmp_path / "requests.csv"
    data.write_text("\n".join(",".join(line) for line in [
        header,
        ["1", "JS01", "环境卫生", "litter", "road 1", "2024-05-01 08:00", "", "dup",
         "2024-05-02 08:00"],
        ["2", "JS01", "环境卫生", "litter", "road 2", "2024-05-01 08:00", "2024-05-03", "moved",
         "2024-05-02 09:00"],
        ["3", "JS02", "环境卫生", "litter", "road 3", "2024-05-01 08:00", "2024-05-03", "done",
         ""],
    ]) + "\n", encoding="utf-8")
    mapping = tmp_path / "requests.toml"
    mapping.write_text("""
[file]
source = "requests"
[columns]
id = "no"
unit = "unit"
category = "type"
description = "{what} (request {no})"
location = "where"
assigned = "found"
deadline = "due"
status = "status"
closed = "when"
[defaults]
source = "complaint"
[status]
dup = "duplicate"
moved = "reassign"
done = "verified"
[reassign]
to = "CGJ"
[deadline]
days = 5
""", encoding="utf-8")
    result = summary(run(store_url, "import", str(data), "--mapping", str(mapping),
                         "--format", "json"))
    assert result["filled_in"] == {"deadline: 5 days after assignment (due empty)": 1}
    assert result["rejects"] == [{
        "row": 4, "column": "when", "value": "", "reason":
        "status 'done' (verified) needs the date it happened, and when is empty"}]
    first = seeded.describe(task_id_for("requests\n1"))
    assert (first["state"], first["closure"], first["deadline"]) == (
        "closed", "duplicate", "2024-05-06")
    assert first["description"] == "litter (request 1)"
    second = seeded.describe(task_id_for("requests\n2"))
    assert (second["state"], second["unit"]) == ("assigned", "CGJ")
    assert second["events"][-1]["reason"] == "imported: requests.csv row 3 (status moved)"


# --- interrupted imports --------------------------------------------------------------------

def test_an_import_killed_half_way_resumes_without_doubling_a_row(
        local: Ledger, sqlite_url: str, tmp_path: Path) -> None:
    count = 3000
    rows = [[i, "环境卫生", f"问题{i}", f"幸福路{i}号", "幸福社区" if i % 2 else "和平社区",
             "2024-05-03 10:00", "巡查", "7天", "已整改" if i % 3 else None,
             "合格" if i % 3 else None, "2024-05-06 10:00" if i % 3 else None]
            for i in range(1, count + 1)]
    data = write_csv(tmp_path / "台账.csv", rows)
    mapping = csv_mapping(tmp_path)
    path = sqlite_url.split("///", 1)[1]
    start = local.max_position()
    command = [sys.executable, "-c", "from cli import run; run()", "--db", sqlite_url,
               "--as", "admin", "import", str(data), "--mapping", str(mapping),
               "--batch-size", "50"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if max_position(path) > start + 200:
                break
            time.sleep(0.02)
        assert process.poll() is None, "the import finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    half = imported_rows(local)
    assert 0 < len(half) < count

    result = summary(run(sqlite_url, "import", str(data), "--mapping", str(mapping),
                         "--format", "json"))
    assert (result["already_imported"], result["tasks_created"]) == (
        len(half), count - len(half))
    rows_imported = imported_rows(local)
    assert sorted(rows_imported) == list(range(2, count + 2))


def max_position(path: str) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute("SELECT MAX(notification_id) FROM stored_events"
                                  ).fetchone()[0] or 0
    finally:
        connection.close()


def imported_rows(ledger: Ledger) -> list[int]:
    """The origin row of every imported task, once per Assigned event."""
    return [facts[0].data["origin"]["row"] for facts in task_facts(ledger).values()]


# --- export ---------------------------------------------------------------------------------

def test_the_board_exports_as_csv_to_stdout(local: Ledger, sqlite_url: str,
                                            tmp_path: Path) -> None:
    workbook = write_workbook(tmp_path / "台账.xlsx", ROWS[:2])
    assert run(sqlite_url, "import", str(workbook), "--mapping",
               str(WORKBOOK_MAPPING)).exit_code == 0
    result = run(sqlite_url, "export", "board", "--format", "csv")
    assert result.exit_code == 0, result.output
    first, second = sorted([task_id_for(f"{SOURCE}\n1"), task_id_for(f"{SOURCE}\n2")])
    lines = result.stdout.splitlines()
    assert lines[0] == ("Task,Unit,Unit name,Category,Source,Location,Description,State code,"
                        "State,Closure,Assigned at,Deadline,Days overdue,Notice no.,Reworks,"
                        "Escalations,Cycle,Last action,Last action at,Last action by,Latitude,"
                        "Longitude")
    chinese = run(sqlite_url, "--lang", "zh", "export", "board", "--format", "csv")
    assert chinese.stdout.splitlines()[0].startswith("任务,责任单位,单位名称,问题类别,来源,")
    by_task = {line.split(",", 1)[0]: line for line in lines[1:]}
    one = by_task[task_id_for(f"{SOURCE}\n1")]
    assert one == (f"{task_id_for(f'{SOURCE}{chr(10)}1')},JS01,幸福社区,环境卫生,inspection,"
                   "幸福路12号,电线杆牛皮癣,closed,closed,verified,2024-05-03T10:00:00+08:00,"
                   "2024-05-10,0,,0,0,1,Closed,2024-05-08T16:30:00+08:00,admin (admin),,")
    assert sorted(by_task) == [first, second]


def test_an_xlsx_export_needs_an_output_file(local: Ledger, sqlite_url: str) -> None:
    result = run(sqlite_url, "export", "board", "--format", "xlsx")
    assert one_error_line(result) == "Error: --output FILE is needed for --format xlsx"


def test_the_shipped_mappings_load() -> None:
    from ledger.importer import load_mapping

    shipped = sorted((ROOT / "examples" / "mappings").glob("*.toml"))
    assert [load_mapping(path).source for path in shipped] == [
        "baltimore-311", "城关街道问题整改台账", "和平社区问题整改台账", SOURCE]
