"""Pending extension requests (申请延期): one row per task whose unit has asked for a later
deadline and awaits a decision.

A row appears with the request and goes with its approval or refusal, or when the cycle it
belongs to ends (a passed re-inspection, a closure, a reopening), as the task's own
``pending_request`` says (``domain/extension.py``). A correction of when the request was
made moves its ``requested_at`` (``domain/corrections.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.accounts import Account
from domain.audit import AuditLog
from domain.evaluation import Evaluation
from domain.indicators import IndicatorSystem
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import Task
from projections.corrections import corrected
from projections.facts import Context, Fact, Key
from projections.projection import Projection
from projections.rows import Rows


class ExtensionRequests(Projection):
    """The extension requests awaiting a decision."""

    name = "extensions"

    def define(self) -> None:
        import sqlalchemy as sa

        self.table("requests",
                   sa.Column("task", sa.String(16), primary_key=True),
                   sa.Column("request", sa.Integer, nullable=False),
                   sa.Column("requested_deadline", sa.String(10), nullable=False),
                   sa.Column("deadline_rule", sa.Text),
                   sa.Column("current_deadline", sa.String(10), nullable=False),
                   sa.Column("reason", sa.Text, nullable=False),
                   sa.Column("requested_by", sa.String(40), nullable=False),
                   sa.Column("requested_at", sa.String(32), nullable=False))

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        return [("requests", (fact.originator_id,))]

    def _requested(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        rows.put("requests", (fact.originator_id,), {
            "task": fact.originator_id, "request": fact.version,
            "requested_deadline": d["deadline"], "deadline_rule": d.get("deadline_rule"),
            "current_deadline": d["current_deadline"], "reason": d["reason"],
            "requested_by": d["actor"], "requested_at": ctx.utc(fact.occurred_at)})

    def _ended(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """After these no request of the task is pending any more."""
        key = (fact.originator_id,)
        if rows.get("requests", key) is not None:
            rows.delete("requests", key)

    def _corrected(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        key = (fact.originator_id,)
        row = rows.get("requests", key)
        moment = corrected(fact)[1].get("occurred_at")
        if row is not None and moment and fact.data["corrects"] == row["request"]:
            rows.put("requests", key, {**row, "requested_at": ctx.utc(moment)})

    handlers = {Task.ExtensionRequested: _requested, Task.Corrected: _corrected,
                Task.ExtensionApproved: _ended, Task.ExtensionRefused: _ended,
                Task.ReinspectionPassed: _ended, Task.Closed: _ended, Task.Reopened: _ended}
    # A request outlives an acknowledgement, a notice, a report, a failed re-inspection
    # (the cycle goes on), an extension the office grants unasked, an escalation, evidence
    # and a reassignment.
    ignored = frozenset({Task.Assigned, Task.Acknowledged, Task.NoticeIssued,
                         Task.RectificationReported, Task.ReinspectionFailed,
                         Task.DeadlineExtended, Task.Escalated, Task.EvidenceAttached,
                         Task.Reassigned})
    ignored_aggregates = (Account, AuditLog, Campaign, Evaluation, IndicatorSystem,
                          Inspection, Person, Survey, TargetTask, Unit)
