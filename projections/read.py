"""The read side of one store: its projections, kept current before every answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from domain.base import NotFound
from domain.task import CLOSED, VERIFIED
from ledger.store import Store
from projections.board import Board
from projections.engine import Projection, Projector
from projections.registry import Registry


def all_projections(prefix: str = "rm_") -> list[Projection]:
    """Every projection the ledger keeps, in the order they are folded."""
    return [Registry(prefix), Board(prefix)]


class ReadSide:
    """Queries over the read models; each brings the projections up to date first."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = Registry()
        self.board_projection = Board()

    @cached_property
    def projector(self) -> Projector:
        ledger = self.store.ledger
        return Projector(self.store.engine, lambda after, upto: ledger.records(after, upto),
                         self._zone, [self.registry, self.board_projection])

    def _zone(self):  # type: ignore[no-untyped-def]
        return self.store.ledger.campaign().zone

    def current(self, progress: Callable[[int], None] | None = None) -> None:
        """Fold whatever the log holds beyond the projections' positions."""
        self.projector.catch_up(progress=progress)

    def today(self) -> date:
        ledger = self.store.ledger
        return ledger.today(ledger.campaign())

    # --- registries -------------------------------------------------------------------

    def units(self, kind: str | None = None) -> list[dict[str, Any]]:
        self.current()
        units = self.registry.tables["units"]
        query = sa.select(units).order_by(units.c.code)
        if kind:
            query = query.where(units.c.kind == kind)
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def people(self) -> list[dict[str, Any]]:
        self.current()
        people = self.registry.tables["people"]
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                sa.select(people).order_by(people.c.id)).mappings()]

    def unit_and_descendants(self, code: str) -> list[str]:
        """A unit's code and those of every unit below it (a 街道 and its 社区 …)."""
        children: dict[str | None, list[str]] = {}
        known = set()
        for unit in self.units():
            children.setdefault(unit["parent"], []).append(unit["code"])
            known.add(unit["code"])
        if code not in known:
            raise NotFound(f"unknown unit: {code}")
        found, frontier = [], [code]
        while frontier:
            current = frontier.pop()
            found.append(current)
            frontier.extend(children.get(current, []))
        return found

    # --- the board --------------------------------------------------------------------

    SORTS = ("task", "deadline", "unit", "overdue", "state", "assigned")

    def board(self, *, unit: str | None = None, state: str | None = None,
              category: str | None = None, source: str | None = None,
              overdue: bool = False, open_only: bool = False, month: str | None = None,
              sort: str = "task") -> list[dict[str, Any]]:
        """The 台账: one row per task, filtered and sorted, with days overdue as of today."""
        self.current()
        tasks = self.board_projection.tables["tasks"]
        today = self.today()
        query = sa.select(tasks)
        if unit:
            query = query.where(tasks.c.unit.in_(self.unit_and_descendants(unit)))
        if state:
            query = query.where(tasks.c.state == state)
        if category:
            query = query.where(tasks.c.category == category)
        if source:
            query = query.where(tasks.c.source == source)
        if open_only:
            query = query.where(tasks.c.state != CLOSED)
        if month:
            query = query.where(tasks.c.assigned_on.like(f"{month}-%"))
        if overdue:
            query = query.where(tasks.c.deadline < today.isoformat(),
                                tasks.c.state.not_in([VERIFIED, CLOSED]))
        order = {"task": [tasks.c.task], "deadline": [tasks.c.deadline, tasks.c.task],
                 "unit": [tasks.c.unit, tasks.c.task], "state": [tasks.c.state, tasks.c.task],
                 "assigned": [tasks.c.assigned_at, tasks.c.task],
                 "overdue": [tasks.c.deadline, tasks.c.task]}[sort]
        with self.store.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query.order_by(*order)).mappings()]
        for row in rows:
            row["days_overdue"] = days_overdue(row, today)
        if sort == "overdue":
            rows.sort(key=lambda r: -r["days_overdue"])
        return rows


def days_overdue(row: dict[str, Any], today: date) -> int:
    """Days past the deadline for a task not yet verified (0 when not overdue)."""
    if row["state"] in (VERIFIED, CLOSED):
        return 0
    return max(0, (today - date.fromisoformat(row["deadline"])).days)
