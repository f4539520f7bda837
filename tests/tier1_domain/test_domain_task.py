"""The task's lifecycle in the pure domain: every transition, every refusal, derived overdue.

No store: a task is built from its commands, and a refused command must leave it exactly
as it was (no pending event, same state).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from said_support import refused

from domain.base import Actor, Refused
from domain.task import Task
from domain.task_states import (
    ACKNOWLEDGED,
    ASSIGNED,
    CLOSED,
    RECTIFYING,
    REPORTED,
    VERIFIED,
)

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 5, 3, 10, 0, tzinfo=ZONE)
NOW = datetime(2024, 7, 1, 12, 0, tzinfo=ZONE)
DEADLINE = date(2024, 5, 10)
CATEGORIES = ["环境卫生", "交通秩序"]

ADMIN = Actor("wang", "admin")
LI = Actor("li", "inspector")
ZHOU = Actor("zhou", "inspector")
ZHAO = Actor("zhao", "unit", "JS01")
QIAN = Actor("qian", "unit", "JS02")
SUN = Actor("sun", "auditor")


class Story:
    """A task and the moment of its next event (an hour after the previous one)."""

    def __init__(self, *, notice: bool = False, deadline: date = DEADLINE,
                 actor: Actor = LI) -> None:
        self.moment = START
        self.task = Task.assign(
            task_id="T-000001", unit="JS01", category="环境卫生", source="inspection",
            location="幸福路12号", description="电线杆牛皮癣", deadline=deadline, actor=actor,
            occurred_at=START, zone=ZONE, now=NOW)
        if notice:
            self.task.issue_notice(notice_no="ZG-001", requirements="清除", actor=actor,
                                   occurred_at=START, now=NOW, zone=ZONE)

    def next(self, hours: float = 1) -> datetime:
        self.moment += timedelta(hours=hours)
        return self.moment

    def ack(self, actor: Actor = ZHAO) -> Story:
        self.task.acknowledge(actor=actor, occurred_at=self.next(), now=NOW)
        return self

    def notice(self, actor: Actor = LI, deadline: date | None = None) -> Story:
        self.task.issue_notice(notice_no="ZG-002", requirements="清除小广告", actor=actor,
                               occurred_at=self.next(), now=NOW, zone=ZONE,
                               deadline=deadline)
        return self

    def report(self, actor: Actor = ZHAO) -> Story:
        self.task.report_rectification(description="已清除", evidence=[{"file": "a.jpg"}],
                                       actor=actor, occurred_at=self.next(), now=NOW)
        return self

    def reinspect(self, passed: bool, actor: Actor = LI) -> Story:
        self.task.reinspect(passed=passed, note="" if passed else "仍有残留", evidence=[],
                            actor=actor, occurred_at=self.next(), now=NOW)
        return self

    def close(self, closure: str = "verified", actor: Actor = LI) -> Story:
        self.task.close(closure=closure, reason="整改到位", actor=actor,
                        occurred_at=self.next(), now=NOW)
        return self

    def reopen(self, deadline: date, actor: Actor = LI) -> Story:
        self.task.reopen(reason="问题反弹", deadline=deadline, actor=actor,
                         occurred_at=self.next(), now=NOW, zone=ZONE)
        return self


def assigned() -> Story:
    return Story()


def acknowledged() -> Story:
    return Story().ack()


def rectifying() -> Story:
    return Story().ack().notice()


def reported() -> Story:
    return rectifying().report()


def verified() -> Story:
    return reported().reinspect(passed=True)


def closed(closure: str = "verified") -> Story:
    story = verified() if closure == "verified" else rectifying()
    return story.close(closure, actor=LI)


STATE_BUILDERS: dict[str, Callable[[], Story]] = {
    ASSIGNED: assigned, ACKNOWLEDGED: acknowledged, RECTIFYING: rectifying,
    REPORTED: reported, VERIFIED: verified, CLOSED: closed,
}


def snapshot(task: Task) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in vars(task).items()
            if k != "_pending_events"} | {"pending": len(task.pending_events)}


def refuses(task: Task, match: str, command: Callable[[], object]) -> None:
    """The command is refused with a message matching ``match`` and changes nothing."""
    before = snapshot(task)
    with refused(Refused, match=match):
        command()
    assert snapshot(task) == before


def events(task: Task) -> list[str]:
    return [type(e).__name__ for e in task.pending_events]


# --- assignment ------------------------------------------------------------------------


def test_assignment_opens_a_task_in_the_assigned_state() -> None:
    task = assigned().task
    assert (task.id, task.unit, task.state, task.acknowledged) == (
        "T-000001", "JS01", ASSIGNED, False)
    assert (task.deadline, task.cycle, task.rework_count, task.closure) == (
        DEADLINE, 1, 0, None)
    assert task.assigned_at == START and task.source == "inspection"
    assert events(task) == ["Assigned"]


def test_assignment_accepts_the_source_by_its_chinese_name() -> None:
    task = Task.assign(task_id="T-1", unit="JS01", category="环境卫生", source="群众反映",
                       location="和平街", description="乱堆乱放", deadline=DEADLINE,
                       actor=ADMIN, occurred_at=START, zone=ZONE, now=NOW)
    assert task.source == "complaint"


def test_a_notice_may_be_issued_at_assignment() -> None:
    task = Story(notice=True).task
    assert task.state == RECTIFYING and task.notice_no == "ZG-001"
    assert not task.acknowledged
    assert events(task) == ["Assigned", "NoticeIssued"]


def test_deadline_on_the_day_of_assignment_is_accepted() -> None:
    assert Story(deadline=START.date()).task.deadline == date(2024, 5, 3)


def _assign(**overrides: object) -> Task:
    kwargs: dict[str, object] = dict(
        task_id="T-1", unit="JS01", category="环境卫生", source="inspection",
        location="幸福路12号", description="电线杆牛皮癣", deadline=DEADLINE, actor=LI,
        occurred_at=START, zone=ZONE, now=NOW)
    kwargs.update(overrides)
    return Task.assign(**kwargs)  # type: ignore[arg-type]


def test_deadline_before_the_assignment_is_refused() -> None:
    with refused(Refused, match="deadline 2024-05-02 is before the assignment on "
                                      "2024-05-03"):
        _assign(deadline=date(2024, 5, 2))


def test_deadline_is_compared_with_the_assignment_date_in_the_campaign_zone() -> None:
    # 2024-05-02 20:00 UTC is already 2024-05-03 in Shanghai.
    late_evening_utc = datetime(2024, 5, 2, 20, 0, tzinfo=ZoneInfo("UTC"))
    with refused(Refused, match="before the assignment on 2024-05-03"):
        _assign(occurred_at=late_evening_utc, deadline=date(2024, 5, 2))


def test_assignment_in_the_future_is_refused() -> None:
    with refused(Refused, match=r"occurred_at 2024-07-02T.* is in the future"):
        _assign(occurred_at=NOW + timedelta(days=1), deadline=date(2024, 7, 9))


def test_assignment_without_a_time_zone_is_refused() -> None:
    with refused(Refused, match="occurred_at must carry a time zone"):
        _assign(occurred_at=datetime(2024, 5, 3, 10, 0))


@pytest.mark.parametrize("actor", [ZHAO, SUN], ids=["unit", "auditor"])
def test_only_admins_and_inspectors_assign(actor: Actor) -> None:
    with refused(Refused, match=f"{actor.id} \\({actor.role}\\) may not assign: "
                                      "that is for admin, inspector"):
        _assign(actor=actor)


@pytest.mark.parametrize("field", ["location", "description"])
def test_assignment_needs_a_location_and_a_description(field: str) -> None:
    with refused(Refused, match=f"{field} must not be empty \\(got '  '\\)"):
        _assign(**{field: "  "})


def test_unknown_source_is_refused_naming_it() -> None:
    with refused(Refused, match="source must be one of .* got 'rumour'"):
        _assign(source="rumour")


# --- acknowledge -------------------------------------------------------------------------


def test_the_unit_acknowledges_its_task() -> None:
    task = acknowledged().task
    assert task.state == ACKNOWLEDGED and task.acknowledged
    assert events(task)[-1] == "Acknowledged"


def test_a_task_with_a_notice_at_assignment_is_acknowledged_while_rectifying() -> None:
    task = Story(notice=True).ack().task
    assert task.state == RECTIFYING and task.acknowledged


def test_unit_member_cannot_acknowledge_for_another_unit() -> None:
    story = assigned()
    refuses(story.task, "qian acts for unit JS02, not for unit JS01",
            lambda: story.ack(actor=QIAN))


@pytest.mark.parametrize("actor", [ADMIN, LI, SUN], ids=["admin", "inspector", "auditor"])
def test_only_the_unit_acknowledges(actor: Actor) -> None:
    story = assigned()
    refuses(story.task, f"{actor.id} \\({actor.role}\\) may not acknowledge: that is for "
                        "unit", lambda: story.ack(actor=actor))


def test_a_task_is_acknowledged_once() -> None:
    story = acknowledged()
    refuses(story.task, "cannot be acknowledged: it is acknowledged and already "
                        "acknowledged", story.ack)


@pytest.mark.parametrize("state", [REPORTED, VERIFIED, CLOSED])
def test_acknowledge_is_refused_after_the_rectification(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be acknowledged: it is {state}", story.ack)


# --- notice ----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [ADMIN, LI], ids=["admin", "inspector"])
def test_a_notice_starts_the_rectification(actor: Actor) -> None:
    task = acknowledged().notice(actor=actor).task
    assert task.state == RECTIFYING and task.notice_no == "ZG-002"
    assert task.deadline == DEADLINE


def test_a_notice_before_acknowledgement_is_accepted() -> None:
    assert assigned().notice().task.state == RECTIFYING


def test_a_notice_with_a_deadline_sets_the_deadline() -> None:
    task = acknowledged().notice(deadline=date(2024, 5, 20)).task
    assert task.deadline == date(2024, 5, 20)
    assert task.deadline_set_by == 3


def test_a_notice_deadline_before_the_notice_is_refused() -> None:
    story = acknowledged()
    refuses(story.task, "deadline 2024-05-01 is before 2024-05-03",
            lambda: story.notice(deadline=date(2024, 5, 1)))


@pytest.mark.parametrize("state", [RECTIFYING, REPORTED, VERIFIED, CLOSED])
def test_a_second_notice_is_refused(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot get a notice: it is {state}", story.notice)


def test_a_second_notice_names_the_first() -> None:
    story = rectifying()
    refuses(story.task, r"it is rectifying \(notice ZG-002\)", story.notice)


@pytest.mark.parametrize("actor", [ZHAO, SUN], ids=["unit", "auditor"])
def test_units_and_auditors_cannot_issue_notices(actor: Actor) -> None:
    story = acknowledged()
    refuses(story.task, f"{actor.id} \\({actor.role}\\) may not issue notice",
            lambda: story.notice(actor=actor))


def test_a_notice_needs_a_number() -> None:
    story = acknowledged()
    refuses(story.task, "notice number must not be empty", lambda: story.task.issue_notice(
        notice_no=" ", requirements="", actor=LI, occurred_at=story.next(), now=NOW,
        zone=ZONE))


# --- report ----------------------------------------------------------------------------


def test_the_unit_reports_its_rectification_with_evidence() -> None:
    task = rectifying().report().task
    assert task.state == REPORTED
    assert task.evidence == [{"file": "a.jpg", "sha256": "", "description": ""}]


@pytest.mark.parametrize("state", [ASSIGNED, ACKNOWLEDGED])
def test_report_before_a_notice_is_refused(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be reported as rectified: it is {state} "
                        r"\(no rectification notice yet\)", story.report)


@pytest.mark.parametrize("state", [REPORTED, VERIFIED, CLOSED])
def test_report_outside_rectification_is_refused(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be reported as rectified: it is {state}$", story.report)


def test_unit_member_cannot_report_for_another_unit() -> None:
    story = rectifying()
    refuses(story.task, "qian acts for unit JS02, not for unit JS01",
            lambda: story.report(actor=QIAN))


@pytest.mark.parametrize("actor", [ADMIN, LI, SUN], ids=["admin", "inspector", "auditor"])
def test_only_the_unit_reports(actor: Actor) -> None:
    story = rectifying()
    refuses(story.task, "may not report rectification", lambda: story.report(actor=actor))


def test_report_needs_a_description() -> None:
    story = rectifying()
    refuses(story.task, "rectification description must not be empty",
            lambda: story.task.report_rectification(description="", evidence=[], actor=ZHAO,
                                                    occurred_at=story.next(), now=NOW))


def test_evidence_with_a_malformed_sha256_is_refused_naming_it() -> None:
    story = rectifying()
    refuses(story.task, "evidence sha256 must be 64 hex digits, got 'abc'",
            lambda: story.task.report_rectification(
                description="已清除", evidence=[{"file": "a.jpg", "sha256": "abc"}],
                actor=ZHAO, occurred_at=story.next(), now=NOW))


# --- re-inspection ---------------------------------------------------------------------


def test_a_passed_reinspection_verifies_the_task() -> None:
    task = reported().reinspect(passed=True).task
    assert task.state == VERIFIED and task.rework_count == 0


def test_a_failed_reinspection_sends_the_task_back_to_rework() -> None:
    task = reported().reinspect(passed=False).task
    assert task.state == RECTIFYING and task.rework_count == 1


def test_rework_is_counted_for_each_failed_reinspection() -> None:
    story = reported().reinspect(passed=False).report().reinspect(passed=False).report()
    assert story.task.rework_count == 2
    assert story.reinspect(passed=True).task.state == VERIFIED


@pytest.mark.parametrize("state", [ASSIGNED, ACKNOWLEDGED, RECTIFYING, VERIFIED, CLOSED])
def test_reinspecting_something_never_reported_is_refused(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be re-inspected: it is {state}, and only a reported "
                        "rectification is re-inspected", lambda: story.reinspect(True))


@pytest.mark.parametrize("actor", [ADMIN, ZHAO, SUN], ids=["admin", "unit", "auditor"])
def test_only_inspectors_reinspect(actor: Actor) -> None:
    story = reported()
    refuses(story.task, f"{actor.id} \\({actor.role}\\) may not reinspect: that is for "
                        "inspector", lambda: story.reinspect(True, actor=actor))


def test_a_failed_reinspection_needs_a_reason() -> None:
    story = reported()
    refuses(story.task, "reason for failing must not be empty", lambda: story.task.reinspect(
        passed=False, note=" ", evidence=[], actor=LI, occurred_at=story.next(), now=NOW))


# --- extend, escalate, evidence --------------------------------------------------------


@pytest.mark.parametrize("state", [ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED])
def test_an_open_task_gets_a_later_deadline(state: str) -> None:
    story = STATE_BUILDERS[state]()
    story.task.extend_deadline(deadline=date(2024, 5, 17), reason="工程量大", actor=ADMIN,
                               occurred_at=story.next(), now=NOW)
    task = story.task
    assert task.deadline == date(2024, 5, 17) and task.state == state
    assert task.pending_events[-1].previous_deadline == DEADLINE  # type: ignore[attr-defined]
    assert task.pending_events[-1].actor == "wang"


@pytest.mark.parametrize("new", [DEADLINE, DEADLINE - timedelta(days=1)])
def test_an_extension_must_be_later_than_the_current_deadline(new: date) -> None:
    story = rectifying()
    refuses(story.task, f"new deadline {new.isoformat()} is not after the current deadline "
                        "2024-05-10", lambda: story.task.extend_deadline(
                            deadline=new, reason="x", actor=LI, occurred_at=story.next(),
                            now=NOW))


@pytest.mark.parametrize("state", [VERIFIED, CLOSED])
def test_a_finished_task_cannot_be_extended(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be extended: it is {state}", lambda: story.task.
            extend_deadline(deadline=date(2024, 6, 1), reason="x", actor=LI,
                            occurred_at=story.next(), now=NOW))


@pytest.mark.parametrize("actor", [ZHAO, SUN], ids=["unit", "auditor"])
def test_units_cannot_extend_their_own_deadline(actor: Actor) -> None:
    story = rectifying()
    refuses(story.task, "may not extend deadline", lambda: story.task.extend_deadline(
        deadline=date(2024, 6, 1), reason="x", actor=actor, occurred_at=story.next(),
        now=NOW))


def test_an_extension_needs_a_reason() -> None:
    story = rectifying()
    refuses(story.task, "reason must not be empty", lambda: story.task.extend_deadline(
        deadline=date(2024, 6, 1), reason="", actor=LI, occurred_at=story.next(), now=NOW))


@pytest.mark.parametrize("state", [ASSIGNED, RECTIFYING, REPORTED, VERIFIED])
def test_an_open_task_is_escalated(state: str) -> None:
    story = STATE_BUILDERS[state]()
    story.task.escalate(reason="超期未整改", actor=ADMIN, occurred_at=story.next(), now=NOW)
    story.task.escalate(reason="再次督办", actor=LI, occurred_at=story.next(), now=NOW)
    assert story.task.escalations == 2 and story.task.state == state


def test_a_closed_task_is_not_escalated() -> None:
    story = closed()
    refuses(story.task, r"cannot be escalated: it is closed \(verified\)",
            lambda: story.task.escalate(reason="x", actor=ADMIN, occurred_at=story.next(),
                                        now=NOW))


@pytest.mark.parametrize("actor", [ZHAO, SUN], ids=["unit", "auditor"])
def test_units_and_auditors_do_not_escalate(actor: Actor) -> None:
    story = rectifying()
    refuses(story.task, "may not escalate", lambda: story.task.escalate(
        reason="x", actor=actor, occurred_at=story.next(), now=NOW))


@pytest.mark.parametrize("actor", [ADMIN, LI, ZHAO], ids=["admin", "inspector", "unit"])
def test_evidence_is_attached_to_an_open_task(actor: Actor) -> None:
    story = rectifying()
    story.task.attach_evidence(evidence=[{"file": "before.jpg", "description": "整改前"}],
                               actor=actor, occurred_at=story.next(), now=NOW)
    assert story.task.evidence == [{"file": "before.jpg", "sha256": "",
                                    "description": "整改前"}]
    assert story.task.state == RECTIFYING


def test_evidence_is_not_attached_to_a_closed_task() -> None:
    story = closed()
    refuses(story.task, r"cannot be given evidence: it is closed \(verified\)",
            lambda: story.task.attach_evidence(evidence=[{"file": "x.jpg"}], actor=LI,
                                               occurred_at=story.next(), now=NOW))


def test_evidence_must_name_a_file() -> None:
    story = rectifying()
    refuses(story.task, "evidence must name at least one file", lambda: story.task.
            attach_evidence(evidence=[], actor=LI, occurred_at=story.next(), now=NOW))
    refuses(story.task, "evidence file must not be empty", lambda: story.task.
            attach_evidence(evidence=[{"file": ""}], actor=LI, occurred_at=story.next(),
                            now=NOW))


def test_unit_member_cannot_attach_evidence_for_another_unit() -> None:
    story = rectifying()
    refuses(story.task, "qian acts for unit JS02, not for unit JS01",
            lambda: story.task.attach_evidence(evidence=[{"file": "x.jpg"}], actor=QIAN,
                                               occurred_at=story.next(), now=NOW))


def test_auditors_do_not_attach_evidence() -> None:
    story = rectifying()
    refuses(story.task, "sun \\(auditor\\) may not attach evidence",
            lambda: story.task.attach_evidence(evidence=[{"file": "x.jpg"}], actor=SUN,
                                               occurred_at=story.next(), now=NOW))


# --- closure ---------------------------------------------------------------------------


def test_a_verified_task_is_closed_as_verified_by_an_inspector() -> None:
    task = verified().close().task
    assert task.state == CLOSED and task.closure == "verified" and not task.is_open


@pytest.mark.parametrize("state", [ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED])
def test_close_as_verified_before_a_passed_reinspection_is_refused(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be closed as verified: it is {state} and has no passed "
                        "re-inspection", story.close)


@pytest.mark.parametrize("closure", ["void", "duplicate", "not_responsible"])
@pytest.mark.parametrize("state", [ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED, VERIFIED])
def test_an_open_task_is_closed_as_void_duplicate_or_not_responsible(state: str,
                                                                     closure: str) -> None:
    story = STATE_BUILDERS[state]().close(closure, actor=ADMIN)
    assert story.task.state == CLOSED and story.task.closure == closure


def test_closure_is_accepted_by_its_chinese_name_and_with_a_hyphen() -> None:
    assert rectifying().close("非责任单位", actor=ADMIN).task.closure == "not_responsible"
    assert rectifying().close("not-responsible", actor=ADMIN).task.closure == \
        "not_responsible"


def test_unknown_closure_is_refused_naming_it() -> None:
    story = rectifying()
    refuses(story.task, "closure must be one of verified, void, duplicate, not_responsible, "
                        "got 'fixed'", lambda: story.close("fixed", actor=ADMIN))


@pytest.mark.parametrize("closure", ["verified", "void"])
def test_unit_cannot_close_its_own_task(closure: str) -> None:
    story = verified()
    refuses(story.task, "zhao \\(unit\\) may not close", lambda: story.close(closure,
                                                                              actor=ZHAO))


def test_admin_does_not_close_as_verified() -> None:
    story = verified()
    refuses(story.task, "wang \\(admin\\) may not close a task as verified: that is for "
                        "inspector", lambda: story.close(actor=ADMIN))


def test_auditor_cannot_close() -> None:
    story = rectifying()
    refuses(story.task, "sun \\(auditor\\) may not close", lambda: story.close(
        "void", actor=SUN))


def test_a_closed_task_is_not_closed_again() -> None:
    story = closed()
    refuses(story.task, r"cannot be closed: it is closed \(verified\)",
            lambda: story.close("void", actor=ADMIN))


def test_closing_needs_a_reason() -> None:
    story = rectifying()
    refuses(story.task, "reason must not be empty", lambda: story.task.close(
        closure="void", reason="", actor=ADMIN, occurred_at=story.next(), now=NOW))


# --- reopen ----------------------------------------------------------------------------


def test_reopening_starts_a_new_cycle_with_its_own_deadline() -> None:
    task = closed().reopen(deadline=date(2024, 6, 1)).task
    assert (task.state, task.closure, task.cycle, task.deadline) == (
        RECTIFYING, None, 2, date(2024, 6, 1))
    assert task.deadline_set_by == task.version


def test_a_reopened_task_goes_round_again() -> None:
    story = closed().reopen(deadline=date(2024, 6, 1)).report().reinspect(True).close()
    assert story.task.state == CLOSED and story.task.cycle == 2


@pytest.mark.parametrize("closure", ["void", "duplicate", "not_responsible"])
def test_a_task_closed_without_rectification_cannot_be_reopened(closure: str) -> None:
    story = closed(closure)
    refuses(story.task, f"was closed as {closure.replace('_', ' ')}, not as rectified; "
            "assign a new task instead", lambda: story.reopen(deadline=date(2024, 6, 1)))


@pytest.mark.parametrize("state", [ASSIGNED, RECTIFYING, VERIFIED])
def test_an_open_task_cannot_be_reopened(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be reopened: it is {state}, not closed",
            lambda: story.reopen(deadline=date(2024, 6, 1)))


def test_a_reopening_deadline_before_the_reopening_is_refused() -> None:
    story = closed()
    refuses(story.task, "deadline 2024-05-02 is before 2024-05-03",
            lambda: story.reopen(deadline=date(2024, 5, 2)))


@pytest.mark.parametrize("actor", [ZHAO, SUN], ids=["unit", "auditor"])
def test_units_and_auditors_do_not_reopen(actor: Actor) -> None:
    story = closed()
    refuses(story.task, "may not reopen", lambda: story.reopen(date(2024, 6, 1), actor))


# --- reassign --------------------------------------------------------------------------


@pytest.mark.parametrize("state", [ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED])
def test_reassigned_task_goes_to_the_other_unit_unacknowledged(state: str) -> None:
    story = STATE_BUILDERS[state]()
    story.task.reassign(unit="JS02", reason="属地调整", actor=ADMIN,
                        occurred_at=story.next(), now=NOW)
    task = story.task
    assert (task.unit, task.state, task.acknowledged) == ("JS02", ASSIGNED, False)
    assert task.pending_events[-1].previous_unit == "JS01"  # type: ignore[attr-defined]


def test_after_reassignment_only_the_new_unit_acts() -> None:
    story = rectifying()
    story.task.reassign(unit="JS02", reason="属地调整", actor=LI, occurred_at=story.next(),
                        now=NOW)
    refuses(story.task, "zhao acts for unit JS01, not for unit JS02", story.ack)
    story.ack(actor=QIAN)
    assert story.task.state == ACKNOWLEDGED


@pytest.mark.parametrize("state", [VERIFIED, CLOSED])
def test_a_finished_task_is_not_reassigned(state: str) -> None:
    story = STATE_BUILDERS[state]()
    refuses(story.task, f"cannot be reassigned: it is {state}", lambda: story.task.reassign(
        unit="JS02", reason="x", actor=ADMIN, occurred_at=story.next(), now=NOW))


def test_reassigning_to_the_same_unit_is_refused() -> None:
    story = rectifying()
    refuses(story.task, "is already assigned to unit JS01", lambda: story.task.reassign(
        unit="JS01", reason="x", actor=ADMIN, occurred_at=story.next(), now=NOW))


@pytest.mark.parametrize("actor", [ZHAO, SUN], ids=["unit", "auditor"])
def test_a_unit_cannot_pass_its_task_on(actor: Actor) -> None:
    story = rectifying()
    refuses(story.task, "may not reassign", lambda: story.task.reassign(
        unit="JS02", reason="x", actor=actor, occurred_at=story.next(), now=NOW))


# --- valid time ------------------------------------------------------------------------


def test_an_event_in_the_future_is_refused() -> None:
    story = acknowledged()
    refuses(story.task, r"occurred_at 2024-07-01T12:00:01\+08:00 is in the future",
            lambda: story.task.issue_notice(
                notice_no="ZG-1", requirements="", actor=LI,
                occurred_at=NOW + timedelta(seconds=1), now=NOW, zone=ZONE))


def test_an_event_before_the_task_latest_event_is_refused() -> None:
    story = acknowledged()
    refuses(story.task, r"occurred_at 2024-05-03T10:30:00\+08:00 is before the task's "
                        r"latest event \(2024-05-03T11:00:00\+08:00\)",
            lambda: story.task.issue_notice(
                notice_no="ZG-1", requirements="", actor=LI,
                occurred_at=START + timedelta(minutes=30), now=NOW, zone=ZONE))


def test_an_event_at_the_same_moment_as_the_latest_is_accepted() -> None:
    story = acknowledged()
    story.task.issue_notice(notice_no="ZG-1", requirements="", actor=LI,
                            occurred_at=story.moment, now=NOW, zone=ZONE)
    assert story.task.state == RECTIFYING


def test_an_event_entered_late_keeps_the_valid_time_it_was_given() -> None:
    story = assigned()
    # Entered weeks later (now is July), it happened an hour after the assignment.
    story.task.acknowledge(actor=ZHAO, occurred_at=START + timedelta(hours=1), now=NOW)
    assert story.task.log[-1][1] == START + timedelta(hours=1)
    assert story.task.pending_events[-1].occurred_at == START + timedelta(hours=1)


# --- overdue ---------------------------------------------------------------------------


def test_a_task_is_overdue_from_the_day_after_its_deadline() -> None:
    task = rectifying().task
    assert not task.is_overdue(date(2024, 5, 10))
    assert task.is_overdue(date(2024, 5, 11))


@pytest.mark.parametrize("state", [ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED])
def test_an_unverified_task_past_its_deadline_is_overdue(state: str) -> None:
    assert STATE_BUILDERS[state]().task.is_overdue(date(2024, 6, 1))


@pytest.mark.parametrize("state", [VERIFIED, CLOSED])
def test_a_verified_or_closed_task_is_never_overdue(state: str) -> None:
    assert not STATE_BUILDERS[state]().task.is_overdue(date(2024, 6, 1))


def test_an_extension_ends_the_overdue() -> None:
    story = rectifying()
    story.task.extend_deadline(deadline=date(2024, 6, 5), reason="延期", actor=ADMIN,
                               occurred_at=story.next(), now=NOW)
    assert not story.task.is_overdue(date(2024, 6, 1))
    assert story.task.is_overdue(date(2024, 6, 6))


def test_a_reopened_task_is_overdue_against_its_new_deadline() -> None:
    reopened = closed().reopen(deadline=date(2024, 6, 1))
    assert not reopened.task.is_overdue(date(2024, 6, 1))
    assert reopened.task.is_overdue(date(2024, 6, 2))


# --- corrections -----------------------------------------------------------------------


def _correct(story: Story, actor: Actor, event: int, reason: str = "录入错误",
             **changes: str) -> None:
    story.task.correct(corrects=event, changes=changes, reason=reason, actor=actor,
                       occurred_at=story.next(), now=NOW, zone=ZONE, categories=CATEGORIES)


def test_a_correction_is_a_new_event_naming_the_one_it_corrects() -> None:
    story = rectifying()
    _correct(story, LI, 1, location="幸福路14号", category="交通秩序")
    task = story.task
    assert (task.location, task.category) == ("幸福路14号", "交通秩序")
    corrected = task.pending_events[-1]
    assert type(corrected).__name__ == "Corrected"
    assert corrected.corrects == 1  # type: ignore[attr-defined]
    assert corrected.changes == {"location": "幸福路14号",  # type: ignore[attr-defined]
                                 "category": "交通秩序"}
    assert task.pending_events[0].location == "幸福路12号"  # type: ignore[attr-defined]


def test_correcting_the_assignment_time_moves_the_assignment() -> None:
    story = rectifying()
    _correct(story, ADMIN, 1, occurred_at="2024-05-03T09:00:00+08:00")
    assert story.task.assigned_at == datetime(2024, 5, 3, 9, 0, tzinfo=ZONE)
    assert story.task.log[0][1] == datetime(2024, 5, 3, 9, 0, tzinfo=ZONE)


def test_correcting_the_deadline_of_the_event_that_set_it() -> None:
    story = acknowledged().notice(deadline=date(2024, 5, 20))
    _correct(story, LI, 3, deadline="2024-05-25")
    assert story.task.deadline == date(2024, 5, 25)


def test_only_the_event_that_set_the_current_deadline_may_have_it_corrected() -> None:
    story = acknowledged().notice(deadline=date(2024, 5, 20))
    refuses(story.task, r"only the event that set the current deadline \(event 3\)",
            lambda: _correct(story, LI, 1, deadline="2024-05-25"))


def test_a_corrected_deadline_before_its_event_is_refused() -> None:
    story = rectifying()
    refuses(story.task, "deadline 2024-05-01 is before the event it belongs to",
            lambda: _correct(story, LI, 1, deadline="2024-05-01"))


def test_a_unit_member_corrects_its_own_event() -> None:
    story = rectifying()
    _correct(story, ZHAO, 2, occurred_at="2024-05-03T10:30:00+08:00")
    assert story.task.log[1][1] == datetime(2024, 5, 3, 10, 30, tzinfo=ZONE)


def test_only_the_author_or_an_admin_corrects_an_event() -> None:
    story = rectifying()
    refuses(story.task, "event 1 of task T-000001 was recorded by li; only they or an admin "
                        "may correct it, not zhou",
            lambda: _correct(story, ZHOU, 1, location="x"))
    refuses(story.task, "was recorded by li; only they or an admin may correct it, not "
                        "zhao", lambda: _correct(story, ZHAO, 1, location="x"))


def test_unit_member_cannot_correct_another_units_task() -> None:
    story = rectifying()
    refuses(story.task, "qian acts for unit JS02, not for unit JS01",
            lambda: _correct(story, QIAN, 2, occurred_at="2024-05-03T10:30:00+08:00"))


def test_auditors_do_not_correct() -> None:
    story = rectifying()
    refuses(story.task, "sun \\(auditor\\) may not correct",
            lambda: _correct(story, SUN, 1, location="x"))


def test_a_correction_of_an_unknown_event_is_refused() -> None:
    story = rectifying()
    refuses(story.task, r"task T-000001 has no event 9 \(it has 3\)",
            lambda: _correct(story, ADMIN, 9, location="x"))
    refuses(story.task, r"has no event 0", lambda: _correct(story, ADMIN, 0, location="x"))


def test_a_correction_is_not_itself_corrected() -> None:
    story = rectifying()
    _correct(story, ADMIN, 1, location="幸福路14号")
    refuses(story.task, "event 4 of task T-000001 is itself a correction",
            lambda: _correct(story, ADMIN, 4, occurred_at="2024-05-03T12:00:00+08:00"))


def test_a_correction_needs_a_reason_and_a_change() -> None:
    story = rectifying()
    refuses(story.task, "reason must not be empty",
            lambda: _correct(story, ADMIN, 1, reason=" ", location="x"))
    refuses(story.task, "a correction must change at least one field",
            lambda: _correct(story, ADMIN, 1))


def test_a_field_an_event_does_not_have_cannot_be_corrected() -> None:
    story = rectifying()
    refuses(story.task, r"field 'location' of event 2 \(Acknowledged\) cannot be corrected "
                        r"\(correctable: occurred_at\)",
            lambda: _correct(story, ADMIN, 2, location="x"))
    refuses(story.task, r"field 'state' of event 1 \(Assigned\) cannot be corrected",
            lambda: _correct(story, ADMIN, 1, state="closed"))


def test_a_corrected_time_must_keep_the_events_in_order() -> None:
    story = rectifying()
    refuses(story.task, "corrected occurred_at 2024-05-03T12:30:00\\+08:00 would put event "
                        "2 out of order",
            lambda: _correct(story, ZHAO, 2, occurred_at="2024-05-03T12:30:00+08:00"))
    refuses(story.task, "would put event 2 out of order",
            lambda: _correct(story, ZHAO, 2, occurred_at="2024-05-03T09:30:00+08:00"))


def test_a_corrected_time_must_not_lie_in_the_future() -> None:
    story = rectifying()
    refuses(story.task, "corrected occurred_at 2024-07-02T00:00:00\\+08:00 is after the "
                        "correction itself",
            lambda: _correct(story, LI, 3, occurred_at="2024-07-02T00:00:00+08:00"))


def test_a_corrected_time_must_carry_a_zone_and_be_a_time() -> None:
    story = rectifying()
    refuses(story.task, "occurred_at must carry a time zone",
            lambda: _correct(story, ADMIN, 1, occurred_at="2024-05-03T09:00:00"))
    refuses(story.task, "occurred_at must be an ISO date-time, got 'yesterday'",
            lambda: _correct(story, ADMIN, 1, occurred_at="yesterday"))


def test_a_corrected_assignment_after_its_deadline_is_refused() -> None:
    story = Story(deadline=date(2024, 5, 3))
    story.next(hours=48)
    story.ack()
    refuses(story.task, "is after the deadline 2024-05-03",
            lambda: _correct(story, ADMIN, 1, occurred_at="2024-05-04T09:00:00+08:00"))


def test_a_corrected_category_must_be_the_campaigns() -> None:
    story = rectifying()
    refuses(story.task, "category '卫生' is not one of this campaign's categories",
            lambda: _correct(story, ADMIN, 1, category="卫生"))


def test_a_corrected_deadline_must_be_a_date() -> None:
    story = rectifying()
    refuses(story.task, "deadline must be a date YYYY-MM-DD, got '5月10日'",
            lambda: _correct(story, ADMIN, 1, deadline="5月10日"))
