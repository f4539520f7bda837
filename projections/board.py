"""The 台账 board: one row per task, as it stands now."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa

from domain.task import CLOSED, VERIFIED
from projections.engine import Context, Fact, Key, Projection, Rows

TASK_FIELDS_CORRECTABLE = ("category", "location", "description", "source")


class Board(Projection):
    """Every task's current state: unit, category, state, deadline, rework, last action."""

    name = "board"

    def define(self) -> None:
        self.table(
            "tasks",
            sa.Column("task", sa.String(16), primary_key=True),
            sa.Column("unit", sa.String(40), nullable=False, index=True),
            sa.Column("category", sa.Text, nullable=False),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("location", sa.Text, nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("closure", sa.String(16)),
            sa.Column("acknowledged", sa.Boolean, nullable=False),
            sa.Column("notice_no", sa.Text),
            sa.Column("deadline", sa.String(10), nullable=False),
            sa.Column("deadline_set_by", sa.Integer, nullable=False),
            sa.Column("cycle", sa.Integer, nullable=False),
            sa.Column("rework_count", sa.Integer, nullable=False),
            sa.Column("escalations", sa.Integer, nullable=False),
            sa.Column("inspection", sa.String(16)),
            sa.Column("assigned_at", sa.String(32), nullable=False),
            sa.Column("assigned_on", sa.String(10), nullable=False, index=True),
            sa.Column("last_action", sa.String(32), nullable=False),
            sa.Column("last_action_at", sa.String(32), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        # Where a task's problem is on the map, for the tasks whose record says (an
        # imported 311 request's latitude and longitude). A table of its own: a ledger
        # kept before coordinates were recorded has no rows for it and needs no rebuild.
        self.table(
            "places",
            sa.Column("task", sa.String(16), primary_key=True),
            sa.Column("latitude", sa.Float, nullable=False),
            sa.Column("longitude", sa.Float, nullable=False),
        )

    def wants(self, fact: Fact) -> bool:
        return fact.kind.startswith("Task.")

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        if fact.version == 1:
            return []  # the assignment creates the row
        return [("tasks", (fact.originator_id,))]

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        key = (fact.originator_id,)
        event = fact.kind.split(".", 1)[1]
        if event == "Assigned":
            rows.put("tasks", key, {
                "task": fact.originator_id, "unit": d["unit"], "category": d["category"],
                "source": d["source"], "location": d["location"],
                "description": d["description"], "state": "assigned", "closure": None,
                "acknowledged": False, "notice_no": None, "deadline": d["deadline"],
                "deadline_set_by": 1, "cycle": 1, "rework_count": 0, "escalations": 0,
                "inspection": d["inspection"], "assigned_at": ctx.utc(fact.occurred_at),
                "assigned_on": ctx.local_date(fact.occurred_at), "last_action": event,
                "last_action_at": ctx.utc(fact.occurred_at), "version": 1,
            })
            if d.get("latitude") is not None:
                rows.put("places", key, {"task": fact.originator_id,
                                         "latitude": d["latitude"],
                                         "longitude": d["longitude"]})
            return
        row = dict(rows.get("tasks", key) or {})
        row.update(last_action=event, last_action_at=ctx.utc(fact.occurred_at),
                   version=fact.version)
        if event == "Acknowledged":
            row["acknowledged"] = True
            if row["state"] == "assigned":
                row["state"] = "acknowledged"
        elif event == "NoticeIssued":
            row.update(notice_no=d["notice_no"], state="rectifying")
            if d["deadline"] is not None:
                row.update(deadline=d["deadline"], deadline_set_by=fact.version)
        elif event == "RectificationReported":
            row["state"] = "reported"
        elif event == "ReinspectionPassed":
            row["state"] = "verified"
        elif event == "ReinspectionFailed":
            row.update(state="rectifying", rework_count=row["rework_count"] + 1)
        elif event == "DeadlineExtended":
            row.update(deadline=d["deadline"], deadline_set_by=fact.version)
        elif event == "Escalated":
            row["escalations"] += 1
        elif event == "Closed":
            row.update(state="closed", closure=d["closure"])
        elif event == "Reopened":
            row.update(state="rectifying", closure=None, cycle=row["cycle"] + 1,
                       deadline=d["deadline"], deadline_set_by=fact.version)
        elif event == "Reassigned":
            row.update(unit=d["unit"], state="assigned", acknowledged=False)
        elif event == "Corrected":
            changes = d["changes"]
            for field in TASK_FIELDS_CORRECTABLE:
                if field in changes:
                    row[field] = changes[field]
            if "deadline" in changes:
                row["deadline"] = changes["deadline"]
            if d["corrects"] == 1 and "occurred_at" in changes:
                row.update(assigned_at=ctx.utc(changes["occurred_at"]),
                           assigned_on=ctx.local_date(changes["occurred_at"]))
        rows.put("tasks", key, row)


def days_overdue(row: dict[str, Any], on: date) -> int:
    """Days past the deadline on ``on`` for a task not yet verified (0 when not overdue)."""
    if row["state"] in (VERIFIED, CLOSED):
        return 0
    return max(0, (on - date.fromisoformat(row["deadline"])).days)
