"""The guarded commands of a task's lifecycle (see :mod:`domain.task`): each checks the
actor's role, the task's state (by :data:`domain.task.LIFECYCLE`) and the data, then
triggers the task's event; a refused command raises :class:`Refused` and changes nothing.

The events, and how each changes the task, are :class:`domain.task.Task`'s own (their
topics, ``domain.task:Task.…``, are stored in every ledger); this mixin holds the methods
that trigger them, as :class:`domain.extension.ExtensionRequests` does for extension
requests.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from domain.base import (
    Actor,
    Label,
    N_,
    Refused,
    check_day,
    optional_text,
    require_text,
)
from domain.roles import authorize
from domain.task_fields import CLOSURES, check_evidence, check_rule, parse_closure
from domain.task_states import ACKNOWLEDGED, ASSIGNED, RECTIFYING, REPORTED, VERIFIED


class TaskCommands:
    """The lifecycle's methods of :class:`domain.task.Task`, from acknowledgement to
    reassignment, and the steps an imported record proves."""

    # The task's, from domain/task.py.
    id: str
    state: str
    unit: str
    deadline: date
    acknowledged: bool
    notice_no: str | None
    closure: str | None
    Acknowledged: Any
    NoticeIssued: Any
    RectificationReported: Any
    ReinspectionPassed: Any
    ReinspectionFailed: Any
    DeadlineExtended: Any
    Escalated: Any
    EvidenceAttached: Any
    Closed: Any
    Reopened: Any
    Reassigned: Any
    _may: Any
    _state: Any
    _check_open: Any
    _check_when: Any
    _check_deadline: Any
    _stamp: Any

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
