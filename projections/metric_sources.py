"""Where the metrics' rows come from: the maintained tables, a fold done in memory, or the
maintained tables with some aggregates' rows replaced by a fold as of an earlier position."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.rows import Rows

if TYPE_CHECKING:
    from projections.metrics import Metrics


class Source(Protocol):
    """The metrics' rows, from the maintained tables or from a fold in memory."""

    def units(self) -> list[dict[str, Any]]: ...

    def settings(self) -> list[dict[str, Any]]: ...

    def tasks(self, units: Collection[str] | None, lo: str, hi: str
              ) -> list[dict[str, Any]]: ...

    def visits(self, units: Collection[str] | None, lo: str, hi: str
               ) -> list[dict[str, Any]]: ...

    def surveys(self, units: Collection[str] | None, lo: str, hi: str
                ) -> list[dict[str, Any]]: ...


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _dicts(result: Any) -> list[dict[str, Any]]:
    """A result's rows as dicts (by zip: ``dict(row mapping)`` costs several times more,
    and a city's ranking reads hundreds of units)."""
    names = list(result.keys())
    return [dict(zip(names, row)) for row in result]


class TableSource:
    """Rows from the maintained tables, by indexed month ranges."""

    def __init__(self, engine: Engine, projection: Metrics) -> None:
        self.engine = engine
        self.t = projection.tables

    def units(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _dicts(conn.execute(sa.select(self.t["metric_units"]).order_by("code")))

    def settings(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _dicts(conn.execute(sa.select(self.t["metric_settings"])
                                       .order_by("version")))

    def tasks(self, units: Collection[str] | None, lo: str, hi: str
              ) -> list[dict[str, Any]]:
        tasks, held = self.t["metric_tasks"], self.t["metric_held"]
        overlap = sa.and_(tasks.c.month_hi >= lo, tasks.c.month_lo <= hi)
        query = sa.select(tasks.c.task, tasks.c["items"])
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            if units is None:
                return _dicts(conn.execute(query.where(overlap)))
            for chunk in _chunks(sorted(units)):
                for statement in (
                        query.where(overlap, tasks.c.unit.in_(chunk)),
                        query.where(overlap, tasks.c.task.in_(
                            sa.select(held.c.task).where(held.c.unit.in_(chunk))))):
                    for r in _dicts(conn.execute(statement)):
                        found[r["task"]] = r
        return list(found.values())

    def visits(self, units: Collection[str] | None, lo: str, hi: str
               ) -> list[dict[str, Any]]:
        visits = self.t["metric_visits"]
        query = sa.select(visits).where(visits.c.month >= lo, visits.c.month <= hi)
        with self.engine.connect() as conn:
            if units is None:
                return _dicts(conn.execute(query))
            return [r for chunk in _chunks(sorted(units))
                    for r in _dicts(conn.execute(query.where(visits.c.unit.in_(chunk))))]

    def surveys(self, units: Collection[str] | None, lo: str, hi: str
                ) -> list[dict[str, Any]]:
        surveys = self.t["metric_surveys"]
        query = sa.select(surveys).where(surveys.c.month >= lo, surveys.c.month <= hi)
        with self.engine.connect() as conn:
            found = _dicts(conn.execute(query))
        return [r for r in found if units is None or r["unit"] in units]


class MemorySource:
    """Rows of a fold done in memory (a ledger as of a position)."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows

    def units(self) -> list[dict[str, Any]]:
        return sorted(self.rows.table("metric_units").values(), key=lambda r: r["code"])

    def settings(self) -> list[dict[str, Any]]:
        return sorted(self.rows.table("metric_settings").values(), key=lambda r: r["version"])

    def tasks(self, units: Collection[str] | None, lo: str, hi: str
              ) -> list[dict[str, Any]]:
        held: dict[str, set[str]] = defaultdict(set)
        for row in self.rows.table("metric_held").values():
            held[row["task"]].add(row["unit"])
        wanted = None if units is None else set(units)
        return [row for row in self.rows.table("metric_tasks").values()
                if row["month_hi"] >= lo and row["month_lo"] <= hi
                and (wanted is None or row["unit"] in wanted or held[row["task"]] & wanted)]

    def visits(self, units: Collection[str] | None, lo: str, hi: str
               ) -> list[dict[str, Any]]:
        return [row for row in self.rows.table("metric_visits").values()
                if lo <= row["month"] <= hi and (units is None or row["unit"] in units)]

    def surveys(self, units: Collection[str] | None, lo: str, hi: str
                ) -> list[dict[str, Any]]:
        return [row for row in self.rows.table("metric_surveys").values()
                if lo <= row["month"] <= hi and (units is None or row["unit"] in units)]


class OverlaySource:
    """The maintained rows as they stood at an earlier position: the rows of the aggregates
    (tasks, visits, units, the campaign) that changed since are replaced by a fold, in
    memory, of their events up to that position; every other row is as it was then."""

    def __init__(self, table: TableSource, changed: set[str], earlier: Rows) -> None:
        self.table = table
        self.changed = changed
        self.memory = MemorySource(earlier)

    def units(self) -> list[dict[str, Any]]:
        kept = [r for r in self.table.units() if f"unit:{r['code']}" not in self.changed]
        return sorted(kept + self.memory.units(), key=lambda r: r["code"])

    def settings(self) -> list[dict[str, Any]]:
        return self.memory.settings() if "campaign" in self.changed else self.table.settings()

    def tasks(self, units: Collection[str] | None, lo: str, hi: str
              ) -> list[dict[str, Any]]:
        return [r for r in self.table.tasks(units, lo, hi) if r["task"] not in self.changed] \
            + self.memory.tasks(units, lo, hi)

    def visits(self, units: Collection[str] | None, lo: str, hi: str
               ) -> list[dict[str, Any]]:
        return [r for r in self.table.visits(units, lo, hi)
                if r["inspection"] not in self.changed] + self.memory.visits(units, lo, hi)

    def surveys(self, units: Collection[str] | None, lo: str, hi: str
                ) -> list[dict[str, Any]]:
        return [r for r in self.table.surveys(units, lo, hi)
                if r["survey"] not in self.changed] + self.memory.surveys(units, lo, hi)
