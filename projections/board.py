"""The 台账 board: one row per task, as it stands now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.accounts import Account
from domain.audit import AuditLog
from domain.evaluation import Evaluation
from domain.indicators import IndicatorSystem
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import LIFECYCLE, Task
from projections.facts import Context, Fact, Key
from projections.projection import Projection
from projections.rows import Rows

TASK_FIELDS_CORRECTABLE = ("category", "location", "description", "source")


# The board's handlers: each changes the task's row (its state moved already by the
# lifecycle's table) as its event says.

def _assigned(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    d = fact.data
    row.update({
        "task": fact.originator_id, "unit": d["unit"], "category": d["category"],
        "source": d["source"], "location": d["location"],
        "description": d["description"], "closure": None, "acknowledged": False,
        "notice_no": None, "deadline": d["deadline"], "deadline_set_by": 1, "cycle": 1,
        "rework_count": 0, "escalations": 0, "inspection": d["inspection"],
        "assigned_at": ctx.utc(fact.occurred_at),
        "assigned_on": ctx.local_date(fact.occurred_at)})


def _acted(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    """An event that changes nothing but the last action."""


def _acknowledged(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    row["acknowledged"] = True


def _notice(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    d = fact.data
    row["notice_no"] = d["notice_no"]
    if d["deadline"] is not None:
        row.update(deadline=d["deadline"], deadline_set_by=fact.version)


def _failed(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    row["rework_count"] += 1


def _extended(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    row.update(deadline=fact.data["deadline"], deadline_set_by=fact.version)


def _escalated(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    row["escalations"] += 1


def _closed(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    row["closure"] = fact.data["closure"]


def _reopened(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    row.update(closure=None, cycle=row["cycle"] + 1, deadline=fact.data["deadline"],
               deadline_set_by=fact.version)


def _reassigned(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    row.update(unit=fact.data["unit"], acknowledged=False)


def _corrected(row: dict[str, Any], fact: Fact, ctx: Context) -> None:
    d = fact.data
    changes = d["changes"]
    for field in TASK_FIELDS_CORRECTABLE:
        if field in changes:
            row[field] = changes[field]
    if "deadline" in changes:
        row["deadline"] = changes["deadline"]
    if d["corrects"] == 1 and "occurred_at" in changes:
        row.update(assigned_at=ctx.utc(changes["occurred_at"]),
                   assigned_on=ctx.local_date(changes["occurred_at"]))


class Board(Projection):
    """Every task's current state: unit, category, state, deadline, rework, last action."""

    name = "board"

    def define(self) -> None:
        import sqlalchemy as sa

        tasks = self.table(
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
        # A page of the board (a unit's tasks by number, state, deadline or days overdue)
        # finds its tasks in this index alone, however long the unit's history.
        sa.Index(f"ix_{tasks.name}_page", tasks.c.unit, tasks.c.state, tasks.c.deadline,
                 tasks.c.task)
        # Where a task's problem is on the map, for the tasks whose record says (an
        # imported 311 request's latitude and longitude). A table of its own: a ledger
        # kept before coordinates were recorded has no rows for it and needs no rebuild.
        self.table(
            "places",
            sa.Column("task", sa.String(16), primary_key=True),
            sa.Column("latitude", sa.Float, nullable=False),
            sa.Column("longitude", sa.Float, nullable=False),
        )

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        if fact.version == 1:
            return []  # the assignment creates the row
        return [("tasks", (fact.originator_id,))]

    def touched(self, facts: list[Fact]) -> dict[str, set[Key]]:
        return {"tasks": {(f.originator_id,) for f in facts if f.version != 1}}

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """Each event is the task's last action; the lifecycle's table
        (``domain.task.LIFECYCLE``) moves its state; its handler changes the rest."""
        event = fact.event
        action, handler = STEPS[event]  # type: ignore[index]
        key = (fact.originator_id,)
        stored = rows.get("tasks", key)
        row = {} if stored is None else stored.copy()
        row["last_action"] = action
        row["last_action_at"] = ctx.utc(fact.data["occurred_at"])
        row["version"] = fact.version
        move = LIFECYCLE.get(event)  # type: ignore[arg-type]
        if move is not None:
            row["state"] = move.after(row.get("state"))
        handler(row, fact, ctx)
        rows.put("tasks", key, row)
        if event is Task.Assigned and fact.data.get("latitude") is not None:
            d = fact.data
            rows.put("places", key, {"task": fact.originator_id, "latitude": d["latitude"],
                                     "longitude": d["longitude"]})

    handlers = {
        Task.Assigned: _assigned, Task.Acknowledged: _acknowledged, Task.NoticeIssued: _notice,
        Task.RectificationReported: _acted, Task.ReinspectionPassed: _acted,
        Task.ReinspectionFailed: _failed, Task.DeadlineExtended: _extended,
        Task.ExtensionRequested: _acted, Task.ExtensionApproved: _acted,
        Task.ExtensionRefused: _acted, Task.Escalated: _escalated,
        Task.EvidenceAttached: _acted, Task.Closed: _closed, Task.Reopened: _reopened,
        Task.Reassigned: _reassigned, Task.Corrected: _corrected,
    }
    ignored_aggregates = (Account, AuditLog, Campaign, Evaluation, IndicatorSystem,
                          Inspection, Person, Survey, TargetTask, Unit)


# Per event class: its name as the task's last action, and its handler.
STEPS = {event: (event.__name__, handler) for event, handler in Board.handlers.items()}
