"""Pending extension requests (申请延期): one row per task whose unit has asked for a later
deadline and awaits a decision.

A row appears with the request and goes with its approval or refusal, or when the cycle it
belongs to ends (a passed re-inspection, a closure, a reopening), as the task's own
``pending_request`` says (``domain/extension.py``). A correction of when the request was
made moves its ``requested_at`` (``domain/corrections.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from projections.corrections import corrected
from projections.engine import Context, Fact, Key, Projection, Rows

REQUESTED = "Task.ExtensionRequested"
CORRECTED = "Task.Corrected"
# The facts after which no request of the task is pending any more.
ENDS = frozenset({"Task.ExtensionApproved", "Task.ExtensionRefused",
                  "Task.ReinspectionPassed", "Task.Closed", "Task.Reopened"})


class ExtensionRequests(Projection):
    """The extension requests awaiting a decision."""

    name = "extensions"
    kinds = frozenset({REQUESTED, CORRECTED, *ENDS})

    def define(self) -> None:
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

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        key = (fact.originator_id,)
        if fact.kind == CORRECTED:
            row = rows.get("requests", key)
            moment = corrected(fact)[1].get("occurred_at")
            if row is not None and moment and fact.data["corrects"] == row["request"]:
                rows.put("requests", key, {**row, "requested_at": ctx.utc(moment)})
            return
        if fact.kind != REQUESTED:
            if rows.get("requests", key) is not None:
                rows.delete("requests", key)
            return
        d = fact.data
        rows.put("requests", key, {
            "task": fact.originator_id, "request": fact.version,
            "requested_deadline": d["deadline"], "deadline_rule": d.get("deadline_rule"),
            "current_deadline": d["current_deadline"], "reason": d["reason"],
            "requested_by": d["actor"], "requested_at": ctx.utc(fact.occurred_at)})
