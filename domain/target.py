"""A quantitative task (指标任务): an indicator decomposed into a target for one unit.

Unlike a problem task (:mod:`domain.task`) it is not rectified but accomplished: the office
assigns "unit U puts up N 公益广告 boards by DATE", the unit reports the level it has reached
with evidence, an inspector verifies or rejects each report, and the task is completed when
its verified progress reaches the target.

A report states the level reached so far (cumulative: "已完成 12 块", "注册率 13%"), not an
increment, so a report may be checked on its own and a rejected one leaves nothing to undo.
The verified progress is the value of the latest verified report. One report at a time
awaits verification.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.base import (
    Actor,
    LedgerAggregate,
    LedgerCreated,
    LedgerEvent,
    Refused,
    check_moment,
    local_date,
    require_text,
)
from domain.roles import authorize
from domain.task import check_evidence

# Units of measure: issues (of a bulletin board, a column …), boards or signs, people, rate.
MEASURES = ("期", "块", "人", "%")
PERCENT = "%"

OPEN = "open"
COMPLETED = "completed"


def parse_amount(field: str, value: Any, measure: str) -> float:
    """A target or progress value: a number of 0 or more, whole for counts, at most 100
    for a rate."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Refused(f"{field} must be a number, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise Refused(f"{field} must be 0 or more, got {value!r}")
    if measure == PERCENT and amount > 100:
        raise Refused(f"{field} is a rate and must be at most 100, got {value!r}")
    if measure != PERCENT and amount != amount.to_integral_value():
        raise Refused(f"{field} counts {measure} and must be a whole number, got {value!r}")
    return float(amount)


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise Refused(f"unit of measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    return measure


class TargetEvent(LedgerEvent):
    def apply(self, target: TargetTask) -> None:
        target.last_occurred_at = self.occurred_at
        self.change(target)

    def change(self, target: TargetTask) -> None:
        """How this event changes the target task."""


class TargetTask(LedgerAggregate):
    """An indicator target assigned to one unit, and its verified progress."""

    class Assigned(LedgerCreated):
        target_id: str
        indicator: str
        indicator_version: int
        unit: str
        target: float
        measure: str
        due: date
        note: str

        def apply(self, target: TargetTask) -> None:
            target.target_id = self.target_id
            target.indicator = self.indicator
            target.indicator_version = self.indicator_version
            target.unit = self.unit
            target.target = self.target
            target.measure = self.measure
            target.due = self.due
            target.state = OPEN
            target.reports = 0
            target.pending = None
            target.verified = 0.0
            target.completed_on = None
            target.assigned_at = self.occurred_at
            target.last_occurred_at = self.occurred_at

    class ProgressReported(TargetEvent):
        report: int
        value: float
        note: str
        evidence: list[dict[str, str]]

        def change(self, target: TargetTask) -> None:
            target.reports = self.report
            target.pending = (self.report, self.value)

    class ProgressVerified(TargetEvent):
        report: int
        value: float
        note: str

        def change(self, target: TargetTask) -> None:
            target.pending = None
            target.verified = self.value

    class ProgressRejected(TargetEvent):
        report: int
        value: float
        reason: str

        def change(self, target: TargetTask) -> None:
            target.pending = None

    class Completed(TargetEvent):
        verified: float

        def change(self, target: TargetTask) -> None:
            target.state = COMPLETED
            target.completed_on = self.occurred_at

    @classmethod
    def assign(cls, *, target_id: str, indicator: str, indicator_version: int, unit: str,
               target: Any, measure: str, due: date, note: str, actor: Actor,
               occurred_at: datetime, now: datetime, zone: tzinfo) -> TargetTask:
        """Decompose an indicator into a target for a unit (the caller has checked that the
        indicator and the unit exist)."""
        authorize(actor, "assign_target")
        check_moment(occurred_at, now)
        measure = check_measure(measure)
        amount = parse_amount("target", target, measure)
        if amount == 0:
            raise Refused(f"target must be more than 0, got {target!r}")
        if due < local_date(occurred_at, zone):
            raise Refused(f"due date {due.isoformat()} is before the assignment on "
                          f"{local_date(occurred_at, zone).isoformat()}")
        return cls._create(
            cls.Assigned, id=target_id, target_id=target_id, indicator=indicator,
            indicator_version=indicator_version, unit=unit, target=amount, measure=measure,
            due=due, note=note.strip(), occurred_at=occurred_at, **actor.stamp())

    def report_progress(self, *, value: Any, evidence: list[dict[str, str]], note: str,
                        actor: Actor, occurred_at: datetime, now: datetime) -> None:
        """The unit reports the level it has reached, with evidence."""
        authorize(actor, "report_progress", self.unit)
        self._check_when(occurred_at, now)
        if self.state == COMPLETED:
            raise Refused(f"target task {self.id} is already completed")
        if self.pending is not None:
            raise Refused(f"report {self.pending[0]} of target task {self.id} still awaits "
                          "verification")
        amount = parse_amount("progress value", value, self.measure)
        self._stamp(self.ProgressReported, actor, occurred_at, report=self.reports + 1,
                    value=amount, note=note.strip(), evidence=check_evidence(evidence))

    def verify_progress(self, *, note: str, actor: Actor, occurred_at: datetime,
                        now: datetime) -> None:
        """An inspector confirms the pending report; reaching the target completes the
        task."""
        authorize(actor, "verify_progress")
        self._check_when(occurred_at, now)
        report, value = self._pending("verified")
        self._stamp(self.ProgressVerified, actor, occurred_at, report=report, value=value,
                    note=note.strip())
        if value >= self.target:
            self._stamp(self.Completed, actor, occurred_at, verified=value)

    def reject_progress(self, *, reason: str, actor: Actor, occurred_at: datetime,
                        now: datetime) -> None:
        """An inspector rejects the pending report, saying why."""
        authorize(actor, "verify_progress")
        self._check_when(occurred_at, now)
        report, value = self._pending("rejected")
        self._stamp(self.ProgressRejected, actor, occurred_at, report=report, value=value,
                    reason=require_text("reason", reason))

    def is_overdue(self, on: date) -> bool:
        """Overdue from the day after the due date until completed; derived, never stored."""
        return self.state != COMPLETED and on > self.due

    def _pending(self, verb: str) -> tuple[int, float]:
        if self.pending is None:
            raise Refused(f"target task {self.id} has no progress report to be {verb}")
        return self.pending

    def _check_when(self, occurred_at: datetime, now: datetime) -> None:
        check_moment(occurred_at, now)
        if occurred_at < self.last_occurred_at:
            raise Refused(
                f"occurred_at {occurred_at.isoformat()} is before the target task's latest "
                f"event ({self.last_occurred_at.isoformat()})")
