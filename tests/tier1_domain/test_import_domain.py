"""The domain's narrow path for imported records: an origin on the Assigned event, and a
closure as verified that an administrator enters from a record, through the report and the
passed re-inspection the lifecycle requires. No store."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from said_support import refused

from domain.base import Actor, Refused
from domain.task import Task
from domain.task_states import CLOSED, REPORTED, VERIFIED

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 5, 3, 10, 0, tzinfo=ZONE)
NOW = datetime(2024, 7, 1, 12, 0, tzinfo=ZONE)
DIGEST = "ab" * 32

ADMIN = Actor("wang", "admin")
LI = Actor("li", "inspector")
ZHAO = Actor("zhao", "unit", "JS01")
SUN = Actor("sun", "auditor")


def imported(origin: dict | None = None, actor: Actor = ADMIN) -> Task:
    return Task.assign(
        task_id="IM-AAAAAAAAAAAAA", unit="JS01", category="环境卫生", source="complaint",
        location="幸福路12号", description="乱堆乱放", deadline=date(2024, 5, 10), actor=actor,
        occurred_at=START, zone=ZONE, now=NOW,
        origin=origin if origin is not None else {"source": "台账", "file": DIGEST,
                                                   "name": "台账.xlsx", "row": 3, "id": "1"})


def close(task: Task, actor: Actor = ADMIN, at: datetime = START + timedelta(days=2)) -> None:
    task.close_imported_as_verified(rectification="已清理", reinspection="合格",
                                    reason="imported: 台账.xlsx row 3", actor=actor,
                                    occurred_at=at, now=NOW)


def test_an_imported_task_carries_its_origin_on_the_assigned_event() -> None:
    task = imported()
    (event,) = task.collect_events()
    assert event.origin == {"source": "台账", "file": DIGEST, "name": "台账.xlsx", "row": 3,
                            "id": "1"}


def test_a_task_assigned_by_hand_has_no_origin() -> None:
    task = Task.assign(task_id="T-000001", unit="JS01", category="环境卫生", source="complaint",
                       location="幸福路12号", description="乱堆乱放", deadline=date(2024, 5, 10),
                       actor=LI, occurred_at=START, zone=ZONE, now=NOW)
    assert task.collect_events()[0].origin is None


@pytest.mark.parametrize(("origin", "message"), [
    ({"file": "not-a-digest", "row": 3}, "origin file must be a sha256"),
    ({"file": DIGEST, "row": 0}, "origin row must be a row number"),
    ({"file": DIGEST, "row": "3"}, "origin row must be a row number"),
])
def test_an_origin_must_name_the_file_digest_and_the_row(origin: dict, message: str) -> None:
    with refused(Refused, match=message):
        imported(origin)


def test_an_imported_closure_goes_through_report_and_passed_reinspection() -> None:
    task = imported()
    close(task)
    events = task.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Assigned", "RectificationReported", "ReinspectionPassed", "Closed"]
    assert all((e.actor, e.role) == ("wang", "admin") for e in events)
    assert events[1].description == "已清理" and events[2].note == "合格"
    assert events[3].closure == "verified" and events[3].reason == "imported: 台账.xlsx row 3"
    assert task.state == CLOSED and task.closure == "verified"


@pytest.mark.parametrize("actor", [LI, ZHAO, SUN], ids=["inspector", "unit", "auditor"])
def test_only_an_administrator_may_enter_an_imported_closure(actor: Actor) -> None:
    task = imported()
    task.collect_events()
    with refused(Refused, match=r"may not import records: that is for admin"):
        close(task, actor)
    assert task.collect_events() == [] and task.state == "assigned"


def test_an_administrator_still_may_not_close_as_verified_by_hand() -> None:
    task = imported()
    with refused(Refused, match="may not close a task as verified"):
        task.close(closure="verified", reason="整改到位", actor=ADMIN,
                   occurred_at=START + timedelta(days=1), now=NOW)


def test_an_imported_closure_before_the_assignment_is_refused_and_writes_nothing() -> None:
    task = imported()
    task.collect_events()
    with refused(Refused, match="before the task's latest event"):
        close(task, at=START - timedelta(hours=1))
    assert task.collect_events() == []


def test_an_imported_closure_of_a_closed_task_is_refused() -> None:
    task = imported()
    close(task)
    with refused(Refused, match="cannot be closed: it is closed"):
        close(task)


def test_an_imported_closure_with_an_empty_note_refuses_before_any_event() -> None:
    task = imported()
    task.collect_events()
    with refused(Refused, match="re-inspection note must not be empty"):
        task.close_imported_as_verified(rectification="已清理", reinspection=" ",
                                        reason="imported", actor=ADMIN,
                                        occurred_at=START + timedelta(days=1), now=NOW)
    assert task.collect_events() == []


@pytest.mark.parametrize(("state", "added"), [
    (REPORTED, ["ReinspectionPassed", "Closed"]),
    (VERIFIED, ["Closed"]),
])
def test_an_imported_closure_adds_only_the_steps_still_missing(state: str,
                                                               added: list[str]) -> None:
    task = imported()
    at = START + timedelta(hours=1)
    task.issue_notice(notice_no="ZG-1", requirements="", actor=LI, occurred_at=at, now=NOW,
                      zone=ZONE)
    task.report_rectification(description="已清理", evidence=[], actor=ZHAO, occurred_at=at,
                              now=NOW)
    if state == VERIFIED:
        task.reinspect(passed=True, note="", evidence=[], actor=LI, occurred_at=at, now=NOW)
    task.collect_events()
    close(task)
    assert [type(e).__name__ for e in task.collect_events()] == added
