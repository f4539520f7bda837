"""history, timeline, board and projections at the command line, on exact output."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from cli_support import taizhang
from ledger.chain import Record
from ledger.store import Store
from projections.times import for_machines
from tests.conftest import seed_campaign


@dataclass
class Story:
    """A small ledger written with the real clock, some of it entered late."""

    url: str
    today: date
    zone: object
    records: list[Record]

    def task_records(self, task: str) -> list[Record]:
        return [r for r in self.records if r.originator_id == task]

    def local(self, iso: str, seconds: bool = False) -> str:
        moment = datetime.fromisoformat(iso).astimezone(self.zone)  # type: ignore[arg-type]
        return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def head(self) -> int:
        return self.records[-1].position

    def position(self) -> int:
        store = Store(self.url)
        try:
            return store.ledger.max_position()
        finally:
            store.close()


def _story(url: str) -> Story:
    store = Store(url)
    try:
        ledger = store.ledger
        seed_campaign(ledger)
        zone = ledger.campaign().zone
        today = ledger.today(ledger.campaign())

        def at(days_ago: int, hour: int) -> datetime:
            return datetime.combine(today - timedelta(days=days_ago),
                                    datetime.min.time(), zone).replace(hour=hour)

        ledger.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                      location="幸福路12号", description="电线杆牛皮癣",
                      deadline=today - timedelta(days=3), occurred_at=at(10, 9))
        ledger.acknowledge(actor_id="zhao", task_id="T-000001", occurred_at=at(9, 10))
        ledger.issue_notice(actor_id="li", task_id="T-000001", notice_no="ZG-001",
                            requirements="清除小广告", occurred_at=at(9, 11))
        ledger.report_rectification(actor_id="zhao", task_id="T-000001", description="已清除",
                                    evidence=[{"file": "after.jpg", "description": "整改后照片"}],
                                    occurred_at=at(8, 15))
        ledger.reinspect(actor_id="li", task_id="T-000001", passed=False, note="仍有残留",
                         occurred_at=at(7, 16))
        ledger.correct(actor_id="admin", task_id="T-000001", event=1,
                       changes={"occurred_at": at(11, 9).isoformat()},
                       reason="录入时间有误")
        ledger.assign(actor_id="admin", unit="JS02", category="交通秩序", source="media",
                      location="和平路口", description="占道经营",
                      deadline=today + timedelta(days=5))
        return Story(url, today, zone, list(ledger.records()))
    finally:
        store.close()


@pytest.fixture
def story(sqlite_url: str) -> Story:
    return _story(sqlite_url)


@pytest.fixture
def both_stories(store_url: str) -> Iterator[Story]:
    yield _story(store_url)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- history -----------------------------------------------------------------------------


def test_history_shows_both_times_the_account_and_the_correction_against_its_event(
        both_stories: Story) -> None:
    s = both_stories
    code, out, err = taizhang(s.url, "history", "T-000001", "--format", "csv")
    assert (code, err) == (0, "")
    records = s.task_records("T-000001")
    occurred = [json.loads(r.state)["occurred_at"]["_data_"] for r in records]
    moved = f"{s.today - timedelta(days=11)}T09:00:00+08:00"
    assert rows(out) == [
        {"no": str(r.originator_version), "position": str(r.position), "event": event,
         "occurred_at": for_machines(when, s.zone),
         "recorded_at": for_machines(r.recorded_at, s.zone, exact=True), "late_days": late,
         "actor": actor, "role": role,
         # the test's account is the administrator's: the others' events are proxy entries
         "entered_by": "" if actor == "admin" else "admin", "account": r.account,
         "summary": summary,
         "reason": reason, "evidence_text": evidence, "corrects": corrects,
         "correction": correction}
        for r, when, (event, late, actor, role, summary, reason, evidence, corrects,
                      correction) in zip(records, occurred, [
            ("Assigned", "10", "admin", "admin",
             f"assigned to JS01 (complaint): 环境卫生 · 幸福路12号 · 电线杆牛皮癣 · deadline "
             f"{s.today - timedelta(days=3)}", "", "", "", "corrected by #6"),
            ("Acknowledged", "9", "zhao", "unit", "acknowledged 签收", "", "", "", ""),
            ("NoticeIssued", "9", "li", "inspector",
             "rectification notice ZG-001 整改通知书: 清除小广告", "", "", "", ""),
            ("RectificationReported", "8", "zhao", "unit", "rectification reported: 已清除",
             "", "after.jpg (整改后照片)", "", ""),
            ("ReinspectionFailed", "7", "li", "inspector", "re-inspection failed (rework)",
             "仍有残留", "", "", ""),
            ("Corrected", "0", "admin", "admin",
             f"corrects event 1 (Assigned): occurred_at {occurred[0]} → {moved}",
             "录入时间有误", "", "1", f"corrects #1 (Assigned): occurred_at {occurred[0]} → "
             f"{moved}"),
        ], strict=True)]


def test_history_table_heads_with_the_state_and_flags_late_entries(story: Story) -> None:
    code, out, _ = taizhang(story.url, "history", "t-000001")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (f"T-000001 rectifying · unit JS01 · 环境卫生 · 幸福路12号 · "
                        f"电线杆牛皮癣 · deadline {story.today - timedelta(days=3)} · "
                        "3 days overdue · rework 1")
    assert lines[1] == ""
    assert lines[2].split() == ["No.", "Happened", "Recorded", "Late", "Actor", "Account",
                                "Event", "What", "Reason", "Evidence", "Correction"]
    first = story.task_records("T-000001")[0]
    assert lines[4].split()[:9] == [
        "1", str(story.today - timedelta(days=10)), "09:00",
        *story.local(first.recorded_at, seconds=True).split(), "10d", "late",
        "admin", "(admin)"][:9]
    assert len(lines) == 4 + 6


def test_history_as_of_replays_only_what_was_recorded_by_then(story: Story) -> None:
    failed = story.task_records("T-000001")[4]
    code, out, _ = taizhang(story.url, "history", "T-000001", "--as-of", failed.recorded_at,
                            "--format", "json")
    assert code == 0
    found = json.loads(out)
    assert [e["event"] for e in found["events"]] == [
        "Assigned", "Acknowledged", "NoticeIssued", "RectificationReported",
        "ReinspectionFailed"]
    assert found["events"][0]["correction"] == ""  # the correction came later
    assert (found["state"]["state"], found["state"]["rework_count"]) == ("rectifying", 1)
    # As then known: the assignment's time before its correction (09:00 +08:00 in UTC).
    assert found["state"]["assigned_at"] == \
        f"{story.today - timedelta(days=10)}T01:00:00.000000+00:00"


def test_history_valid_at_shows_the_state_that_day_as_known_now(story: Story) -> None:
    nine = str(story.today - timedelta(days=9))
    code, out, _ = taizhang(story.url, "history", "T-000001", "--valid-at", nine)
    assert code == 0
    assert out.splitlines()[0].startswith("T-000001 rectifying · unit JS01")
    assert out.splitlines()[0].endswith(f"· rework 0 · on {nine}, as known now")
    assert len(out.splitlines()) == 4 + 3 + 1  # assigned, ack, notice, and the correction
    # The assignment was corrected to a day earlier: on that day the task already existed.
    eleven = str(story.today - timedelta(days=11))
    code, out, _ = taizhang(story.url, "history", "T-000001", "--valid-at", eleven)
    assert (code, out.splitlines()[0].split(" · ")[0]) == (0, "T-000001 assigned")
    twelve = str(story.today - timedelta(days=12))
    code, out, err = taizhang(story.url, "history", "T-000001", "--valid-at", twelve)
    assert (code, out, err) == (1, "", f"Error: task T-000001 had not been assigned on "
                                       f"{twelve} (assigned {eleven})\n")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["history", "T-999999"], 1, "Error: unknown task: T-999999"),
    (["history", "unit:XX"], 1, "Error: unknown unit: XX"),
    (["history", "campaign"], 1,
     "Error: record must be a task (T-…), target task (ZB-…), survey (SV-…), inspection "
     "(I-…), unit:CODE, person:ID or rules:VERSION, got 'campaign'"),
    (["history", "unit:JS01", "--valid-at", "2024-06-01"], 1,
     "Error: --valid-at gives a task's state on a day; unit:JS01 is a unit"),
    (["history", "T-000001", "--as-of", "yesterday"], 2,
     "Error: Invalid value for '--as-of': 'yesterday' is not a date or date-time "
     "(YYYY-MM-DD[ HH:MM[:SS]])"),
    (["history", "T-000001", "--as-of", "2001-01-01"], 1,
     "Error: task T-000001 was not yet recorded at 2001-01-01 00:00"),
    (["history", "T-000001", "--valid-at", "2024-13-01"], 2,
     "Error: Invalid value for '--valid-at': '2024-13-01' is not a date (YYYY-MM-DD)"),
    (["timeline", "--unit", "XX"], 1, "Error: unknown unit: XX"),
    (["timeline", "--actor", "nobody"], 1, "Error: unknown person: nobody"),
    (["timeline", "--as-of", "5 May"], 2,
     "Error: Invalid value for '--as-of': '5 May' is not a date or date-time "
     "(YYYY-MM-DD[ HH:MM[:SS]])"),
    (["timeline", "--from", "2024-06-02", "--to", "2024-06-01"], 2,
     "Error: Invalid value for '--from': 2024-06-02 is after --to 2024-06-01"),
    (["timeline", "--format", "xml"], 2,
     "Error: Invalid value for '--format': 'xml' is not one of 'table', 'csv', 'json', "
     "'jsonl'."),
    (["board", "--as-of", "noon"], 2,
     "Error: Invalid value for '--as-of': 'noon' is not a date or date-time "
     "(YYYY-MM-DD[ HH:MM[:SS]])"),
    (["board", "--unit", "XX"], 1, "Error: unknown unit: XX"),
    (["board", "--due-within", "-1"], 2,
     "Error: Invalid value for '--due-within': '-1' is not a number of days (3d, 3天) or "
     "of working days (3wd, 3个工作日)"),
])
def test_bad_input_is_one_error_line_and_writes_nothing(story: Story, args: list[str],
                                                        code: int, message: str) -> None:
    assert taizhang(story.url, *args) == (code, "", message + "\n")
    assert story.position() == story.head()


# --- timeline ----------------------------------------------------------------------------


def test_timeline_of_a_unit_includes_its_sub_units_in_recorded_order(
        both_stories: Story) -> None:
    s = both_stories
    code, out, _ = taizhang(s.url, "timeline", "--unit", "JS02", "--format", "jsonl")
    assert code == 0
    found = [json.loads(line) for line in out.splitlines()]
    assert [(e["originator"], e["kind"], e["unit"]) for e in found] == [
        ("unit:JS02", "Unit.Registered", "JS02"),
        ("person:qian", "Person.Registered", "JS02"),
        ("T-000002", "Task.Assigned", "JS02"),
    ]
    assert found[2]["late_days"] == 0 and found[2]["account"] == s.records[-1].account
    code, out, _ = taizhang(s.url, "timeline", "--unit", "JS", "--format", "json")
    units = {e["unit"] for e in json.loads(out)}
    assert units == {"JS", "JS01", "JS02"}


def test_timeline_filters_by_valid_time_actor_and_transaction_time(story: Story) -> None:
    nine = str(story.today - timedelta(days=9))
    code, out, _ = taizhang(story.url, "timeline", "--from", nine, "--to", nine,
                            "--format", "csv")
    assert code == 0
    assert [(r["originator"], r["kind"], r["occurred_on"], r["late_days"])
            for r in rows(out)] == [("T-000001", "Task.Acknowledged", nine, "9"),
                                    ("T-000001", "Task.NoticeIssued", nine, "9")]
    code, out, _ = taizhang(story.url, "timeline", "--actor", "li", "--format", "csv")
    assert [r["kind"] for r in rows(out)] == ["Task.NoticeIssued", "Task.ReinspectionFailed"]
    ack = story.task_records("T-000001")[1]
    code, out, _ = taizhang(story.url, "timeline", "--as-of", ack.recorded_at,
                            "--format", "csv")
    assert [int(r["position"]) for r in rows(out)] == list(range(1, ack.position + 1))
    code, out, _ = taizhang(story.url, "timeline", "--limit", "2", "--format", "csv")
    assert [r["kind"] for r in rows(out)] == ["Campaign.Started", "Person.Registered"]


def test_timeline_table_marks_late_entries(story: Story) -> None:
    code, out, _ = taizhang(story.url, "timeline", "--unit", "JS01", "--actor", "zhao")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["#", "Happened", "Recorded", "Late", "Actor", "Account",
                                "Unit", "Subject", "Event", "What", "Reason", "Correction"]
    assert [line.split()[5:7] for line in lines[2:]] == [["9d", "late"], ["8d", "late"]]


# --- board ---------------------------------------------------------------------------------


def test_board_filters_and_sorts(story: Story) -> None:
    month = str(story.today - timedelta(days=11))[:7]
    code, out, _ = taizhang(story.url, "board", "--unit", "JS", "--format", "csv")
    assert code == 0
    assert [(r["task"], r["unit"], r["state"], r["days_overdue"], r["rework_count"],
             r["last_action"]) for r in rows(out)] == [
        ("T-000001", "JS01", "rectifying", "3", "1", "Corrected"),
        ("T-000002", "JS02", "assigned", "0", "0", "Assigned")]
    for args, expected in [
        (["--unit", "JS02"], ["T-000002"]),
        (["--overdue"], ["T-000001"]),
        (["--state", "assigned"], ["T-000002"]),
        (["--category", "环境卫生"], ["T-000001"]),
        (["--source", "media"], ["T-000002"]),
        (["--due-within", "5"], ["T-000002"]),
        (["--due-within", "4"], []),
        (["--month", month], [t for t, on in (("T-000001", story.today - timedelta(days=11)),
                                              ("T-000002", story.today))
                              if str(on).startswith(month)]),
        (["--sort", "deadline"], ["T-000001", "T-000002"]),
        (["--sort", "unit", "--unit", "CGJ"], []),
    ]:
        code, out, _ = taizhang(story.url, "board", *args, "--format", "csv")
        assert (code, [r["task"] for r in rows(out)]) == (0, expected), args


def test_board_as_of_shows_what_the_ledger_knew_then(story: Story) -> None:
    acknowledged = story.task_records("T-000001")[1]
    code, out, _ = taizhang(story.url, "board", "--as-of", acknowledged.recorded_at,
                            "--format", "csv")
    assert code == 0
    assert [(r["task"], r["state"], r["rework_count"]) for r in rows(out)] == [
        ("T-000001", "acknowledged", "0")]
    code, out, _ = taizhang(story.url, "board", "--as-of", "2001-01-01")
    assert (code, out) == (0, "(none)\n")


# --- projections ---------------------------------------------------------------------------


def test_projections_status_rebuild_and_verify(story: Story) -> None:
    head = story.head()
    code, out, _ = taizhang(story.url, "projections", "status", "--format", "csv")
    assert code == 0
    status = rows(out)
    assert [r["projection"] for r in status][:3] == ["registry", "board", "events"]
    assert {(r["position"], r["lag"]) for r in status} == {("0", str(head))}
    code, out, _ = taizhang(story.url, "projections", "rebuild")
    names = ", ".join(r["projection"] for r in status)
    assert (code, out) == (0, f"rebuilt {names} from {head} events\n")
    code, out, _ = taizhang(story.url, "projections", "verify")
    assert (code, out) == (0, "".join(f"{r['projection']}: position {head}, equal to its "
                                      "rebuild\n" for r in status))
    engine = sa.create_engine(sa.make_url(story.url))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE rm_tasks SET state = 'closed' WHERE task = 'T-000002'"))
    engine.dispose()
    code, out, err = taizhang(story.url, "projections", "verify")
    assert code == 1
    assert out.splitlines()[1] == f"board: position {head}, 1 row differs"
    assert "  rm_tasks [T-000002]: state: 'closed' maintained, 'assigned' rebuilt" in \
        out.splitlines()
    assert err.splitlines()[-1] == \
        "Error: projections that differ from a rebuild from zero: board"
