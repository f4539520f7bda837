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
    N_,
    Actor,
    LedgerAggregate,
    LedgerCreated,
    LedgerEvent,
    Refused,
    check_moment,
    field_label,
    local_date,
    optional_text,
    require_text,
)
from domain.corrections import Correctable, parse_date
from domain.roles import authorize
from domain.task_fields import check_evidence

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
        raise Refused("{field}须为数字，收到 {value!r}", field=field_label(field),
                      value=value) from None
    if not amount.is_finite() or amount < 0:
        raise Refused("{field}须为 0 或以上，收到 {value!r}", field=field_label(field), value=value)
    if measure == PERCENT and amount > 100:
        raise Refused("{field}是比率，最多为 100，收到 {value!r}", field=field_label(field),
                      value=value)
    if measure != PERCENT and amount != amount.to_integral_value():
        raise Refused("{field}以“{measure}”计，须为整数，收到 {value!r}", field=field_label(field),
                      measure=measure, value=value)
    return float(amount)


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise Refused("计量单位须为以下之一：{measures}，收到 {measure!r}",
                      measures=", ".join(MEASURES), measure=measure)
    return measure


class TargetEvent(LedgerEvent):
    def apply(self, target: TargetTask) -> None:
        target.last_occurred_at = self.occurred_at
        self.change(target)

    def change(self, target: TargetTask) -> None:
        """How this event changes the target task."""


class TargetTask(Correctable, LedgerAggregate):
    """An indicator target assigned to one unit, and its verified progress. The office may
    hand it to another unit, extend its due date (with an approver and a reason), correct
    what was entered, or withdraw a target assigned in error."""

    LABEL = N_("指标分解任务")
    CORRECTABLE = {"Assigned": ("target", "due", "note"), "DueExtended": ("due",)}
    DATES = frozenset({"due"})
    WITHDRAW_ACTION = "assign_target"

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

    class Reassigned(TargetEvent):
        unit: str
        previous_unit: str
        reason: str

        def change(self, target: TargetTask) -> None:
            target.unit = self.unit

    class DueExtended(TargetEvent):
        due: date
        previous_due: date
        approver: str
        reason: str

        def change(self, target: TargetTask) -> None:
            target.due = self.due

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
            raise Refused("目标值须大于 0，收到 {value!r}", value=target)
        if due < local_date(occurred_at, zone):
            raise Refused("到期日 {due} 早于下达日期 {assigned}", due=due.isoformat(),
                          assigned=local_date(occurred_at, zone).isoformat())
        return cls._create(
            cls.Assigned, id=target_id, target_id=target_id, indicator=indicator,
            indicator_version=indicator_version, unit=unit, target=amount, measure=measure,
            due=due, note=note.strip(), occurred_at=occurred_at, **actor.stamp())

    def report_progress(self, *, value: Any, evidence: list[dict[str, str]], note: str,
                        actor: Actor, occurred_at: datetime, now: datetime) -> None:
        """The unit reports the level it has reached, with evidence."""
        authorize(actor, "report_progress", self.unit)
        self._check_when(occurred_at, now)
        self._check_not_withdrawn()
        if self.state == COMPLETED:
            raise Refused("指标分解任务 {target} 已经完成", target=self.id)
        if self.pending is not None:
            raise Refused("指标分解任务 {target} 的第 {report} 次进展上报尚待核实",
                          report=self.pending[0], target=self.id)
        amount = parse_amount("progress value", value, self.measure)
        self._stamp(self.ProgressReported, actor, occurred_at, report=self.reports + 1,
                    value=amount, note=note.strip(), evidence=check_evidence(evidence))

    def verify_progress(self, *, note: str, actor: Actor, occurred_at: datetime,
                        now: datetime) -> None:
        """An inspector confirms the pending report; reaching the target completes the
        task."""
        authorize(actor, "verify_progress")
        self._check_when(occurred_at, now)
        self._check_not_withdrawn()
        report, value = self._pending(N_("指标分解任务 {target} 没有待核实的进展上报"))
        self._stamp(self.ProgressVerified, actor, occurred_at, report=report, value=value,
                    note=note.strip())
        if value >= self.target:
            self._stamp(self.Completed, actor, occurred_at, verified=value)

    def reject_progress(self, *, reason: str, actor: Actor, occurred_at: datetime,
                        now: datetime) -> None:
        """An inspector rejects the pending report, saying why."""
        authorize(actor, "verify_progress")
        self._check_when(occurred_at, now)
        self._check_not_withdrawn()
        report, value = self._pending(N_("指标分解任务 {target} 没有待退回的进展上报"))
        self._stamp(self.ProgressRejected, actor, occurred_at, report=report, value=value,
                    reason=require_text("reason", reason))

    def reassign(self, *, unit: str, reason: str, actor: Actor, occurred_at: datetime,
                 now: datetime) -> None:
        """Hand the target to another unit (the caller has checked that it is active)."""
        authorize(actor, "assign_target")
        self._check_changeable(occurred_at, now, N_("指标分解任务 {target} 已完成，不能改派"))
        if unit == self.unit:
            raise Refused("指标分解任务 {target} 已下达给单位 {unit}，无需改派", target=self.id,
                          unit=unit)
        self._stamp(self.Reassigned, actor, occurred_at, unit=unit, previous_unit=self.unit,
                    reason=require_text("reason", reason))

    def extend_due(self, *, due: date, reason: str, approver: Actor, actor: Actor,
                   occurred_at: datetime, now: datetime) -> None:
        """Move the due date later, as ``approver`` approved (the actor, or another person
        whose role may do the same)."""
        authorize(actor, "assign_target")
        authorize(approver, "assign_target")
        self._check_changeable(occurred_at, now, N_("指标分解任务 {target} 已完成，不能延期"))
        if due <= self.due:
            raise Refused("新的到期日 {new} 不晚于现行到期日 {current}", new=due.isoformat(),
                          current=self.due.isoformat())
        self._stamp(self.DueExtended, actor, occurred_at, due=due, previous_due=self.due,
                    approver=approver.id, reason=require_text("reason", reason))

    def _check_changeable(self, occurred_at: datetime, now: datetime, refusal: str) -> None:
        """Refuse, with ``refusal`` (naming {target}), a change of a completed target."""
        self._check_when(occurred_at, now)
        self._check_not_withdrawn()
        if self.state == COMPLETED:
            raise Refused(refusal, target=self.id)

    def _concerns(self) -> str | None:
        return self.unit

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, **context: Any) -> Any:
        if field == "target":
            amount = parse_amount("target", value, self.measure)
            if amount == 0:
                raise Refused("目标值须大于 0，收到 {value!r}", value=value)
            if self.state == COMPLETED and amount > self.verified:
                raise Refused("指标分解任务 {target} 已按 {verified:g} 完成；目标值改为 {amount:g} 会推翻这一点",
                              target=self.id, verified=self.verified, amount=amount)
            if self.state != COMPLETED and amount <= self.verified:
                raise Refused("目标值 {amount:g} 已被核实的进展 {verified:g} 达到；请改为上报并核实进展",
                              amount=amount, verified=self.verified)
            return amount
        if field == "due":
            due = parse_date("due date", value)
            made = local_date(self.log[version - 1][1], zone)
            if due < made:
                raise Refused("到期日 {due} 早于第 {event} 个事件（{made}）", due=due.isoformat(),
                              event=version, made=made.isoformat())
            return due.isoformat()
        return optional_text("note", value)

    def is_overdue(self, on: date) -> bool:
        """Overdue from the day after the due date until completed; derived, never stored."""
        return self.state != COMPLETED and on > self.due

    def _pending(self, refusal: str) -> tuple[int, float]:
        """The pending progress report; else refused with ``refusal`` (naming {target})."""
        if self.pending is None:
            raise Refused(refusal, target=self.id)
        return self.pending

    def _check_when(self, occurred_at: datetime, now: datetime) -> None:
        check_moment(occurred_at, now)
        if occurred_at < self.last_occurred_at:
            raise Refused("发生时间 {moment} 早于该指标分解任务最近一次事件（{latest}）",
                          moment=occurred_at.isoformat(),
                          latest=self.last_occurred_at.isoformat())
