"""A task (任务 / 问题): one line of the 台账, from assignment to closure and beyond.

The lifecycle (see docs/domain.md, "The task lifecycle")::

    assigned ─acknowledge→ acknowledged ─notice→ rectifying ─report→ reported
    reported ─reinspect pass→ verified ─close→ closed ─reopen→ rectifying
    reported ─reinspect fail→ rectifying (rework)
    any open state ─void/duplicate/not responsible→ closed
    assigned/acknowledged/rectifying/reported ─reassign→ assigned

The transitions are one table, :data:`LIFECYCLE` (at the end of this module): the methods'
state checks and the events' state changes read it, and so does the board's fold
(``projections/board.py``). Every method checks the state, the actor's role and the data
before it triggers an event; a refused command raises :class:`Refused` and changes nothing.

This module holds the aggregate: its events (whose topics, ``domain.task:Task.…``, every
ledger stores, so they stay here), its creation, its derived facts and its checks. The
states' words are :mod:`domain.task_states`; the lifecycle's guarded commands are
:mod:`domain.task_commands`.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from domain.base import (
    Actor,
    LedgerAggregate,
    LedgerCreated,
    Label,
    LedgerEvent,
    N_,
    Refused,
    check_day,
    check_moment,
    local_date,
    optional_text,
    require_text,
)
from domain import extension
from domain.extension import ExtensionRequests
from domain.place import check_place
from domain.corrections import Correctable, parse_date
from domain.roles import authorize
from domain.task_commands import TaskCommands
# The fields' words and checks (domain.task_fields, where the commands and the ledger read
# them).
from domain.task_fields import CLOSURES, check_origin, check_rule, parse_source
from domain.task_states import (
    ACKNOWLEDGED,
    ASSIGNED,
    CLOSED,
    OPEN,
    RECTIFYING,
    REPORTED,
    STATE_LABELS,
    UNFINISHED,
    VERIFIED,
    Move,
)

__all__ = ["LIFECYCLE", "Task", "TaskEvent"]


class TaskEvent(LedgerEvent):
    """An event after the assignment; keeps the task's log of what happened when."""

    def apply(self, task: Task) -> None:
        task.last_occurred_at = self.occurred_at
        move = LIFECYCLE.get(type(self))
        if move is not None:
            task.state = move.after(task.state)
        self.change(task)

    def change(self, task: Task) -> None:
        """How this event changes the task (nothing, for events that only record)."""


class Task(TaskCommands, ExtensionRequests, Correctable, LedgerAggregate):
    """One problem or assignment to a responsible unit, and its rectification cycles."""

    LABEL = N_("台账任务")
    # What a correction may change besides when the event happened (see
    # domain/corrections.py); a wrong unit is not corrected but reassigned.
    CORRECTABLE = {
        "Assigned": ("category", "location", "description", "source", "deadline"),
        "NoticeIssued": ("deadline",),
        "DeadlineExtended": ("deadline",),
        "Reopened": ("deadline",),
    }
    DATES = frozenset({"deadline"})
    WITHDRAW_INSTEAD = N_("请按作废或重复销号")

    FINISHED = (VERIFIED, CLOSED)

    class Assigned(LedgerCreated):
        task_id: str
        unit: str
        category: str
        source: str
        location: str
        description: str
        deadline: date
        inspection: str | None
        note: str
        # Where an imported task came from: {source, file (sha256), name, row, id}.
        origin: dict[str, Any] | None = None
        # Where the problem is on the map (WGS 84 degrees), when the record says.
        latitude: float | None = None
        longitude: float | None = None
        # The deadline as it was given, where that was not a date ("7个工作日"); the
        # deadline field holds the date it resolved to when the event was recorded.
        deadline_rule: str | None = None

        def apply(self, task: Task) -> None:
            task.task_id = self.task_id
            task.unit = self.unit
            task.category = self.category
            task.source = self.source
            task.location = self.location
            task.description = self.description
            task.deadline = self.deadline
            task.deadline_set_by = 1
            task.inspection = self.inspection
            task.state = LIFECYCLE[type(self)].to
            task.acknowledged = False
            task.notice_no = None
            task.cycle = 1
            task.rework_count = 0
            task.escalations = 0
            task.closure = None
            task.evidence = []
            task.assigned_at = self.occurred_at
            task.last_occurred_at = self.occurred_at
            task.latitude = self.latitude
            task.longitude = self.longitude

    class Acknowledged(TaskEvent):
        note: str

        def change(self, task: Task) -> None:
            task.acknowledged = True

    class NoticeIssued(TaskEvent):
        notice_no: str
        requirements: str
        deadline: date | None
        deadline_rule: str | None = None

        def change(self, task: Task) -> None:
            task.notice_no = self.notice_no
            if self.deadline is not None:
                task.deadline = self.deadline
                task.deadline_set_by = self.originator_version

    class RectificationReported(TaskEvent):
        description: str
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.evidence.extend(self.evidence)

    class ReinspectionPassed(TaskEvent):
        note: str
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.evidence.extend(self.evidence)

    class ReinspectionFailed(TaskEvent):
        reason: str
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.rework_count += 1
            task.evidence.extend(self.evidence)

    class DeadlineExtended(TaskEvent):
        deadline: date
        previous_deadline: date
        reason: str
        deadline_rule: str | None = None

        def change(self, task: Task) -> None:
            task.deadline = self.deadline
            task.deadline_set_by = self.originator_version

    class ExtensionRequested(TaskEvent):  # the methods: domain/extension.py
        deadline: date
        current_deadline: date
        reason: str
        deadline_rule: str | None = None
        change = extension.requested

    class ExtensionApproved(TaskEvent):  # followed by the DeadlineExtended it decides
        request: int
        note: str
        change = extension.decided

    class ExtensionRefused(TaskEvent):
        request: int
        reason: str
        change = extension.decided

    class Escalated(TaskEvent):
        reason: str

        def change(self, task: Task) -> None:
            task.escalations += 1

    class EvidenceAttached(TaskEvent):
        evidence: list[dict[str, str]]

        def change(self, task: Task) -> None:
            task.evidence.extend(self.evidence)

    class Closed(TaskEvent):
        closure: str
        reason: str

        def change(self, task: Task) -> None:
            task.closure = self.closure

    class Reopened(TaskEvent):
        reason: str
        deadline: date
        deadline_rule: str | None = None

        def change(self, task: Task) -> None:
            task.closure = None
            task.cycle += 1
            task.deadline = self.deadline
            task.deadline_set_by = self.originator_version

    class Reassigned(TaskEvent):
        unit: str
        previous_unit: str
        reason: str

        def change(self, task: Task) -> None:
            task.unit = self.unit
            task.acknowledged = False

    # --- creation -------------------------------------------------------------------

    @classmethod
    def assign(cls, *, task_id: str, unit: str, category: str, source: str, location: str,
               description: str, deadline: date, actor: Actor, occurred_at: datetime,
               zone: tzinfo, now: datetime, inspection: str | None = None,
               note: str = "", origin: dict[str, Any] | None = None,
               latitude: float | None = None, longitude: float | None = None,
               deadline_rule: str | None = None) -> Task:
        """Assign a problem or target to a unit. The unit and category are checked by the
        caller against the registries; here the task's own data is checked. An imported
        task carries its ``origin``: the file's sha256, the row, and the source's own id.
        A deadline given as working days comes as its ``deadline_rule`` with the date the
        caller resolved it to by the holiday calendar."""
        authorize(actor, "assign")
        check_moment(occurred_at, now)
        source = parse_source(source)
        check_day("deadline", deadline)
        latitude, longitude = check_place(latitude, longitude)
        if deadline < local_date(occurred_at, zone):
            raise Refused("整改期限 {deadline} 早于交办日期 {assigned}",
                          deadline=deadline.isoformat(),
                          assigned=local_date(occurred_at, zone).isoformat())
        return cls._create(
            cls.Assigned, id=task_id, task_id=task_id, unit=unit, category=category,
            source=source, location=require_text("location", location),
            description=require_text("description", description), deadline=deadline,
            inspection=inspection, note=optional_text("note", note),
            origin=check_origin(origin), latitude=latitude, longitude=longitude,
            deadline_rule=check_rule(deadline, deadline_rule),
            occurred_at=occurred_at, **actor.stamp(),
        )


    @property
    def is_open(self) -> bool:
        return self.state != CLOSED

    def is_overdue(self, on: date) -> bool:
        """Overdue from the day after the deadline until verified; derived, never stored."""
        return self.state not in (VERIFIED, CLOSED) and on > self.deadline

    # --- checks ----------------------------------------------------------------------

    def _may(self, event: type[TaskEvent]) -> bool:
        """Whether the lifecycle takes ``event``'s command in the task's state."""
        return self.state in LIFECYCLE[event].taken_in

    def _state(self) -> Label:
        """The task's state as a refusal shows it."""
        return Label(STATE_LABELS[self.state])

    def _check_open(self, refusal: str, event: type[TaskEvent] | None = None) -> None:
        """Refuse, with ``refusal`` (a template naming {task} and {closure}), a command that
        a closed task does not take."""
        if self.state not in (LIFECYCLE[event].taken_in if event else OPEN):
            raise Refused(refusal, task=self.id, closure=Label(CLOSURES[self.closure]))

    def _check_when(self, occurred_at: datetime, now: datetime) -> None:
        check_moment(occurred_at, now)
        if occurred_at < self.last_occurred_at:
            raise Refused("发生时间 {moment} 早于该任务最近一次事件（{latest}）",
                          moment=occurred_at.isoformat(),
                          latest=self.last_occurred_at.isoformat())

    def _check_deadline(self, deadline: date, occurred_at: datetime, zone: tzinfo) -> None:
        check_day("deadline", deadline)
        if deadline < local_date(occurred_at, zone):
            raise Refused("整改期限 {deadline} 早于 {day}", deadline=deadline.isoformat(),
                          day=local_date(occurred_at, zone).isoformat())

    def _concerns(self) -> str | None:
        return self.unit

    def _apply_correction(self, version: int, changes: dict[str, Any],
                          occurred_at: datetime) -> None:
        super()._apply_correction(version, changes, occurred_at)
        if version == 1 and "occurred_at" in changes:
            self.assigned_at = datetime.fromisoformat(changes["occurred_at"])

    def _check_moment_of(self, version: int, moment: datetime, zone: tzinfo) -> None:
        if version == 1 and local_date(moment, zone) > self.deadline:
            raise Refused("更正后的发生时间 {moment} 晚于整改期限 {deadline}",
                          moment=moment.isoformat(), deadline=self.deadline.isoformat())

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, categories: list[str] = (),
                     **context: Any) -> Any:
        if field == "deadline":
            new = parse_date("deadline", value)
            if version != self.deadline_set_by:
                raise Refused("只有设定现行期限的事件（第 {event} 个事件）才能更正整改期限",
                              event=self.deadline_set_by)
            if new < local_date(self.log[version - 1][1], zone):
                raise Refused("整改期限 {deadline} 早于它所属的事件", deadline=value)
            return new.isoformat()
        if field == "category":
            if value not in categories:
                raise Refused("管理类别 {category!r} 不在本次创建活动的类别之中", category=value)
            return value
        if field == "source":
            return parse_source(value)
        return require_text(field, value)


# The lifecycle as one table (docs/domain.md, "The task lifecycle"): per event of a task,
# the states its command is taken in, and the state it leads to. The aggregate's guards
# and its events read it, and so does the board's fold (projections/board.py). Events not
# here (extension requests, evidence) leave the state as it is.
LIFECYCLE: dict[type[LedgerEvent], Move] = {
    Task.Assigned: Move(frozenset(), ASSIGNED),
    Task.Acknowledged: Move(frozenset({ASSIGNED, RECTIFYING}), ACKNOWLEDGED,
                            only_from=frozenset({ASSIGNED})),
    Task.NoticeIssued: Move(frozenset({ASSIGNED, ACKNOWLEDGED}), RECTIFYING),
    Task.RectificationReported: Move(frozenset({RECTIFYING}), REPORTED),
    Task.ReinspectionPassed: Move(frozenset({REPORTED}), VERIFIED),
    Task.ReinspectionFailed: Move(frozenset({REPORTED}), RECTIFYING),
    Task.DeadlineExtended: Move(UNFINISHED),
    Task.Escalated: Move(OPEN),
    Task.EvidenceAttached: Move(OPEN),
    Task.Closed: Move(OPEN, CLOSED),
    Task.Reopened: Move(frozenset({CLOSED}), RECTIFYING),
    Task.Reassigned: Move(UNFINISHED, ASSIGNED),
}
