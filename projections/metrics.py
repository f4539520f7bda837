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

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from domain.accounts import Account
from domain.audit import AuditLog
from domain.evaluation import Evaluation
from domain.indicators import IndicatorSystem
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import Task
from projections import metric_aggregates
from projections.corrections import corrected as correction_of
from projections.corrections import is_correction, is_withdrawal
from projections.facts import Context, Fact, Key
# The items, the sources and the months, re-exported: the metrics' one entry point.
from projections.metric_items import SURVEY_RATES, ROLES, Item, corrected, derive
from projections.metric_months import (METRICS, Metric, MonthBook, Settings, Tally, Units,
                                       figures, settings_for)
from projections.metric_sources import MemorySource, OverlaySource, Source, TableSource
from projections.projection import Projection, events_of
from projections.rows import Rows

__all__ = ["METRICS", "ROLES", "SURVEY_RATES", "Item", "MemorySource", "Metric", "Metrics",
           "MonthBook", "OverlaySource", "Settings", "Source", "TableSource", "Tally",
           "Units", "compact", "corrected", "derive", "figures", "settings_for", "task_row"]

TASK_FIELDS = ("unit", "previous_unit", "category", "location", "source", "deadline",
               "closure", "corrects", "changes")


# --- the projection -----------------------------------------------------------------------

class Metrics(Projection):
    """Per task: its compacted events and the metric items they make; per visit, unit and
    campaign setting, the little the metrics need of them."""

    name = "metrics"
    version = 3  # 2: its JSON written by orjson (compact, UTF-8; projections.rows.json_text)
    # 3: the units' months kept as aggregates of their items (projections.metric_aggregates)

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
        metric_aggregates.define(self)

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        table = TABLES[fact.event]  # type: ignore[index]
        if table == "metric_tasks":
            touched = [("metric_tasks", (fact.originator_id,))]
            if fact.event is Task.Reassigned:
                touched.append(("metric_held", (fact.originator_id,
                                                fact.data["previous_unit"])))
            return touched
        if table == "metric_units":
            return [("metric_units", (fact.originator_id.split(":", 1)[1],))]
        if table == "metric_settings":
            return [("metric_settings", (1,))]
        if fact.version > 1:  # a visit's or survey's correction or withdrawal
            return [(table, (fact.originator_id,))]
        return []  # a visit or a survey is recorded once: its row is new

    def touched(self, facts: list[Fact]) -> dict[str, set[Key]]:
        """:meth:`touches` of a batch: most facts are a task's, touching its row only."""
        tasks: set[Key] = set()
        found = {"metric_tasks": tasks}
        for fact in facts:
            event = fact.event
            if event is not Task.Reassigned and TABLES[event] == "metric_tasks":  # type: ignore
                tasks.add((fact.originator_id,))
                continue
            for name, key in self.touches(fact):
                found.setdefault(name, set()).add(key)
        return found

    def _task(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """Every event of a task is kept (compacted) with it; the task's items are derived
        in ``finish``, once per batch: deriving them on every event cost in proportion to
        the task's length. What each event is to the items: ``metric_items.ROLES``."""
        key = (fact.originator_id,)
        row = rows.get("metric_tasks", key)
        if row is None or "items" in row:
            row = {"task": fact.originator_id, "events": [*(row["events"] if row else [])],
                   "before": row["items"] if row else []}  # taken out of its months
            rows.put("metric_tasks", key, row)
        row["events"].append(compact(fact))
        if fact.event is Task.Reassigned:
            previous = fact.data["previous_unit"]
            rows.put("metric_held", (fact.originator_id, previous),
                     {"task": fact.originator_id, "unit": previous})

    def _visited(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        rows.put("metric_visits", (fact.originator_id,), {
            "inspection": fact.originator_id, "unit": fact.data["unit"],
            "month": local_month(fact.occurred_at, ctx), "at": fact.occurred_at})

    def _surveyed(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        rows.put("metric_surveys", (fact.originator_id,), {
            "survey": fact.originator_id, "at": fact.occurred_at,
            **{k: fact.data[k] for k in ("unit", "month", *SURVEY_RATES, "sample")}})

    def _unit_registered(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        code = fact.originator_id.split(":", 1)[1]
        rows.put("metric_units", (code,), {
            "code": code, "name": d["name"], "kind": d["kind"], "parent": d["parent"],
            "registered": local_month(fact.occurred_at, ctx), "retired": None})

    def _unit_changed(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """A unit renamed, retired, or corrected (its name, kind, parent, or when it was
        registered or retired)."""
        code = fact.originator_id.split(":", 1)[1]
        row = dict(rows.get("metric_units", (code,)) or {})
        if fact.event is Unit.Renamed:
            row["name"] = fact.data["name"]
        elif fact.event is Unit.Corrected:
            event, changes = correction_of(fact)
            row.update({k: v for k, v in changes.items() if k in ("name", "kind", "parent")})
            if "occurred_at" in changes and event in UNIT_MOMENTS:
                row[UNIT_MOMENTS[event]] = local_month(changes["occurred_at"], ctx)
        else:
            row["retired"] = local_month(fact.occurred_at, ctx)
        rows.put("metric_units", (code,), row)

    def _settings(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """Campaign settings: the first row holds the window and look-back of the
        recurrence rate, which only the campaign's start sets."""
        d = fact.data
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
        table = TABLES[fact.event]  # type: ignore[index]
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

    handlers = {
        **dict.fromkeys(events_of(Task), _task),
        Inspection.Recorded: _visited, Inspection.Corrected: _correct_record,
        Inspection.Withdrawn: _correct_record,
        Survey.Recorded: _surveyed, Survey.Corrected: _correct_record,
        Survey.Withdrawn: _correct_record,
        Unit.Registered: _unit_registered, Unit.Renamed: _unit_changed,
        Unit.Retired: _unit_changed, Unit.Corrected: _unit_changed,
        Campaign.Started: _settings, Campaign.SettingsChanged: _settings,
    }
    # A category, a local holiday or working day changes no figure (the due dates were
    # resolved when recorded).
    ignored = frozenset({Campaign.CategoryAdded, Campaign.LocalHolidayAdded,
                         Campaign.LocalWorkdayAdded})
    ignored_aggregates = (Account, AuditLog, Evaluation, IndicatorSystem, Person, TargetTask)

    def finish(self, rows: Rows, ctx: Context) -> None:
        moved = []
        for key in rows.changed("metric_tasks"):
            row = rows.get("metric_tasks", key)
            if row is not None and "items" not in row:
                new = task_row(key[0], row["events"], ctx)
                rows.put("metric_tasks", key, new)
                moved.append((row["before"], new["items"]))
        metric_aggregates.apply(rows, moved)


# The table each handled event's row is in.
TABLES = {**dict.fromkeys(events_of(Task), "metric_tasks"),
          **dict.fromkeys(events_of(Inspection), "metric_visits"),
          **dict.fromkeys(events_of(Survey), "metric_surveys"),
          **dict.fromkeys(events_of(Unit), "metric_units"),
          **dict.fromkeys(events_of(Campaign), "metric_settings")}
# A unit's events whose moment, corrected, moves the unit's month of registration or
# retirement.
UNIT_MOMENTS = {Unit.Registered.__name__: "registered", Unit.Retired.__name__: "retired"}


def local_month(iso: str, ctx: Context) -> str:
    return ctx.month(iso)


def compact(fact: Fact) -> dict[str, Any]:
    """What the metrics keep of a task event."""
    d = fact.data
    kept = {"v": fact.version, "k": fact.kind.split(".", 1)[1], "at": d["occurred_at"]}
    for name in TASK_FIELDS:
        if name in d:
            kept[name] = d[name]
    return kept


def task_row(task: str, events: list[dict[str, Any]], ctx: Context) -> dict[str, Any]:
    items, holder = derive(task, events, ctx)
    months = [m for i in items for m in (i["month"], i.get("to", i["month"]))]
    return {"task": task, "unit": holder, "month_lo": min(months), "month_hi": max(months),
            "events": events, "items": items}

