"""Deadlines in working days (工作日): by the official holiday calendar with its make-up
days (调休), and the campaign's own days.

The official arrangements below are written here by date, as the State Council's notices
published them, and the library's calendar is checked against them; the deadlines are then
checked through the command line. Events lie in 2024 and 2025 (given with --at).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from said_support import refused
from cli_support import Cli
from hypothesis import given
from hypothesis import strategies as st
from click.testing import CliRunner
from conftest import Clock, seed_campaign
from tests.tier3_cli.test_cli_tasks import tour_commands

from cli import main
from services.board import working_days_left
from domain.base import Refused
from ledger.app import Ledger
from ledger.store import Store
from ledger.workdays import Calendar, UnknownYear, WorkingDays, known_years, parse_deadline
from projections.facts import decode

ZONE = ZoneInfo("Asia/Shanghai")

# 国务院办公厅关于2024年部分节假日安排的通知 (国办发明电〔2023〕7号) and the 2025 notice
# (国办发明电〔2024〕12号): the days off (放假) and the make-up working days (调休上班).
ARRANGEMENTS = {
    "2024 春节": ([(date(2024, 2, 10), date(2024, 2, 17))],
                 [date(2024, 2, 4), date(2024, 2, 18)]),
    "2024 中秋、国庆": ([(date(2024, 9, 15), date(2024, 9, 17)),
                       (date(2024, 10, 1), date(2024, 10, 7))],
                      [date(2024, 9, 14), date(2024, 9, 29), date(2024, 10, 12)]),
    "2025 春节": ([(date(2025, 1, 28), date(2025, 2, 4))],
                 [date(2025, 1, 26), date(2025, 2, 8)]),
    "2025 国庆、中秋": ([(date(2025, 10, 1), date(2025, 10, 8))],
                      [date(2025, 9, 28), date(2025, 10, 11)]),
}


@pytest.mark.parametrize("name", ARRANGEMENTS)
def test_the_calendar_follows_the_published_arrangement(name: str) -> None:
    off, make_up = ARRANGEMENTS[name]
    calendar = Calendar()
    # Two weeks either side: weekdays work, weekends rest, except as published.
    start, end = off[0][0] - timedelta(days=14), off[-1][1] + timedelta(days=14)
    for n in range((end - start).days + 1):
        day = start + timedelta(days=n)
        published = day in make_up or (
            day.weekday() < 5 and not any(first <= day <= last for first, last in off))
        assert calendar.is_workday(day) is published, (name, day)


@pytest.mark.parametrize("text", ["7工作日", "7个工作日", "7个工作日内", "7wd", "7 WD",
                                  "7 working days", "７个工作日"])
def test_working_days_are_read_in_each_form_and_kept_as_given(text: str) -> None:
    assert parse_deadline(text) == WorkingDays(7, text)


def test_a_date_stays_a_date() -> None:
    assert parse_deadline("2024-10-08") == date(2024, 10, 8)


@pytest.fixture
def cli(sqlite_url: str) -> Iterator[Cli]:
    store = Store(sqlite_url, clock=Clock(datetime(2024, 1, 2, tzinfo=ZONE)))
    seed_campaign(store.ledger)
    store.close()
    runner = Cli(sqlite_url)
    yield runner
    runner.close()


ASSIGN = ("task", "assign", "--unit", "JS01", "--category", "环境卫生", "--source",
          "inspection", "--location", "幸福路12号", "--description", "电线杆牛皮癣")


def assign(cli: Cli, at: str, deadline: str) -> tuple[str, str]:
    """Assign a task at ``at``; its id and deadline as the command says them."""
    said = cli.ok(*ASSIGN, "--deadline", deadline, "--at", at, as_="li")
    task, deadline_said = said.split()[0], said.split("deadline ")[1].split()[0]
    return task, deadline_said


def events(cli: Cli, task: str) -> list[dict]:
    return json.loads(cli.ok("history", task, "--format", "json"))["events"]


def test_a_deadline_across_national_day_counts_the_make_up_days(cli: Cli) -> None:
    # Thursday 2025-09-25, 7个工作日: Fri 09-26, make-up Sun 09-28, Mon 09-29, Tue 09-30,
    # (10-01..10-08 off), Thu 10-09, Fri 10-10, make-up Sat 10-11.
    task, deadline = assign(cli, "2025-09-25 10:00", "7个工作日")
    assert deadline == "2025-10-11"
    # Reproducible: the event keeps the rule as given and the date it resolved to.
    first = events(cli, task)[0]
    assert first["details"]["deadline"] == "2025-10-11"
    assert first["details"]["deadline_rule"] == "7个工作日"
    assert first["summary"].endswith("deadline 2025-10-11 (7个工作日)")
    table = cli.ok("history", task)
    assert "deadline 2025-10-11 (7个工作日)" in table


def test_a_deadline_across_spring_festival(cli: Cli) -> None:
    # Friday 2025-01-24, 6wd: make-up Sun 01-26, Mon 01-27, (01-28..02-04 off), Wed 02-05,
    # Thu 02-06, Fri 02-07, make-up Sat 02-08.
    assert assign(cli, "2025-01-24 16:00", "6wd")[1] == "2025-02-08"
    # Thursday 2024-02-08: Fri 02-09 works (除夕 was not a day off in 2024), then
    # (02-10..02-17 off), make-up Sun 02-18, Mon 02-19 … Fri 02-23.
    assert assign(cli, "2024-02-08 09:00", "7工作日")[1] == "2024-02-23"


def test_a_notice_counts_from_the_day_after_the_notice(cli: Cli) -> None:
    task, _ = assign(cli, "2024-09-20 09:00", "2024-09-25")
    # The notice on Friday 2024-09-27: make-up Sun 09-29, Mon 09-30, (10-01..10-07 off),
    # Tue 10-08.
    said = cli.ok("task", "notice", task, "--number", "ZG-1", "--deadline", "3个工作日",
                  "--at", "2024-09-27 17:00", as_="li")
    assert "deadline 2024-10-08" in said
    notice = events(cli, task)[1]
    assert (notice["details"]["deadline"], notice["details"]["deadline_rule"]) == \
        ("2024-10-08", "3个工作日")
    assert "deadline 2024-10-08 (3个工作日)" in notice["summary"]


def test_an_extension_adds_working_days_after_the_current_deadline(cli: Cli) -> None:
    task, _ = assign(cli, "2024-09-20 09:00", "2024-09-27")
    # Three more after Friday 09-27: make-up Sun 09-29, Mon 09-30, Tue 10-08.
    said = cli.ok("task", "extend", task, "--deadline", "3wd", "--reason", "国庆",
                  "--at", "2024-09-26 09:00", as_="li")
    assert "deadline 2024-10-08" in said
    extended = events(cli, task)[1]
    assert extended["details"]["deadline_rule"] == "3wd"
    assert extended["summary"] == "deadline extended 2024-09-27 → 2024-10-08 (3wd more)"


def test_a_reopening_counts_from_the_day_after_it(cli: Cli) -> None:
    ledger = cli.store.ledger
    task, _ = assign(cli, "2024-09-02 09:00", "2024-09-10")
    at = datetime(2024, 9, 3, 9, tzinfo=ZONE)
    ledger.issue_notice(actor_id="li", task_id=task, notice_no="ZG-1", occurred_at=at)
    ledger.report_rectification(actor_id="zhao", task_id=task, description="已清除",
                                occurred_at=at)
    ledger.reinspect(actor_id="li", task_id=task, passed=True, occurred_at=at)
    ledger.close_task(actor_id="li", task_id=task, closure="verified", reason="整改到位",
                      occurred_at=at)
    # Reopened on Thursday 2024-10-10: Fri 10-11, make-up Sat 10-12.
    said = cli.ok("task", "reopen", task, "--reason", "反弹", "--deadline", "2个工作日",
                  "--at", "2024-10-10 09:00", as_="li")
    assert "deadline 2024-10-12" in said


def test_inspection_findings_take_working_days(cli: Cli) -> None:
    said = cli.ok("inspect", "JS01", "--at", "2025-09-30 10:00", "--deadline", "1wd",
                  "--finding", "环境卫生|a|b", "--finding", "环境卫生|c|d|2wd", as_="li")
    first, second = said.split(": ")[1].strip().split(", ")
    assert events(cli, first)[0]["details"]["deadline"] == "2025-10-09"
    assert events(cli, second)[0]["details"]["deadline"] == "2025-10-10"


def test_a_local_holiday_moves_a_later_deadline_not_an_earlier_one(cli: Cli) -> None:
    # Monday 2025-06-09, 5个工作日: 06-10 … 06-13, Mon 06-16.
    earlier, deadline = assign(cli, "2025-06-09 10:00", "5个工作日")
    assert deadline == "2025-06-16"
    said = cli.ok("campaign", "calendar", "add-holiday", "2025-06-12", "--reason",
                  "市庆放假一天", as_="admin")
    assert said.startswith("2025-06-12 is a local holiday of the campaign: 市庆放假一天")
    later, deadline = assign(cli, "2025-06-09 10:00", "5个工作日")
    assert deadline == "2025-06-17"
    assert events(cli, earlier)[0]["details"]["deadline"] == "2025-06-16"
    assert '"deadline": "2025-06-16"' in cli.ok("task", "show", earlier, "--format", "json")
    # A local working day (a Saturday the city works) counts from then on.
    cli.ok("campaign", "calendar", "add-workday", "2025-06-14", "--reason", "补班",
           as_="admin")
    assert assign(cli, "2025-06-09 10:00", "5个工作日")[1] == "2025-06-16"
    cli.ok("campaign", "calendar", "add-workday", "2025-10-08", "--reason", "本市照常上班",
           as_="admin")
    cli.ok("campaign", "calendar", "add-holiday", "2024-12-31", "--reason", "x", as_="admin")
    shown = json.loads(cli.ok("campaign", "calendar", "show", "--year", "2025",
                              "--format", "json"))
    assert shown == [
        {"day": "2025-06-12", "weekday": "Thu", "local": "holiday",
         "official": "working day", "reason": "市庆放假一天"},
        {"day": "2025-06-14", "weekday": "Sat", "local": "workday", "official": "day off",
         "reason": "补班"},
        {"day": "2025-10-08", "weekday": "Wed", "local": "workday",
         "official": "day off (国庆节)", "reason": "本市照常上班"}]


def test_local_days_refuse_what_changes_nothing_or_is_not_theirs(cli: Cli) -> None:
    cli.refused("campaign", "calendar", "add-holiday", "2025-10-03", "--reason", "x",
                as_="admin", message="2025-10-03 is already a day off in the official calendar")
    cli.refused("campaign", "calendar", "add-workday", "2025-09-28", "--reason", "x",
                as_="admin",
                message="2025-09-28 is already a working day in the official calendar")
    cli.refused("campaign", "calendar", "add-holiday", "2025-06-12", "--reason", "x",
                as_="li",
                message="li (inspector) may not manage the registries: that is for admin")
    cli.refused("campaign", "calendar", "add-holiday", "2025-06-12", "--reason", " ",
                as_="admin", message="reason must not be empty (got ' ')")
    cli.ok("campaign", "calendar", "add-holiday", "2025-06-12", "--reason", "x", as_="admin")
    cli.refused("campaign", "calendar", "add-holiday", "2025-06-12", "--reason", "x",
                as_="admin", message="2025-06-12 is already a local holiday of this campaign")
    cli.usage_refused("campaign", "calendar", "add-holiday", "6月12日", "--reason", "x",
                      as_="admin", message="Invalid value for 'DATE': '6月12日' is not a date "
                                           "(YYYY-MM-DD)")


def test_malformed_working_days_are_refused(cli: Cli) -> None:
    cli.usage_refused(*ASSIGN, "--deadline", "0个工作日", as_="li",
                      message="Invalid value for '--deadline': must count 1 working day or "
                              "more, got '0个工作日'")
    cli.refused("inspect", "JS01", "--finding", "环境卫生|a|b|七个工作日", as_="li",
                message="finding deadline must be YYYY-MM-DD, or working days: 7工作日, "
                        "7个工作日, 7wd, got '七个工作日'")


def test_a_year_the_calendar_does_not_know_is_refused(cli: Cli) -> None:
    first, last = known_years()
    cli.refused(*ASSIGN, "--deadline", "5wd", "--at", f"{first - 1}-12-20 10:00", as_="li",
                message=f"deadline 5wd: the official holiday calendar for {first - 1} is not "
                        f"known (chinesecalendar {_version()} knows {first}–{last}): give the "
                        "deadline as a date (YYYY-MM-DD)")
    # The coming year, not yet published: an extension past the last known day.
    task, _ = assign(cli, "2025-06-09 10:00", f"{last}-12-31")
    unknown = last + 1
    cli.refused("task", "extend", task, "--deadline", "3个工作日", "--reason", "x",
                "--at", "2025-06-10 10:00", as_="li",
                message=f"deadline 3个工作日: the official holiday calendar for {unknown} is not "
                        f"known (chinesecalendar {_version()} knows {first}–{last}): give the "
                        "deadline as a date (YYYY-MM-DD), or upgrade chinesecalendar once the "
                        f"State Council has published {unknown}'s arrangement")
    with pytest.raises(UnknownYear) as refused:
        Calendar().after(date(last, 12, 31), 1)
    assert refused.value.year == unknown


def _version() -> str:
    import chinese_calendar

    return chinese_calendar.__version__


def test_the_board_shows_working_days_left(cli: Cli, sqlite_url: str) -> None:
    near, _ = assign(cli, "2025-09-25 10:00", "7个工作日")          # 2025-10-11
    past, _ = assign(cli, "2025-09-20 10:00", "2025-09-26")
    # The board on Friday 2025-09-26 (the clock of the command).
    now = Clock(datetime(2025, 9, 26, 12, 0, tzinfo=ZONE))
    with mock.patch("commands.session.Store",
                    lambda url, **kw: Store(url, clock=now, **kw)):
        rows = json.loads(cli.ok("board", "--working-days", "--format", "json"))
        plain = json.loads(cli.ok("board", "--format", "json"))
    left = {row["task"]: row["working_days_left"] for row in rows}
    # After Fri 09-26 up to Sat 10-11: 09-28, 09-29, 09-30, 10-09, 10-10, 10-11; the other
    # is due today.
    assert left == {near: 6, past: 0}
    assert "working_days_left" not in plain[0]
    # A deadline in a year the calendar does not know: no count, and a note naming the year.
    unknown = known_years()[1] + 1
    later, _ = assign(cli, "2025-09-20 10:00", f"{unknown}-01-20")
    with mock.patch("commands.session.Store",
                    lambda url, **kw: Store(url, clock=now, **kw)):
        result = cli("board", "--working-days", "--format", "json")
    assert result.exit_code == 0
    assert {r["task"]: r["working_days_left"] for r in json.loads(result.stdout)} == {
        near: 6, past: 0, later: None}
    assert result.stderr == (f"note: working days left are not shown for deadlines needing "
                             f"{unknown}: the official holiday calendar for it is not known\n")


def test_working_days_left_past_the_deadline_and_for_finished_tasks() -> None:
    rows = [{"state": "rectifying", "deadline": "2025-09-26"},
            {"state": "closed", "deadline": "2025-09-26"},
            {"state": "assigned", "deadline": "2025-10-11"}]
    working_days_left(rows, Calendar(), date(2025, 10, 9))
    # Past 09-26 up to 10-09: 09-28, 09-29, 09-30, 10-09; to 10-11: 10-10, 10-11.
    assert [r["working_days_left"] for r in rows] == [-4, None, 2]


# --- import ----------------------------------------------------------------------------------

MAPPING = """
[file]
source = "十二五台账"
format = "csv"

[columns]
id = "序号"
category = "问题类别"
description = "问题描述"
location = "地点"
unit = "责任单位"
assigned = "发现时间"
deadline = "整改时限"

[defaults]
source = "inspection"

[deadline]
{deadline}
"""

CSV = """序号,问题类别,问题描述,地点,责任单位,发现时间,整改时限
1,环境卫生,电线杆牛皮癣,幸福路12号,JS01,2024-09-27 10:00,5个工作日
2,环境卫生,卫生死角,和平街3号,JS02,2024-02-08 09:00,
3,交通秩序,占道经营,幸福路口,JS01,2024-09-27 10:00,7天
4,环境卫生,垃圾满溢,和平街5号,JS02,2003-12-30 09:00,5个工作日
"""


def test_import_reads_working_days_from_the_cell_and_the_mapping(cli: Cli,
                                                                tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING.format(deadline="working_days = 5"), encoding="utf-8")
    table = tmp_path / "台账.csv"
    table.write_text(CSV, encoding="utf-8")
    report = json.loads(cli.ok("import", str(table), "--mapping", str(mapping),
                               "--format", "json", as_="admin"))
    assert report["tasks_created"] == 3
    [reject] = report["rejects"]
    first, _ = known_years()
    assert (reject["row"], reject["column"], reject["value"], reject["reason"]) == (
        5, "整改时限", "5个工作日",
        f"整改时限 5个工作日: the official holiday calendar for 2003 is not known "
        f"(chinesecalendar {_version()} knows {first}–{known_years()[1]}): give the deadline "
        "as a date (YYYY-MM-DD)")
    assigned = {}
    for record in cli.store.ledger.records():
        fact = decode(record)
        if fact.kind == "Task.Assigned":
            assigned[fact.data["origin"]["row"]] = (fact.data["deadline"],
                                                    fact.data["deadline_rule"])
    assert assigned == {
        # Friday 2024-09-27: make-up Sun 09-29, Mon 09-30, (10-01..10-07 off), 10-08 … 10-10.
        2: ("2024-10-10", "5个工作日"),
        # Thursday 2024-02-08, 整改时限 empty: the mapping's five working days: Fri 02-09,
        # (02-10..02-17 off), make-up Sun 02-18, 02-19 … 02-21.
        3: ("2024-02-21", "5个工作日"),
        # "7天" stays seven calendar days.
        4: ("2024-10-04", None),
    }


def test_a_mapping_gives_days_or_working_days_not_both(cli: Cli, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING.format(deadline="days = 7\nworking_days = 5"), encoding="utf-8")
    table = tmp_path / "台账.csv"
    table.write_text(CSV, encoding="utf-8")
    cli.refused("import", str(table), "--mapping", str(mapping), as_="admin",
                message="mapping mapping.toml: [deadline] working_days: must be 1 or more, and "
                        "not given with days, got 5")


def test_the_readme_example_runs_as_written(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env: dict[str, str | None] = {}
    runner = CliRunner(env={"TAIZHANG_LANG": "en"})
    outputs = []
    for words in tour_commands("### Deadlines in working days"):
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        if words[0] == "unset":  # back to the tour's store
            continue
        assert words[0] == "taizhang", words
        result = runner.invoke(main, words[1:], env=env)
        assert result.exit_code == 0, (words, result.output)
        outputs.append(result.output)
    assert outputs[3] == "T-000001 assigned · unit JS01 · deadline 2025-10-11 · OVERDUE\n"
    assert outputs[5] == "T-000002 assigned · unit JS01 · deadline 2025-10-13 · OVERDUE\n"
    assert "deadline 2025-10-11 (7个工作日)" in outputs[6]
    assert (tmp_path / "workdays.db").exists()


def test_rules_dates_and_local_days_are_stored_on_each_backend(store_url: str,
                                                              clock: Clock) -> None:
    store = Store(store_url, clock=clock)
    seed_campaign(store.ledger)
    at = datetime(2024, 4, 29, 10, 0, tzinfo=ZONE)  # Monday, before 劳动节 (05-01..05-05)

    def assign(deadline: WorkingDays) -> str:
        return store.ledger.assign(actor_id="li", unit="JS01", category="环境卫生",
                                   source="inspection", location="幸福路12号",
                                   description="电线杆牛皮癣", deadline=deadline,
                                   occurred_at=at)["task"]

    # Tue 04-30, (05-01..05-05 off), 05-06 … 05-09.
    first = assign(WorkingDays(5, "5个工作日"))
    store.ledger.add_local_day(actor_id="admin", day=date(2024, 5, 8), kind="holiday",
                               reason="市庆")
    second = assign(WorkingDays(5, "5wd"))
    store.close()
    reopened = Store(store_url, clock=clock)  # everything replayed from the store
    try:
        assert reopened.ledger.campaign().local_days == {date(2024, 5, 8): "holiday"}
        said = [(e["deadline"], e["deadline_rule"])
                for task in (first, second)
                for e in reopened.ledger.describe(task)["events"]]
        assert said == [("2024-05-09", "5个工作日"), ("2024-05-10", "5wd")]
    finally:
        reopened.close()


def test_the_domain_takes_a_rule_only_with_the_date_it_resolved_to(seeded: Ledger) -> None:
    at = datetime(2024, 5, 6, 10, 0, tzinfo=ZONE)
    task_id = seeded.assign(actor_id="li", unit="JS01", category="环境卫生", source="inspection",
                            location="a", description="b", deadline=date(2024, 5, 10),
                            occurred_at=at)["task"]
    task = seeded.task(task_id)
    with refused(Refused, match="deadline rule '3wd' needs the date it resolves to"):
        task.issue_notice(notice_no="ZG-1", requirements="", actor=seeded.actor("li"),
                          occurred_at=at, now=at, zone=ZONE, deadline_rule="3wd")
    with refused(Refused, match="deadline rule must not be empty"):
        task.extend_deadline(deadline=date(2024, 5, 13), deadline_rule=" ", reason="x",
                             actor=seeded.actor("li"), occurred_at=at, now=at)


@given(start=st.dates(date(2004, 1, 1), date(2024, 12, 31)),
       count=st.integers(1, 60),
       local=st.dictionaries(st.dates(date(2004, 1, 1), date(2025, 3, 31)),
                             st.sampled_from(["holiday", "workday"]), max_size=5))
def test_a_deadline_is_the_nth_working_day_after_its_start(start: date, count: int,
                                                           local: dict[date, str]) -> None:
    calendar = Calendar(local)
    deadline = calendar.after(start, count)
    assert calendar.is_workday(deadline)
    assert calendar.between(start, deadline) == count
    assert calendar.between(start, deadline - timedelta(days=1)) == count - 1
    assert calendar.between(deadline, start) == -count
    for day, kind in local.items():
        assert calendar.is_workday(day) is (kind == "workday")
