"""Due soon (board --due-within, export board --due-within) and reminders (到期提醒): per
unit, its tasks overdue and due soon, as rows and as one Chinese message per unit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cli_support import Cli
from conftest import Clock, seed_campaign
from tests.tier3_cli.test_cli_tasks import run_section

from ledger.app import Ledger
from ledger.store import Store
from ledger.workdays import Calendar, UnknownYear, WorkingDays
from projections.read import ReadSide
from projections.reminders import group, message
from services.board import due_by, working_days_left

SH = ZoneInfo("Asia/Shanghai")
# Monday 2025-09-29, 10:00 in Shanghai: the day before the 国庆 holiday (10-01 to 10-08).
TODAY = date(2025, 9, 29)


def assign(ledger: Ledger, unit: str, deadline: date, where: str,
           at: datetime | None = None) -> str:
    return ledger.assign(actor_id="li", unit=unit, category="环境卫生", source="inspection",
                         location=where, description="垃圾满溢", deadline=deadline,
                         occurred_at=at)["task"]


@pytest.fixture
def office(store_url: str) -> Iterator[tuple[Store, dict[str, str]]]:
    """JS01: due today, in three days (after the holiday), in four; overdue by two days;
    one overdue but verified. JS02: due tomorrow; one closed as void."""
    clock = Clock(datetime(2025, 9, 20, 2, 0, tzinfo=timezone.utc))
    store = Store(store_url, clock=clock)
    ledger = store.ledger
    seed_campaign(ledger)
    tasks = {
        "today": assign(ledger, "JS01", TODAY, "幸福路1号"),
        "in3": assign(ledger, "JS01", TODAY + timedelta(days=3), "幸福路2号"),
        "in4": assign(ledger, "JS01", TODAY + timedelta(days=4), "幸福路3号"),
        "late": assign(ledger, "JS01", TODAY - timedelta(days=2), "幸福路4号"),
        "done": assign(ledger, "JS01", TODAY - timedelta(days=2), "幸福路5号"),
        "tomorrow": assign(ledger, "JS02", TODAY + timedelta(days=1), "和平路1号"),
        "void": assign(ledger, "JS02", TODAY, "和平路2号"),
    }
    ledger.acknowledge(actor_id="zhao", task_id=tasks["done"])
    ledger.issue_notice(actor_id="li", task_id=tasks["done"], notice_no="ZG-1",
                        requirements="清运")
    ledger.report_rectification(actor_id="zhao", task_id=tasks["done"], description="已清运")
    ledger.reinspect(actor_id="li", task_id=tasks["done"], passed=True)
    ledger.close_task(actor_id="admin", task_id=tasks["void"], closure="void", reason="重复交办")
    ledger.request_extension(actor_id="zhao", task_id=tasks["today"],
                             deadline=TODAY + timedelta(days=10), reason="国庆放假")
    clock.now = datetime(2025, 9, 29, 2, 0, tzinfo=timezone.utc)
    yield store, tasks
    store.close()


def test_due_within_calendar_days_takes_today_to_the_last_day(office) -> None:  # type: ignore[no-untyped-def]
    store, t = office
    read = ReadSide(store)
    assert read.today() == TODAY
    until = due_by(TODAY, timedelta(days=3), store.ledger.work_calendar())
    assert [r["task"] for r in read.board(due_by=until)] == sorted(
        [t["today"], t["in3"], t["tomorrow"]])
    # Working days: 3 after Mon 09-29 are Tue 09-30, Thu 10-09 and Fri 10-10.
    until = due_by(TODAY, WorkingDays(3, "3wd"), store.ledger.work_calendar())
    assert until == date(2025, 10, 10)
    assert {r["task"] for r in read.board(due_by=until)} == {
        t["today"], t["in3"], t["in4"], t["tomorrow"]}


def test_reminders_group_each_unit_overdue_first(office) -> None:  # type: ignore[no-untyped-def]
    store, t = office
    read = ReadSide(store)
    calendar = store.ledger.work_calendar()
    rows = read.board(overdue=True) + read.board(due_by=TODAY + timedelta(days=3))
    working_days_left(rows, calendar, TODAY)
    units = group(rows, {"JS01": "幸福社区", "JS02": "和平社区"}, TODAY)
    assert [(u["unit"], [r["task"] for r in u["overdue"]], [r["task"] for r in u["due"]])
            for u in units] == [("JS01", [t["late"]], [t["today"], t["in3"]]),
                                ("JS02", [], [t["tomorrow"]])]
    text = message(units[0], TODAY, "文明办")
    assert text.splitlines() == [
        "【到期提醒】幸福社区：",
        "截至2025年9月29日，贵单位有以下整改任务已超期或即将到期，请抓紧整改，按时上报整改情况"
        "和整改前后对比照片。",
        "",
        "一、已超期（1项）",
        # Sunday 09-28 was a make-up working day (调休).
        f"1. {t['late']} 环境卫生｜幸福路4号｜垃圾满溢；整改时限2025-09-27，已超期2天（2个工作日）",
        "",
        "二、即将到期（2项）",
        f"1. {t['today']} 环境卫生｜幸福路1号｜垃圾满溢；整改时限2025-09-29，今天到期；"
        "已申请延期至2025-10-09，待审批",
        # Thursday 10-02 is in the holiday: three calendar days, one working day (09-30).
        f"2. {t['in3']} 环境卫生｜幸福路2号｜垃圾满溢；整改时限2025-10-02，还剩3天（1个工作日）",
        "",
        "——文明办",
    ]
    only_due = message(units[1], TODAY, "督查组")
    assert "有以下整改任务即将到期，" in only_due and "已超期" not in only_due


def test_a_year_the_calendar_does_not_know_is_refused_for_working_days() -> None:
    with pytest.raises(UnknownYear, match="--due-within 3wd"):
        due_by(date(2099, 1, 1), WorkingDays(3, "3wd"), Calendar())


# --- the command line, on today's date -------------------------------------------------


@pytest.fixture
def cli(sqlite_url: str) -> Iterator[Cli]:
    """Tasks relative to today (the commands read the real clock)."""
    now = datetime.now(SH)
    today = now.date()
    store = Store(sqlite_url, clock=lambda: datetime.now(timezone.utc))
    ledger = store.ledger
    seed_campaign(ledger)
    earlier = now - timedelta(days=6)
    assign(ledger, "JS01", today, "幸福路1号")                          # T-000001
    assign(ledger, "JS01", today + timedelta(days=3), "幸福路2号")      # T-000002
    assign(ledger, "JS01", today + timedelta(days=4), "幸福路3号")      # T-000003
    assign(ledger, "JS02", today - timedelta(days=2), "和平路1号", earlier)  # T-000004
    store.close()
    runner = Cli(sqlite_url)
    yield runner
    runner.close()


def test_reminders_as_table_md_and_json(cli: Cli) -> None:
    today = datetime.now(SH).date()
    table = cli.ok("reminders", "--within", "3d").splitlines()
    assert [line.split()[2] for line in table[2:]] == ["T-000001", "T-000002", "T-000004"]
    assert "due today" in table[2] and "2d overdue" in table[4]
    assert table[3].split()[6:8] == ["3d", "left"]
    chinese = cli.ok("reminders", "--within", "3d", env={"TAIZHANG_LANG": "zh"}).splitlines()
    assert "今天到期" in chinese[2] and "已超期2天" in chinese[4]
    assert chinese[3].split()[6].startswith("还剩3天")
    md = cli.ok("reminders", "--within", "3天", "--format", "md", "--signed", "建设街道办")
    blocks = md.split("\n\n### ")
    assert blocks[0].startswith("### JS01 幸福社区\n\n【到期提醒】幸福社区：\n")
    assert blocks[1].startswith("JS02 和平社区\n\n【到期提醒】和平社区：\n")
    assert md.rstrip().endswith("——建设街道办")
    found = json.loads(cli.ok("reminders", "--format", "json", "--unit", "JS02"))
    assert [(u["unit"], [r["task"] for r in u["overdue"]], u["due"]) for u in found] == [
        ("JS02", ["T-000004"], [])]
    assert found[0]["overdue"][0]["days_left"] == -2
    assert found[0]["message"].startswith("【到期提醒】和平社区：\n")
    assert json.loads(cli.ok("reminders", "--within", "0d", "--format", "json",
                             "--unit", "JS01"))[0]["due"][0]["deadline"] == today.isoformat()


def test_board_and_export_due_within(cli: Cli, tmp_path: Path) -> None:
    board = json.loads(cli.ok("board", "--due-within", "3d", "--format", "json"))
    assert [r["task"] for r in board] == ["T-000001", "T-000002"]
    exported = cli.ok("export", "board", "--format", "csv", "--due-within", "4d")
    assert [line.split(",")[0] for line in exported.splitlines()[1:]] == [
        "T-000001", "T-000002", "T-000003"]
    try:
        until = Calendar().after(datetime.now(SH).date(), 3)
    except UnknownYear:
        return  # near the end of the last year the calendar knows: refused, tested above
    board = json.loads(cli.ok("board", "--due-within", "3个工作日", "--format", "json"))
    assert [r["task"] for r in board] == [
        task for task, days in (("T-000001", 0), ("T-000002", 3), ("T-000003", 4))
        if datetime.now(SH).date() + timedelta(days=days) <= until]


def test_bad_spans_and_units_are_one_error_line(cli: Cli) -> None:
    for command in (["board"], ["reminders"], ["export", "board", "--format", "csv"]):
        option = "--within" if command == ["reminders"] else "--due-within"
        cli.usage_refused(*command, option, "三天", message=f"Invalid value for '{option}': "
                          "'三天' is not a number of days (3d, 3天) or of working days (3wd, "
                          "3个工作日)")
        cli.usage_refused(*command, option, "0wd", message=f"Invalid value for '{option}': "
                          "days must count 1 working day or more, got '0wd'")
    cli.refused("reminders", "--unit", "XX", message="unknown unit: XX")


def test_the_readme_section_runs_as_written(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outputs = run_section("### Extension requests and reminders", "sqlite:///office.db")

    def said(start: str) -> str:
        return next(out for line, out in outputs.items() if line.startswith(start))
    assert said("--on-behalf-of li task approve-extension") == (
        "T-000001 assigned · unit JS01 · deadline 2025-10-11 · OVERDUE\n")
    asked = said("board --extension-requested")
    assert "Extension asked" in asked and "2025-10-20" in asked and "2025-10-11" in asked
    assert "ExtensionApproved" in said("history T-000001")
    # Both deadlines (2025) are past whenever this runs: both tasks are overdue.
    reminder = said("reminders --within 3个工作日")
    assert reminder.startswith("### JS01 幸福社区\n\n【到期提醒】幸福社区：\n")
    assert "一、已超期（2项）" in reminder and "即将到期（" not in reminder
