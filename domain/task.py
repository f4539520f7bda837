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
"""

from __future__ import annotations

from dataclasses import dataclass
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
# The fields' words and checks live in domain.task_fields; the commands and the ledger read
# them from here too.
from domain.task_fields import (
    CLOSURES,
    SOURCES,
    check_evidence,
    check_origin,
    check_rule,
    parse_closure,
    parse_source,
)

__all__ = ["ACKNOWLEDGED", "ASSIGNED", "CLOSED", "CLOSURES", "LIFECYCLE", "Move", "OPEN",
           "RECTIFYING", "REPORTED", "SOURCES", "STATES", "STATE_LABELS", "UNFINISHED",
           "VERIFIED", "Task", "TaskEvent",
           "check_evidence", "check_origin", "check_rule", "parse_closure", "parse_source"]

ASSIGNED = "assigned"
ACKNOWLEDGED = "acknowledged"
RECTIFYING = "rectifying"
REPORTED = "reported"
VERIFIED = "verified"
CLOSED = "closed"
STATES = (ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED, VERIFIED, CLOSED)
STATE_LABELS = {
    ASSIGNED: "已交办", ACKNOWLEDGED: "已签收", RECTIFYING: "整改中", REPORTED: "待复查",
    VERIFIED: "已验收", CLOSED: "已销号",
}
# Where the lifecycle's commands are taken: every state but closed, and those not yet
# verified or closed.
OPEN = frozenset(STATES) - {CLOSED}
UNFINISHED = OPEN - {VERIFIED}


@dataclass(frozen=True)
class Move:
    """One row of the lifecycle: the states an event's command is taken in, and the state
    the event leads to (None: the state stays) — from any state, or, where ``only_from``
    says, from those only (elsewhere the state stays)."""

    taken_in: frozenset[str]
    to: str | None = None
    only_from: frozenset[str] | None = None

    def after(self, state: str) -> str:
        """The state after the event, applied in ``state``."""
        if self.to is None or (self.only_from is not None and state not in self.only_from):
            return state
        return self.to


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


class Task(ExtensionRequests, Correctable, LedgerAggregate):
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

    # --- the lifecycle --------------------------------------------------------------

    def acknowledge(self, *, actor: Actor, occurred_at: datetime, now: datetime,
                    note: str = "") -> None:
        """The responsible unit signs for the task (签收)."""
        authorize(actor, "acknowledge", self.unit)
        self._check_when(occurred_at, now)
        if self.acknowledged:
            raise Refused("任务 {task} 已签收，不能再次签收（状态为{state}）",
                          task=self.id, state=self._state())
        if not self._may(self.Acknowledged):
            raise Refused("任务 {task} 状态为{state}，不能签收", task=self.id,
                          state=self._state())
        self._stamp(self.Acknowledged, actor, occurred_at, note=optional_text("note", note))

    def issue_notice(self, *, notice_no: str, requirements: str, actor: Actor,
                     occurred_at: datetime, now: datetime, zone: tzinfo,
                     deadline: date | None = None, deadline_rule: str | None = None) -> None:
        """Issue a numbered rectification notice (整改通知书), optionally with a deadline."""
        authorize(actor, "issue_notice")
        self._check_when(occurred_at, now)
        if not self._may(self.NoticeIssued) and self.notice_no:
            raise Refused("任务 {task} 状态为{state}（已有整改通知书 {notice}），不能再下发整改通知书",
                          task=self.id, state=self._state(), notice=self.notice_no)
        if not self._may(self.NoticeIssued):
            raise Refused("任务 {task} 状态为{state}，不能下发整改通知书", task=self.id,
                          state=self._state())
        if deadline is not None:
            self._check_deadline(deadline, occurred_at, zone)
        self._stamp(self.NoticeIssued, actor, occurred_at,
                    notice_no=require_text("notice number", notice_no),
                    requirements=optional_text("requirements", requirements),
                    deadline=deadline, deadline_rule=check_rule(deadline, deadline_rule))

    def report_rectification(self, *, description: str, evidence: list[dict[str, str]],
                             actor: Actor, occurred_at: datetime, now: datetime) -> None:
        """The unit reports that it has rectified the problem, with its evidence."""
        authorize(actor, "report_rectification", self.unit)
        self._check_when(occurred_at, now)
        if not self._may(self.RectificationReported) and self.state in (ASSIGNED,
                                                                        ACKNOWLEDGED):
            raise Refused("任务 {task} 状态为{state}，尚未下发整改通知书，不能上报整改",
                          task=self.id, state=self._state())
        if not self._may(self.RectificationReported):
            raise Refused("任务 {task} 状态为{state}，不能上报整改", task=self.id,
                          state=self._state())
        self._stamp(self.RectificationReported, actor, occurred_at,
                    description=require_text("rectification description", description),
                    evidence=check_evidence(evidence))

    def reinspect(self, *, passed: bool, note: str, evidence: list[dict[str, str]],
                  actor: Actor, occurred_at: datetime, now: datetime) -> None:
        """Re-inspect (复查) a reported rectification: it passes (整改到位) or fails (返工)."""
        authorize(actor, "reinspect")
        self._check_when(occurred_at, now)
        if not self._may(self.ReinspectionPassed if passed else self.ReinspectionFailed):
            raise Refused("任务 {task} 状态为{state}，只有已上报整改的任务才能复查",
                          task=self.id, state=self._state())
        if passed:
            self._stamp(self.ReinspectionPassed, actor, occurred_at,
                        note=optional_text("note", note), evidence=check_evidence(evidence))
        else:
            self._stamp(self.ReinspectionFailed, actor, occurred_at,
                        reason=require_text("reason for failing", note),
                        evidence=check_evidence(evidence))

    def extend_deadline(self, *, deadline: date, reason: str, actor: Actor,
                        occurred_at: datetime, now: datetime,
                        deadline_rule: str | None = None) -> None:
        """Move the current cycle's deadline later; the approver is the actor."""
        authorize(actor, "extend_deadline")
        self._check_when(occurred_at, now)
        if not self._may(self.DeadlineExtended):
            raise Refused("任务 {task} 状态为{state}，不能延期", task=self.id, state=self._state())
        check_day("deadline", deadline)
        if deadline <= self.deadline:
            raise Refused("新的整改期限 {new} 不晚于现行期限 {current}",
                          new=deadline.isoformat(), current=self.deadline.isoformat())
        self._stamp(self.DeadlineExtended, actor, occurred_at, deadline=deadline,
                    previous_deadline=self.deadline, reason=require_text("reason", reason),
                    deadline_rule=check_rule(deadline, deadline_rule))

    def escalate(self, *, reason: str, actor: Actor, occurred_at: datetime,
                 now: datetime) -> None:
        """Put the task under supervision (督办), e.g. overdue or named in a bulletin."""
        authorize(actor, "escalate")
        self._check_when(occurred_at, now)
        self._check_open(N_("任务 {task} 已销号（{closure}），不能再督办"), self.Escalated)
        self._stamp(self.Escalated, actor, occurred_at, reason=require_text("reason", reason))

    def attach_evidence(self, *, evidence: list[dict[str, str]], actor: Actor,
                        occurred_at: datetime, now: datetime) -> None:
        """Attach evidence (photos, documents) to an open task."""
        authorize(actor, "attach_evidence", self.unit)
        self._check_when(occurred_at, now)
        self._check_open(N_("任务 {task} 已销号（{closure}），不能再补充证据"),
                         self.EvidenceAttached)
        if not evidence:
            raise Refused("证据须至少列出一个文件")
        self._stamp(self.EvidenceAttached, actor, occurred_at,
                    evidence=check_evidence(evidence))

    def close(self, *, closure: str, reason: str, actor: Actor, occurred_at: datetime,
              now: datetime) -> None:
        """Close the task (销号): as verified after a passed re-inspection, or as void,
        duplicate or not the unit's responsibility from any open state."""
        closure = parse_closure(closure)
        if closure == "verified":
            authorize(actor, "close_verified")
        else:
            authorize(actor, "close_other")
        self._check_when(occurred_at, now)
        self._check_open(N_("任务 {task} 已销号（{closure}），不能再次销号"), self.Closed)
        if closure == "verified" and self.state != VERIFIED:
            raise Refused("任务 {task} 状态为{state}，没有通过的复查，不能按整改到位销号",
                          task=self.id, state=self._state())
        self._stamp(self.Closed, actor, occurred_at, closure=closure,
                    reason=require_text("reason", reason))

    def reopen(self, *, reason: str, deadline: date, actor: Actor, occurred_at: datetime,
               now: datetime, zone: tzinfo, deadline_rule: str | None = None) -> None:
        """The problem is back (反弹): a new rectification cycle with its own deadline."""
        authorize(actor, "reopen")
        self._check_when(occurred_at, now)
        if not self._may(self.Reopened):
            raise Refused("任务 {task} 状态为{state}，尚未销号，不能重新打开", task=self.id,
                          state=self._state())
        if self.closure != "verified":
            raise Refused("任务 {task} 以{closure}销号，并非整改到位，不能重新打开；请另行交办新任务",
                          task=self.id, closure=Label(CLOSURES[self.closure]))
        self._check_deadline(deadline, occurred_at, zone)
        self._stamp(self.Reopened, actor, occurred_at, reason=require_text("reason", reason),
                    deadline=deadline, deadline_rule=check_rule(deadline, deadline_rule))

    def close_imported_as_verified(self, *, rectification: str, reinspection: str,
                                   reason: str, actor: Actor, occurred_at: datetime,
                                   now: datetime) -> None:
        """Close as verified a task whose closure an imported record proves (an old 台账's
        销号, another system's "Closed"). The record does not say who reported, re-inspected
        and closed; so the administrator importing it records, as themself and at the
        recorded moment, the steps a closure as verified needs — the rectification report
        and the passed re-inspection — then the closure. Only for ``import_records``;
        everyone else closes through :meth:`close`."""
        authorize(actor, "import_records")
        self._check_when(occurred_at, now)
        self._check_open(N_("任务 {task} 已销号（{closure}），不能再次销号"))
        reason = require_text("reason", reason)
        rectification = require_text("rectification description", rectification)
        reinspection = require_text("re-inspection note", reinspection)
        if self.state not in (REPORTED, VERIFIED):
            self._stamp(self.RectificationReported, actor, occurred_at,
                        description=rectification, evidence=[])
        if self.state != VERIFIED:
            self._stamp(self.ReinspectionPassed, actor, occurred_at, note=reinspection,
                        evidence=[])
        self._stamp(self.Closed, actor, occurred_at, closure="verified", reason=reason)

    def report_imported_rectification(self, *, description: str, actor: Actor,
                                      occurred_at: datetime, now: datetime) -> None:
        """Record the rectification report an updated 台账 proves (整改情况 filled in), by
        the importing administrator at the row's date: the record says the unit reported,
        not who entered it, nor whether a notice preceded it. Only for ``import_records``."""
        authorize(actor, "import_records")
        self._check_when(occurred_at, now)
        if self.state not in (ASSIGNED, ACKNOWLEDGED, RECTIFYING):
            raise Refused("任务 {task} 状态为{state}，不能上报整改", task=self.id,
                          state=self._state())
        self._stamp(self.RectificationReported, actor, occurred_at,
                    description=require_text("rectification description", description),
                    evidence=[])

    def reinspect_imported(self, *, passed: bool, note: str, actor: Actor,
                           occurred_at: datetime, now: datetime) -> None:
        """Record the re-inspection an updated 台账 proves (复查结果 合格 or 不合格), by the
        importing administrator at the row's date. Only for ``import_records``."""
        authorize(actor, "import_records")
        self._check_when(occurred_at, now)
        if self.state != REPORTED:
            raise Refused("任务 {task} 状态为{state}，只有已上报整改的任务才能复查",
                          task=self.id, state=self._state())
        if passed:
            self._stamp(self.ReinspectionPassed, actor, occurred_at,
                        note=optional_text("note", note), evidence=[])
        else:
            self._stamp(self.ReinspectionFailed, actor, occurred_at,
                        reason=require_text("reason for failing", note), evidence=[])

    def reassign(self, *, unit: str, reason: str, actor: Actor, occurred_at: datetime,
                 now: datetime) -> None:
        """Hand the task to another unit, which must acknowledge it afresh."""
        authorize(actor, "reassign")
        self._check_when(occurred_at, now)
        if not self._may(self.Reassigned):
            raise Refused("任务 {task} 状态为{state}，不能改派", task=self.id, state=self._state())
        if unit == self.unit:
            raise Refused("任务 {task} 已交办给单位 {unit}，无需改派", task=self.id, unit=unit)
        self._stamp(self.Reassigned, actor, occurred_at, unit=unit, previous_unit=self.unit,
                    reason=require_text("reason", reason))

    # --- derived facts -----------------------------------------------------------------

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
