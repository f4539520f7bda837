"""Long-term-mechanism metrics (长效机制指标), per unit and month: the one place that
defines them.

The contract is the table in docs/domain.md, "The figures (per unit U and month M)".
Months are by valid time (``occurred_at``) in the campaign's time zone; deadlines are
dates there. How the words of that table are read:

- A rectification cycle starts at the assignment or at a reopening and ends with its
  passing re-inspection. Its deadline is the last one set in it (notice, extension,
  reopening, or a correction of the event that set it): the final deadline counts.
- Every fact is the unit's that answers for it. A cycle — its assignment, deadline,
  re-inspections, verification, escalations, closure — is answered for by the unit holding
  the task at the cycle's end, or now while it is open: a reassignment (改派) hands the open
  cycle to the new unit. An acknowledgement is the acknowledging unit's; a reopening is a
  recurrence of the unit that closed the previous cycle.
- A cycle closed as void, duplicate or not responsible was never a rectification the unit
  owed: it is neither due, nor overdue, nor verified. Its re-inspections still count.
- Corrections (``Task.Corrected``) are honoured: a task's events are replayed with the
  corrected times, deadlines, categories, locations and sources.
- assigned: tasks whose assignment occurred in the month (complaints, media, unannounced:
  those of that source).
- due: cycles whose final deadline falls in the month; on time: their passing
  re-inspection's date is on or before the deadline; on-time rate = on time ÷ due.
- rework rate: failed re-inspections ÷ all re-inspections that occurred in the month.
- mean days to rectify: mean of (passing re-inspection − start of the cycle), in days,
  over the cycles verified in the month.
- overdue open: cycles past their deadline and not verified at the end of the month (the
  task is overdue from the day after its deadline until verified).
- recurrence rate: (tasks reopened in the month, plus new tasks assigned in the month for
  the same unit, category and location within the campaign's window — 90 days — after
  another task's closure as verified) ÷ tasks closed as verified in the campaign's
  look-back months (three) before the month.
- inspection coverage: inspection visits of the unit in the month ÷ the campaign's
  required number (as set at the end of the month).
- complaint response: the median of hours from the moment a public complaint reached the
  unit (its assignment, or a reassignment to the unit) to the unit's acknowledgement, over
  the acknowledgements of the month.
- A unit's figures include those of every unit below it (a 街道's include its 社区 and
  物业); its required inspections are those of the units at the bottom of its tree.

The projection keeps, per task, its events (compacted) and the items they make — one per
assignment, due cycle, re-inspection, verification, closure, reopening, escalation and
acknowledged complaint, and one overdue span per cycle — each with the month it falls in
and the unit that answers for it. A month's figures are then an aggregation over the items
of a few months, whatever the length of the ledger's history.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.evaluation import (
    FIGURES,
    OPEN_END,
    first_day,
    month_add,
    month_of,
)
from projections.corrections import corrected as correction_of
from projections.corrections import is_correction, is_withdrawal
from projections.engine import Context, Fact, Key, Projection, Rows

Item = dict[str, Any]

SURVEY_RATES = ("awareness", "participation", "satisfaction")
TASK_FIELDS = ("unit", "previous_unit", "category", "location", "source", "deadline",
               "closure", "corrects", "changes")


# --- the projection -----------------------------------------------------------------------

class Metrics(Projection):
    """Per task: its compacted events and the metric items they make; per visit, unit and
    campaign setting, the little the metrics need of them."""

    name = "metrics"
    CAMPAIGN = frozenset({"Campaign.Started", "Campaign.SettingsChanged"})
    UNITS = frozenset({"Unit.Registered", "Unit.Renamed", "Unit.Retired", "Unit.Corrected"})
    # Visits and surveys, with their corrections and withdrawals: the table each keeps.
    RECORDS = {"Inspection": "metric_visits", "Survey": "metric_surveys"}

    def define(self) -> None:
        self.table(
            "metric_tasks",
            sa.Column("task", sa.String(40), primary_key=True),
            sa.Column("unit", sa.String(40), nullable=False),
            sa.Column("month_lo", sa.String(7), nullable=False),
            sa.Column("month_hi", sa.String(7), nullable=False),
            sa.Column("events", sa.JSON, nullable=False),
            sa.Column("items", sa.JSON, nullable=False),
            sa.Index(f"{self.prefix}metric_tasks_unit_month", "unit", "month_hi"),
            sa.Index(f"{self.prefix}metric_tasks_month", "month_hi"),
        )
        # Units a task was reassigned away from: its items may still be theirs.
        self.table(
            "metric_held",
            sa.Column("task", sa.String(40), primary_key=True),
            sa.Column("unit", sa.String(40), primary_key=True),
            sa.Index(f"{self.prefix}metric_held_unit", "unit"),
        )
        self.table(
            "metric_visits",
            sa.Column("inspection", sa.String(40), primary_key=True),
            sa.Column("unit", sa.String(40), nullable=False),
            sa.Column("month", sa.String(7), nullable=False),
            sa.Column("at", sa.String(40), nullable=False),
            sa.Index(f"{self.prefix}metric_visits_unit_month", "unit", "month"),
        )
        self.table(
            "metric_units",
            sa.Column("code", sa.String(40), primary_key=True),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("kind", sa.String(8), nullable=False),
            sa.Column("parent", sa.String(40)),
            sa.Column("registered", sa.String(7), nullable=False),
            sa.Column("retired", sa.String(7)),
        )
        self.table(
            "metric_settings",
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("month", sa.String(7), nullable=False),
            sa.Column("required", sa.Integer, nullable=False),
            sa.Column("window_days", sa.Integer, nullable=False),
            sa.Column("lookback_months", sa.Integer, nullable=False),
        )
        # Public surveys (群众满意度测评), for the figures a scoring rule may weight.
        self.table(
            "metric_surveys",
            sa.Column("survey", sa.String(40), primary_key=True),
            sa.Column("unit", sa.String(40), nullable=False),
            sa.Column("month", sa.String(7), nullable=False),
            sa.Column("at", sa.String(40), nullable=False),
            *(sa.Column(rate, sa.Float, nullable=False) for rate in SURVEY_RATES),
            sa.Column("sample", sa.Integer, nullable=False),
            sa.Index(f"{self.prefix}metric_surveys_month", "month"),
        )

    def wants(self, fact: Fact) -> bool:
        return (fact.kind.startswith("Task.") or fact.kind.split(".", 1)[0] in self.RECORDS
                or fact.kind in self.UNITS or fact.kind in self.CAMPAIGN)

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        if fact.kind.startswith("Task."):
            touched = [("metric_tasks", (fact.originator_id,))]
            if fact.kind == "Task.Reassigned":
                touched.append(("metric_held", (fact.originator_id,
                                                fact.data["previous_unit"])))
            return touched
        if fact.kind in self.UNITS:
            return [("metric_units", (fact.originator_id.split(":", 1)[1],))]
        if fact.kind in self.CAMPAIGN:
            return [("metric_settings", (1,))]
        if fact.version > 1:  # a visit's or survey's correction or withdrawal
            return [(self.RECORDS[fact.kind.split(".", 1)[0]], (fact.originator_id,))]
        return []  # a visit or a survey is recorded once: its row is new

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        if fact.kind.startswith("Task."):
            # The task's items are derived in ``finish``, once per batch: deriving them
            # on every event cost in proportion to the task's length.
            key = (fact.originator_id,)
            row = rows.get("metric_tasks", key)
            if row is None or "items" in row:
                row = {"task": fact.originator_id, "events": [*(row["events"] if row else [])]}
                rows.put("metric_tasks", key, row)
            row["events"].append(compact(fact))
            if fact.kind == "Task.Reassigned":
                rows.put("metric_held", (fact.originator_id, d["previous_unit"]),
                         {"task": fact.originator_id, "unit": d["previous_unit"]})
        elif fact.version > 1 and fact.kind.split(".", 1)[0] in self.RECORDS:
            self._correct_record(rows, fact, ctx)
        elif fact.kind == "Inspection.Recorded":
            rows.put("metric_visits", (fact.originator_id,), {
                "inspection": fact.originator_id, "unit": d["unit"],
                "month": local_month(fact.occurred_at, ctx), "at": fact.occurred_at})
        elif fact.kind == "Survey.Recorded":
            rows.put("metric_surveys", (fact.originator_id,), {
                "survey": fact.originator_id, "at": fact.occurred_at,
                **{k: d[k] for k in ("unit", "month", *SURVEY_RATES, "sample")}})
        elif fact.kind in self.UNITS:
            code = fact.originator_id.split(":", 1)[1]
            if fact.kind == "Unit.Registered":
                rows.put("metric_units", (code,), {
                    "code": code, "name": d["name"], "kind": d["kind"], "parent": d["parent"],
                    "registered": local_month(fact.occurred_at, ctx), "retired": None})
                return
            row = dict(rows.get("metric_units", (code,)) or {})
            if fact.kind == "Unit.Renamed":
                row["name"] = d["name"]
            elif fact.kind == "Unit.Corrected":
                event, changes = correction_of(fact)
                row.update({k: v for k, v in changes.items() if k in ("name", "kind", "parent")})
                if "occurred_at" in changes and event in ("Registered", "Retired"):
                    row["registered" if event == "Registered" else "retired"] = \
                        local_month(changes["occurred_at"], ctx)
            else:
                row["retired"] = local_month(fact.occurred_at, ctx)
            rows.put("metric_units", (code,), row)
        else:
            # Campaign settings: the first row holds the window and look-back of the
            # recurrence rate, which only the campaign's start sets.
            first = rows.get("metric_settings", (1,)) or {}
            rows.put("metric_settings", (fact.version,), {
                "version": fact.version, "month": local_month(fact.occurred_at, ctx),
                "required": d["required_inspections"],
                "window_days": d.get("recurrence_window_days", first.get("window_days", 90)),
                "lookback_months": d.get("recurrence_lookback_months",
                                         first.get("lookback_months", 3))})


    def _correct_record(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """A visit or survey corrected (its row takes the corrected facts) or withdrawn
        (its row goes: it counts no more)."""
        table = self.RECORDS[fact.kind.split(".", 1)[0]]
        key = (fact.originator_id,)
        row = rows.get(table, key)
        if row is None:
            return
        if is_withdrawal(fact):
            rows.delete(table, key)
            return
        if not is_correction(fact):
            return
        row = dict(row)
        for name, value in correction_of(fact)[1].items():
            if name == "occurred_at":
                row["at"] = value
                if table == "metric_visits":
                    row["month"] = local_month(value, ctx)
            elif name in row and name not in ("survey", "inspection"):
                row[name] = value
        rows.put(table, key, row)

    def finish(self, rows: Rows, ctx: Context) -> None:
        for key in rows.changed("metric_tasks"):
            row = rows.get("metric_tasks", key)
            if row is not None and "items" not in row:
                rows.put("metric_tasks", key, task_row(key[0], row["events"], ctx))


def local_month(iso: str, ctx: Context) -> str:
    return ctx.month(iso)


def compact(fact: Fact) -> dict[str, Any]:
    """What the metrics keep of a task event."""
    kept = {"v": fact.version, "k": fact.kind.split(".", 1)[1], "at": fact.occurred_at}
    for name in TASK_FIELDS:
        if name in fact.data:
            kept[name] = fact.data[name]
    return kept


def task_row(task: str, events: list[dict[str, Any]], ctx: Context) -> dict[str, Any]:
    items, holder = derive(task, events, ctx)
    months = [m for i in items for m in (i["month"], i.get("to", i["month"]))]
    return {"task": task, "unit": holder, "month_lo": min(months), "month_hi": max(months),
            "events": events, "items": items}


# --- a task's items -----------------------------------------------------------------------

@dataclass
class _Cycle:
    start: dict[str, Any]  # the event that started it (Assigned or Reopened)
    unit: str
    deadline: str
    deadline_event: dict[str, Any]
    reinspections: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    passed: dict[str, Any] | None = None
    closed: dict[str, Any] | None = None


def corrected(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The task's events as its corrections say they were (corrections themselves left
    out), in order. Uncorrected events are returned as they are: do not change them."""
    if all(e["k"] != "Corrected" for e in events) and all(
            a["v"] < b["v"] for a, b in zip(events, events[1:])):
        return events
    by_version = {e["v"]: dict(e) for e in events if e["k"] != "Corrected"}
    for correction in (e for e in events if e["k"] == "Corrected"):
        target = by_version.get(correction["corrects"])
        if target is None:
            continue
        for name, value in correction["changes"].items():
            target["at" if name == "occurred_at" else name] = value
    return [by_version[v] for v in sorted(by_version)]


def derive(task: str, events: list[dict[str, Any]], ctx: Context
           ) -> tuple[list[Item], str]:
    """The items a task's events make, and the unit holding the task now."""
    replayed = corrected(events)
    assigned = replayed[0]
    source = assigned["source"]
    holder = assigned["unit"]
    received = assigned
    cycles: list[_Cycle] = []
    responses: list[Item] = []
    month = ctx.month
    cycle = None
    for e in replayed:
        kind = e["k"]
        if kind == "Assigned" or kind == "Reopened":
            cycle = _Cycle(e, holder, e["deadline"], e)
            cycles.append(cycle)
        elif cycle is None:
            continue
        elif kind == "ReinspectionPassed":
            cycle.reinspections.append(e)
            cycle.passed = e
        elif kind == "NoticeIssued" or kind == "DeadlineExtended":
            if e.get("deadline"):
                cycle.deadline, cycle.deadline_event = e["deadline"], e
        elif kind == "ReinspectionFailed":
            cycle.reinspections.append(e)
        elif kind == "Escalated":
            cycle.escalations.append(e)
        elif kind == "Closed":
            cycle.closed = e
        elif kind == "Reassigned":
            holder = e["unit"]
            cycle.unit = holder
            received = e
        elif kind == "Acknowledged" and source == "complaint":
            at = e["at"]
            hours = (datetime.fromisoformat(at)
                     - datetime.fromisoformat(received["at"])).total_seconds() / 3600
            responses.append({"kind": "response", "task": task, "month": month(at),
                              "unit": holder, "at": at, "events": [_ref(received), _ref(e)],
                              "hours": round(hours, 6)})

    at = assigned["at"]
    items = [{"kind": "assigned", "task": task, "month": month(at), "unit": cycles[0].unit,
              "at": at, "events": [_ref(assigned)], "source": source,
              "category": assigned["category"], "location": assigned["location"]}]
    for index, cycle in enumerate(cycles):
        unit = cycle.unit
        start = cycle.start
        if index:
            at = start["at"]
            items.append({"kind": "reopened", "task": task, "month": month(at),
                          "unit": cycles[index - 1].unit, "at": at, "events": [_ref(start)]})
        for e in cycle.reinspections:
            at = e["at"]
            items.append({"kind": "reinspection", "task": task, "month": month(at),
                          "unit": unit, "at": at, "events": [_ref(e)],
                          "failed": e["k"] == "ReinspectionFailed"})
        for e in cycle.escalations:
            at = e["at"]
            items.append({"kind": "escalated", "task": task, "month": month(at), "unit": unit,
                          "at": at, "events": [_ref(e)]})
        closed = cycle.closed
        if closed is not None:
            if closed["closure"] != "verified":
                continue  # void: never a rectification the unit owed
            at = closed["at"]
            items.append({"kind": "closed", "task": task, "month": month(at), "unit": unit,
                          "at": at, "events": [_ref(closed)],
                          "category": assigned["category"], "location": assigned["location"]})
        basis = [_ref(start)]
        if cycle.deadline_event is not start:
            basis.append(_ref(cycle.deadline_event))
        deadline = date.fromisoformat(cycle.deadline)
        passed = cycle.passed
        passed_on = date.fromordinal(ctx.day_number(passed["at"])) if passed else None
        on_time = passed_on is not None and passed_on <= deadline
        items.append({"kind": "due", "task": task, "month": cycle.deadline[:7], "unit": unit,
                      "at": None, "events": basis + ([_ref(passed)] if passed else []),
                      "deadline": cycle.deadline, "on_time": on_time})
        if passed is not None:
            at = passed["at"]
            days = (datetime.fromisoformat(at)
                    - datetime.fromisoformat(start["at"])).total_seconds() / 86400
            items.append({"kind": "verified", "task": task, "month": month(at), "unit": unit,
                          "at": at, "events": [_ref(start), _ref(passed)],
                          "days": round(days, 6)})
        # Overdue at the end of month M: the deadline is before M's last day, and the
        # cycle was not verified by then.
        if on_time:
            continue
        first = month_of(deadline + timedelta(days=1))
        last = OPEN_END if passed_on is None else month_add(month_of(passed_on), -1)
        if first <= last:
            items.append({"kind": "overdue", "task": task, "month": first, "unit": unit,
                          "at": None, "events": [[*ref] for ref in basis],
                          "deadline": cycle.deadline, "to": last})
    return items + responses, holder


def _ref(event: dict[str, Any]) -> list[Any]:
    """How an item names an event of its task: [version, kind, occurred_at]."""
    return [event["v"], event["k"], event["at"]]


# --- where the rows come from -------------------------------------------------------------

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


class TableSource:
    """Rows from the maintained tables, by indexed month ranges."""

    def __init__(self, engine: Engine, projection: Metrics) -> None:
        self.engine = engine
        self.t = projection.tables

    def units(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(self.t["metric_units"])
                                                  .order_by("code")).mappings()]

    def settings(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(self.t["metric_settings"])
                                                  .order_by("version")).mappings()]

    def tasks(self, units: Collection[str] | None, lo: str, hi: str
              ) -> list[dict[str, Any]]:
        tasks, held = self.t["metric_tasks"], self.t["metric_held"]
        overlap = sa.and_(tasks.c.month_hi >= lo, tasks.c.month_lo <= hi)
        query = sa.select(tasks.c.task, tasks.c["items"])
        found: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            if units is None:
                rows = conn.execute(query.where(overlap)).mappings()
                return [dict(r) for r in rows]
            for chunk in _chunks(sorted(units)):
                for statement in (
                        query.where(overlap, tasks.c.unit.in_(chunk)),
                        query.where(overlap, tasks.c.task.in_(
                            sa.select(held.c.task).where(held.c.unit.in_(chunk))))):
                    for r in conn.execute(statement).mappings():
                        found[r["task"]] = dict(r)
        return list(found.values())

    def visits(self, units: Collection[str] | None, lo: str, hi: str
               ) -> list[dict[str, Any]]:
        visits = self.t["metric_visits"]
        query = sa.select(visits).where(visits.c.month >= lo, visits.c.month <= hi)
        with self.engine.connect() as conn:
            if units is None:
                return [dict(r) for r in conn.execute(query).mappings()]
            return [dict(r) for chunk in _chunks(sorted(units))
                    for r in conn.execute(query.where(visits.c.unit.in_(chunk))).mappings()]

    def surveys(self, units: Collection[str] | None, lo: str, hi: str
                ) -> list[dict[str, Any]]:
        surveys = self.t["metric_surveys"]
        query = sa.select(surveys).where(surveys.c.month >= lo, surveys.c.month <= hi)
        with self.engine.connect() as conn:
            found = [dict(r) for r in conn.execute(query).mappings()]
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


# --- a unit's month -----------------------------------------------------------------------

@dataclass
class Tally:
    """Everything a unit's month is made of: the items, by what they count as."""

    assigned: list[Item] = field(default_factory=list)
    due: list[Item] = field(default_factory=list)
    reinspections: list[Item] = field(default_factory=list)
    verified: list[Item] = field(default_factory=list)
    overdue: list[Item] = field(default_factory=list)
    reopened: list[Item] = field(default_factory=list)
    recurring: list[Item] = field(default_factory=list)  # new tasks, with "after": closure
    closed_before: list[Item] = field(default_factory=list)
    escalated: list[Item] = field(default_factory=list)
    responses: list[Item] = field(default_factory=list)
    visits: list[Item] = field(default_factory=list)
    surveys: list[Item] = field(default_factory=list)
    required: int = 0
    units: int = 0  # units at the bottom of the tree, active in the month

    def merge(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            if name in ("required", "units"):
                setattr(self, name, getattr(self, name) + getattr(other, name))
            else:
                getattr(self, name).extend(getattr(other, name))


Part = tuple[str, Item]  # what an item counts as, and the item


@dataclass(frozen=True)
class Metric:
    """A figure's definition: its value from a tally, and the items that make it up."""

    name: str
    value: Callable[[Tally], int | float | Fraction | None]
    parts: Callable[[Tally], list[Part]]


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def _tasks(items: Iterable[Item]) -> set[str]:
    return {i["task"] for i in items}


def _of_source(name: str, source: str) -> Metric:
    return Metric(name, lambda t: sum(1 for i in t.assigned if i["source"] == source),
                  lambda t: [("assigned", i) for i in t.assigned if i["source"] == source])


def _recurrent(t: Tally) -> list[Part]:
    return [("reopened", i) for i in t.reopened] + [("recurring", i) for i in t.recurring]


def _due_parts(t: Tally) -> list[Part]:
    return [("on time" if i["on_time"] else "late", i) for i in t.due]


def _reinspection_parts(t: Tally) -> list[Part]:
    return [("failed" if i["failed"] else "passed", i) for i in t.reinspections]


def _survey_rate(rate: str) -> Metric:
    """A survey rate of the month, its surveys weighted by sample (0 to 1)."""
    def value(t: Tally) -> Fraction | None:
        sample = sum(i["sample"] for i in t.surveys)
        if not sample:
            return None
        return sum((Fraction(i[rate]) * i["sample"] for i in t.surveys), Fraction(0)) \
            / sample / 100
    return Metric(rate, value, lambda t: [("survey", i) for i in t.surveys])


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("assigned", lambda t: len(t.assigned), lambda t: [("assigned", i) for i in t.assigned]),
    _of_source("complaints", "complaint"), _of_source("media", "media"),
    _of_source("unannounced", "unannounced"),
    Metric("due", lambda t: len(t.due), _due_parts),
    Metric("on_time", lambda t: sum(1 for i in t.due if i["on_time"]),
           lambda t: [p for p in _due_parts(t) if p[0] == "on time"]),
    Metric("late", lambda t: sum(1 for i in t.due if not i["on_time"]),
           lambda t: [p for p in _due_parts(t) if p[0] == "late"]),
    Metric("on_time_rate", lambda t: _ratio(sum(1 for i in t.due if i["on_time"]), len(t.due)),
           _due_parts),
    Metric("reinspections", lambda t: len(t.reinspections), _reinspection_parts),
    Metric("rework", lambda t: sum(1 for i in t.reinspections if i["failed"]),
           lambda t: [p for p in _reinspection_parts(t) if p[0] == "failed"]),
    Metric("rework_rate", lambda t: _ratio(sum(1 for i in t.reinspections if i["failed"]),
                                           len(t.reinspections)), _reinspection_parts),
    Metric("verified", lambda t: len(t.verified), lambda t: [("verified", i) for i in t.verified]),
    Metric("mean_days", lambda t: _mean([i["days"] for i in t.verified]),
           lambda t: [("verified", i) for i in t.verified]),
    Metric("overdue_open", lambda t: len(t.overdue), lambda t: [("overdue", i) for i in t.overdue]),
    Metric("recurrences", lambda t: len(_tasks(t.reopened) | _tasks(t.recurring)), _recurrent),
    Metric("closed_before", lambda t: len(_tasks(t.closed_before)),
           lambda t: [("closed before", i) for i in t.closed_before]),
    Metric("recurrence_rate",
           lambda t: _ratio(len(_tasks(t.reopened) | _tasks(t.recurring)),
                            len(_tasks(t.closed_before))),
           lambda t: _recurrent(t) + [("closed before", i) for i in t.closed_before]),
    Metric("inspections", lambda t: len(t.visits), lambda t: [("visit", i) for i in t.visits]),
    Metric("required_inspections", lambda t: t.required, lambda t: []),
    Metric("inspection_coverage", lambda t: _ratio(len(t.visits), t.required),
           lambda t: [("visit", i) for i in t.visits]),
    Metric("escalated", lambda t: len(t.escalated),
           lambda t: [("escalated", i) for i in t.escalated]),
    Metric("complaints_acknowledged", lambda t: len(t.responses),
           lambda t: [("acknowledged", i) for i in t.responses]),
    Metric("complaint_response_hours", lambda t: _median([i["hours"] for i in t.responses]),
           lambda t: [("acknowledged", i) for i in t.responses]),
    *(_survey_rate(rate) for rate in SURVEY_RATES),
    Metric("surveyed", lambda t: sum(i["sample"] for i in t.surveys),
           lambda t: [("survey", i) for i in t.surveys]),
]}
assert set(METRICS) == set(FIGURES), set(METRICS) ^ set(FIGURES)


def figures(tally: Tally) -> dict[str, int | float | Fraction | None]:
    """Every figure of a tally, by name."""
    return {name: metric.value(tally) for name, metric in METRICS.items()}


# --- the units ----------------------------------------------------------------------------

class Units:
    """The units as the metrics know them: kinds, parents, when registered and retired."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = {r["code"]: r for r in rows}
        self.children: dict[str | None, list[str]] = defaultdict(list)
        for row in rows:
            self.children[row["parent"]].append(row["code"])

    def __contains__(self, code: str) -> bool:
        return code in self.rows

    def below(self, code: str) -> list[str]:
        """The unit and every unit below it."""
        found, frontier = [], [code]
        while frontier:
            current = frontier.pop()
            found.append(current)
            frontier.extend(self.children.get(current, []))
        return found

    def active(self, code: str, month: str) -> bool:
        row = self.rows[code]
        return row["registered"] <= month and (row["retired"] is None or
                                               row["retired"] >= month)

    def of_level(self, kind: str, month: str, parent: str | None = None) -> list[str]:
        """The units of one kind active in the month (below ``parent``, if given)."""
        codes = self.below(parent) if parent else list(self.rows)
        return sorted(c for c in codes if c != parent and self.rows[c]["kind"] == kind
                      and self.active(c, month))


# --- computing months ---------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    required: int
    window_days: int
    lookback_months: int


def settings_for(rows: list[dict[str, Any]], month: str) -> Settings:
    """The campaign's settings in force at the end of ``month``."""
    fitting = [r for r in rows if r["month"] <= month] or rows[:1]
    if not fitting:
        return Settings(0, 90, 3)
    last = max(fitting, key=lambda r: r["version"])
    first = min(rows, key=lambda r: r["version"])
    return Settings(last["required"], first["window_days"], first["lookback_months"])


class MonthBook:
    """The tallies of chosen units over chosen months, computed from a source."""

    def __init__(self, source: Source, units: Units, scope: Collection[str],
                 months: Collection[str]) -> None:
        self.units = units
        self.months = sorted(set(months))
        self.scope = sorted(set(scope))
        settings_rows = source.settings()
        self.settings = {m: settings_for(settings_rows, m) for m in self.months}
        members = {u: units.below(u) for u in self.scope}
        everyone = sorted({c for codes in members.values() for c in codes})
        lo = min(min(month_add(m, -s.lookback_months),
                     month_of(first_day(m) - timedelta(days=s.window_days)))
                 for m, s in self.settings.items())
        hi = self.months[-1]
        leaf = self._leaf_tallies(source, set(everyone), lo, hi)
        self.tallies: dict[tuple[str, str], Tally] = {}
        for unit, codes in members.items():
            for month in self.months:
                tally = Tally()
                for code in codes:
                    found = leaf.get((code, month))
                    if found is not None:
                        tally.merge(found)
                self.tallies[(unit, month)] = tally

    def _leaf_tallies(self, source: Source, everyone: set[str], lo: str, hi: str
                      ) -> dict[tuple[str, str], Tally]:
        months = set(self.months)
        leaf: dict[tuple[str, str], Tally] = defaultdict(Tally)
        closures: dict[tuple[str, str, str], list[Item]] = defaultdict(list)
        arrivals: list[Item] = []
        for row in source.tasks(everyone, lo, hi):
            for item in row["items"]:
                unit = item["unit"]
                if unit not in everyone:
                    continue
                kind, month = item["kind"], item["month"]
                if kind == "overdue":
                    for m in months:
                        if month <= m <= item["to"]:
                            leaf[(unit, m)].overdue.append(item)
                    continue
                if kind == "closed":
                    closures[(unit, item["category"], item["location"])].append(item)
                    for m in months:
                        lookback = self.settings[m].lookback_months
                        if month_add(m, -lookback) <= month <= month_add(m, -1):
                            leaf[(unit, m)].closed_before.append(item)
                if month not in months:
                    continue
                tally = leaf[(unit, month)]
                if kind == "assigned":
                    tally.assigned.append(item)
                    arrivals.append(item)
                elif kind == "due":
                    tally.due.append(item)
                elif kind == "reinspection":
                    tally.reinspections.append(item)
                elif kind == "verified":
                    tally.verified.append(item)
                elif kind == "reopened":
                    tally.reopened.append(item)
                elif kind == "escalated":
                    tally.escalated.append(item)
                elif kind == "response":
                    tally.responses.append(item)
        for item in arrivals:
            window = timedelta(days=self.settings[item["month"]].window_days)
            arrived = datetime.fromisoformat(item["at"])
            before = [c for c in closures.get((item["unit"], item["category"],
                                               item["location"]), [])
                      if c["task"] != item["task"]
                      and datetime.fromisoformat(c["at"]) < arrived
                      <= datetime.fromisoformat(c["at"]) + window]
            if before:
                latest = max(before, key=lambda c: datetime.fromisoformat(c["at"]))
                leaf[(item["unit"], item["month"])].recurring.append({**item, "after": latest})
        for visit in source.visits(everyone, self.months[0], hi):
            if visit["month"] in months:
                leaf[(visit["unit"], visit["month"])].visits.append(
                    {"kind": "visit", "task": visit["inspection"], "month": visit["month"],
                     "unit": visit["unit"], "at": visit["at"],
                     "events": [[1, "Recorded", visit["at"]]]})
        for survey in source.surveys(everyone, self.months[0], hi):
            if survey["month"] in months:
                leaf[(survey["unit"], survey["month"])].surveys.append(
                    {**survey, "kind": "survey", "task": survey["survey"],
                     "events": [[1, "Recorded", survey["at"]]]})
        for code in everyone:
            if self.units.children.get(code):
                continue  # required inspections are those of the units at the bottom
            for month in months:
                if self.units.active(code, month):
                    leaf[(code, month)].required += self.settings[month].required
                    leaf[(code, month)].units += 1
        return leaf

    def tally(self, unit: str, month: str) -> Tally:
        return self.tallies[(unit, month)]

    def figures(self, unit: str, month: str) -> dict[str, int | float | Fraction | None]:
        return figures(self.tallies[(unit, month)])
