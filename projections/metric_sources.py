"""Where the metrics' rows come from: the maintained tables, a fold done in memory, or the
maintained tables with some aggregates' rows replaced by a fold as of an earlier position."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.facts import loads
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

    def month_rows(self, lo: str, hi: str) -> list[dict[str, Any]]: ...

    def visit_counts(self, lo: str, hi: str) -> dict[tuple[str, str], int]: ...


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
        # The items as their stored text, parsed by ``loads`` (the values ``json.loads``
        # gives, several times faster than the JSON type's own parsing).
        query = sa.select(tasks.c.task, sa.cast(tasks.c["items"], sa.Text))
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            if units is None:
                return [{"task": task, "items": loads(items)}
                        for task, items in conn.execute(query.where(overlap))]
            for chunk in _chunks(sorted(units)):
                for statement in (
                        query.where(overlap, tasks.c.unit.in_(chunk)),
                        query.where(overlap, tasks.c.task.in_(
                            sa.select(held.c.task).where(held.c.unit.in_(chunk))))):
                    for task, items in conn.execute(statement):
                        if task not in found:
                            found[task] = {"task": task, "items": loads(items)}
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

    def month_rows(self, lo: str, hi: str) -> list[dict[str, Any]]:
        """The units' month rows (``projections.metric_aggregates``) of the months from
        ``lo`` to ``hi``, and those before with open overdue spans."""
        months = self.t["metric_months"]
        query = sa.select(months.c.unit, months.c.month, sa.cast(months.c.data, sa.Text)) \
            .where(sa.or_(sa.and_(months.c.month >= lo, months.c.month <= hi),
                          sa.and_(months.c.month < lo, months.c.open > 0)))
        with self.engine.connect() as conn:
            return [{"unit": unit, "month": month, "data": loads(data)}
                    for unit, month, data in conn.execute(query)]

    def visit_counts(self, lo: str, hi: str) -> dict[tuple[str, str], int]:
        """The number of inspection visits per unit and month, from ``lo`` to ``hi``."""
        visits = self.t["metric_visits"]
        query = sa.select(visits.c.unit, visits.c.month, sa.func.count()) \
            .where(visits.c.month >= lo, visits.c.month <= hi) \
            .group_by(visits.c.unit, visits.c.month)
        with self.engine.connect() as conn:
            return {(unit, month): n for unit, month, n in conn.execute(query)}

    def task_items(self, tasks: Collection[str]) -> dict[str, list[dict[str, Any]]]:
        """These tasks' items, by task."""
        table = self.t["metric_tasks"]
        query = sa.select(table.c.task, sa.cast(table.c["items"], sa.Text))
        with self.engine.connect() as conn:
            return {task: loads(items) for chunk in _chunks(sorted(tasks))
                    for task, items in conn.execute(query.where(table.c.task.in_(chunk)))}

    def visits_of(self, inspections: Collection[str]) -> list[dict[str, Any]]:
        """These inspections' visit rows."""
        visits = self.t["metric_visits"]
        with self.engine.connect() as conn:
            return [r for chunk in _chunks(sorted(inspections))
                    for r in _dicts(conn.execute(
                        sa.select(visits).where(visits.c.inspection.in_(chunk))))]


def _counted(rows: list[dict[str, Any]], lo: str, hi: str) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        if lo <= row["month"] <= hi:
            found[(row["unit"], row["month"])] += 1
    return found


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

    def month_rows(self, lo: str, hi: str) -> list[dict[str, Any]]:
        return [row for row in self.rows.table("metric_months").values()
                if lo <= row["month"] <= hi or (row["month"] < lo and row["open"] > 0)]

    def visit_counts(self, lo: str, hi: str) -> dict[tuple[str, str], int]:
        return _counted(list(self.rows.table("metric_visits").values()), lo, hi)


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

    def month_rows(self, lo: str, hi: str) -> list[dict[str, Any]]:
        """The maintained month rows with what the changed tasks' items put in them now
        taken out, and what their items put in them then (the fold in memory) put in."""
        from projections.metric_aggregates import change, entries, rows_of

        data = {(r["unit"], r["month"]): r["data"] for r in self.table.month_rows(lo, hi)}
        now = self.table.task_items(self.changed)
        taken = [e for items in now.values() for e in entries(items)
                 if lo <= e[1] <= hi or (e[1] < lo and e[2] == "f")]
        data = {key: {p: list(v) for p, v in parts.items()} for key, parts in data.items()}
        for unit, month, _, _ in taken:
            data.setdefault((unit, month), {})
        change(data, taken, ())
        for row in self.memory.month_rows(lo, hi):
            parts = data.setdefault((row["unit"], row["month"]), {})
            for part, values in row["data"].items():
                parts.setdefault(part, []).extend(values)
        return rows_of(data, lo)

    def visit_counts(self, lo: str, hi: str) -> dict[tuple[str, str], int]:
        found = defaultdict(int, self.table.visit_counts(lo, hi))
        for row in self.table.visits_of(self.changed):
            if lo <= row["month"] <= hi:
                found[(row["unit"], row["month"])] -= 1
        for key, n in self.memory.visit_counts(lo, hi).items():
            found[key] += n
        return {key: n for key, n in found.items() if n}
