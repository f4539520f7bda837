"""Indicators, targets and surveys as read models, and completion rolled up the tree.

The fold keeps every adopted version of the indicator system, every target task with its
verified progress, and every survey. Completion is computed at query time (overdue depends
on the day asked) by :func:`roll_up`: each target counts for its indicator and every
indicator above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from i18n import _
from domain.base import NotFound
from domain.rounding import rounded
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

if TYPE_CHECKING:
    from projections.read import ReadSide

# What a correction of an event changes in a target's row, besides the fields it holds.
MOMENTS = {TargetTask.Assigned.__name__: "assigned_on",
           TargetTask.Completed.__name__: "completed_on"}


class IndicatorsProjection(Projection):
    """Versions of the indicator system, target tasks and surveys."""

    name = "indicators"

    def define(self) -> None:
        self.table("indicator_versions",
                   sa.Column("version", sa.Integer, primary_key=True),
                   sa.Column("name", sa.Text, nullable=False),
                   sa.Column("source", sa.Text, nullable=False),
                   sa.Column("note", sa.Text, nullable=False),
                   sa.Column("adopted_on", sa.String(10), nullable=False),
                   sa.Column("adopted_by", sa.String(40), nullable=False),
                   sa.Column("count", sa.Integer, nullable=False))
        self.table("indicators",
                   sa.Column("version", sa.Integer, primary_key=True),
                   sa.Column("code", sa.String(40), primary_key=True),
                   sa.Column("seq", sa.Integer, nullable=False),
                   sa.Column("parent", sa.String(40)),
                   sa.Column("title", sa.Text, nullable=False),
                   sa.Column("category", sa.Text, nullable=False),
                   sa.Column("points", sa.Float, nullable=False),
                   sa.Column("method", sa.Text, nullable=False))
        self.table("targets",
                   sa.Column("target_task", sa.String(16), primary_key=True),
                   sa.Column("indicator", sa.String(40), nullable=False, index=True),
                   sa.Column("indicator_version", sa.Integer, nullable=False),
                   sa.Column("unit", sa.String(40), nullable=False, index=True),
                   sa.Column("target", sa.Float, nullable=False),
                   sa.Column("measure", sa.String(4), nullable=False),
                   sa.Column("due", sa.String(10), nullable=False),
                   sa.Column("assigned_on", sa.String(10), nullable=False),
                   sa.Column("verified", sa.Float, nullable=False),
                   sa.Column("pending", sa.Float),
                   sa.Column("reports", sa.Integer, nullable=False),
                   sa.Column("rejected", sa.Integer, nullable=False),
                   sa.Column("state", sa.String(12), nullable=False),
                   sa.Column("completed_on", sa.String(10)))
        self.table("surveys",
                   sa.Column("survey", sa.String(16), primary_key=True),
                   sa.Column("unit", sa.String(40), nullable=False, index=True),
                   sa.Column("month", sa.String(7), nullable=False, index=True),
                   sa.Column("awareness", sa.Float, nullable=False),
                   sa.Column("participation", sa.Float, nullable=False),
                   sa.Column("satisfaction", sa.Float, nullable=False),
                   sa.Column("sample", sa.Integer, nullable=False),
                   sa.Column("source", sa.Text, nullable=False),
                   sa.Column("method", sa.Text, nullable=False),
                   sa.Column("surveyed_on", sa.String(10), nullable=False))

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        if fact.event is IndicatorSystem.VersionAdopted:
            number = fact.data["number"]
            return [("indicator_versions", (number,))] + [
                ("indicators", (number, i["code"])) for i in fact.data["indicators"]]
        return [(TABLES[fact.event], (fact.originator_id,))]

    def _adopted(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        rows.put("indicator_versions", (d["number"],), {
            "version": d["number"], "name": d["name"], "source": d["source"],
            "note": d["note"], "adopted_on": ctx.local_date(fact.occurred_at),
            "adopted_by": d["actor"], "count": len(d["indicators"])})
        for seq, i in enumerate(d["indicators"]):
            rows.put("indicators", (d["number"], i["code"]), {
                "version": d["number"], "seq": seq, **i})

    def _surveyed(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        rows.put("surveys", (fact.originator_id,), {
            "survey": fact.originator_id, "surveyed_on": ctx.local_date(fact.occurred_at),
            **{k: d[k] for k in ("unit", "month", "awareness", "participation",
                                 "satisfaction", "sample", "source", "method")}})

    def _withdrawn(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        rows.delete(TABLES[fact.event], (fact.originator_id,))  # it counts no more

    def _corrected(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        table, key = TABLES[fact.event], (fact.originator_id,)
        found = rows.get(table, key)
        if found is not None:
            rows.put(table, key, _corrected_row(found, fact, ctx, table))

    def _assigned(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        rows.put("targets", (fact.originator_id,), {
            "target_task": fact.originator_id, "indicator": d["indicator"],
            "indicator_version": d["indicator_version"], "unit": d["unit"],
            "target": d["target"], "measure": d["measure"], "due": d["due"],
            "assigned_on": ctx.local_date(fact.occurred_at), "verified": 0.0,
            "pending": None, "reports": 0, "rejected": 0, "state": "open",
            "completed_on": None})

    def _reported(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, pending=fact.data["value"], reports=fact.data["report"])

    def _verified(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, pending=None, verified=fact.data["value"])

    def _rejected(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        row = rows.get("targets", (fact.originator_id,)) or {}
        self._change(rows, fact, pending=None, rejected=row["rejected"] + 1)

    def _completed(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, state="completed",
                     completed_on=ctx.local_date(fact.occurred_at))

    def _reassigned(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, unit=fact.data["unit"])

    def _due_extended(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        self._change(rows, fact, due=fact.data["due"])

    def _change(self, rows: Rows, fact: Fact, **changes: Any) -> None:
        """The target's row, with these columns changed."""
        key = (fact.originator_id,)
        rows.put("targets", key, {**(rows.get("targets", key) or {}), **changes})

    handlers = {
        IndicatorSystem.VersionAdopted: _adopted,
        TargetTask.Assigned: _assigned,
        TargetTask.ProgressReported: _reported, TargetTask.ProgressVerified: _verified,
        TargetTask.ProgressRejected: _rejected, TargetTask.Completed: _completed,
        TargetTask.Reassigned: _reassigned, TargetTask.DueExtended: _due_extended,
        TargetTask.Corrected: _corrected, TargetTask.Withdrawn: _withdrawn,
        Survey.Recorded: _surveyed, Survey.Corrected: _corrected,
        Survey.Withdrawn: _withdrawn,
    }
    ignored = frozenset({IndicatorSystem.Opened})
    ignored_aggregates = (Account, AuditLog, Campaign, Evaluation, Inspection, Person, Task,
                          Unit)


# The table each target's and survey's event changes.
TABLES = {**{cls: "targets" for cls in (
              TargetTask.Assigned, TargetTask.ProgressReported, TargetTask.ProgressVerified,
              TargetTask.ProgressRejected, TargetTask.Completed, TargetTask.Reassigned,
              TargetTask.DueExtended, TargetTask.Corrected, TargetTask.Withdrawn)},
          **{cls: "surveys" for cls in (Survey.Recorded, Survey.Corrected,
                                        Survey.Withdrawn)}}


def _corrected_row(row: dict[str, Any], fact: Fact, ctx: Context, table: str
                   ) -> dict[str, Any]:
    event, changes = corrected(fact)
    row = dict(row)
    for name, value in changes.items():
        if name == "occurred_at":
            column = "surveyed_on" if table == "surveys" else MOMENTS.get(event)
            if column is not None:
                row[column] = ctx.local_date(value)
        elif name in row and name not in ("survey", "target_task"):
            row[name] = value
    return row


# --- completion over the tree ------------------------------------------------------------


@dataclass
class Completion:
    """How far the targets under an indicator (or of a unit) have come."""

    targets: int = 0
    met: int = 0
    overdue: int = 0
    ratio: Fraction = Fraction(0)  # sum over targets of verified ÷ target, capped at 1
    measures: set[str] = field(default_factory=set)
    target_sum: Fraction = Fraction(0)
    verified_sum: Fraction = Fraction(0)

    def add(self, target: dict[str, Any], on: date) -> None:
        goal, done = Fraction(target["target"]), Fraction(target["verified"])
        self.targets += 1
        self.met += target["state"] == "completed"
        self.overdue += is_overdue(target, on)
        self.ratio += min(done / goal, Fraction(1))
        self.measures.add(target["measure"])
        self.target_sum += goal
        self.verified_sum += done

    @property
    def percent(self) -> float | None:
        """Mean completion of the targets, in percent (None where there are none)."""
        if not self.targets:
            return None
        return one_decimal(self.ratio * 100 / self.targets)

    def amount(self) -> str:
        """Verified ÷ target, where the figures add up: one measure, and a rate only for a
        single target."""
        if len(self.measures) != 1:
            return ""
        (measure,) = self.measures
        if measure == "%" and self.targets != 1:
            return ""
        return f"{_number(self.verified_sum)}/{_number(self.target_sum)} {measure}"


def is_overdue(target: dict[str, Any], on: date) -> bool:
    """Not completed by the end of ``on`` and past its due date."""
    completed = target.get("completed_on")
    if completed is not None and completed <= on.isoformat():
        return False
    return on.isoformat() > target["due"]


def roll_up(parents: dict[str, str | None], targets: Iterable[dict[str, Any]],
            on: date) -> tuple[dict[str, Completion], list[dict[str, Any]]]:
    """Completion for every indicator, counting each target for its indicator and every
    ancestor; and the targets whose indicator is not in the tree."""
    done = {code: Completion() for code in parents}
    outside = []
    for target in targets:
        code: str | None = target["indicator"]
        if code not in parents:
            outside.append(target)
            continue
        while code is not None:
            done[code].add(target, on)
            code = parents[code]
    return done, outside


def tree_order(indicators: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], int]]:
    """Indicators depth-first in the order given, each with its depth."""
    children: dict[str | None, list[dict[str, Any]]] = {}
    for indicator in indicators:
        children.setdefault(indicator["parent"], []).append(indicator)
    stack = [(i, 0) for i in reversed(children.get(None, []))]
    while stack:
        indicator, depth = stack.pop()
        yield indicator, depth
        stack.extend((c, depth + 1) for c in reversed(children.get(indicator["code"], [])))


def subtree(indicators: list[dict[str, Any]], code: str) -> set[str]:
    children: dict[str | None, list[str]] = {}
    for indicator in indicators:
        children.setdefault(indicator["parent"], []).append(indicator["code"])
    found, frontier = set(), [code]
    while frontier:
        current = frontier.pop()
        found.add(current)
        frontier.extend(children.get(current, []))
    return found


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def one_decimal(value: Fraction) -> float:
    """A figure to one decimal, halves rounded up (91.25 → 91.3), as reports round."""
    return rounded(value, 1)


def weighted_rates(surveys: list[dict[str, Any]]) -> dict[str, Any]:
    """Several surveys as one: each rate weighted by its sample (rounded to 0.1)."""
    sample = sum(s["sample"] for s in surveys)
    figures: dict[str, Any] = {"surveys": len(surveys), "sample": sample}
    for rate in ("awareness", "participation", "satisfaction"):
        total = sum(Fraction(s[rate]) * s["sample"] for s in surveys)
        figures[rate] = one_decimal(total / sample) if sample else None
    return figures


# --- queries -----------------------------------------------------------------------------


class IndicatorQueries:
    """Questions about indicators, targets and surveys, over the read side's projection
    (kept current, or as of a moment where the read side is)."""

    def __init__(self, read: ReadSide) -> None:
        self.read = read
        projection = read.projections["indicators"]
        assert isinstance(projection, IndicatorsProjection)
        self.projection = projection

    def _select(self, query: Any) -> list[dict[str, Any]]:
        self.read.current()
        with self.read.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def latest_version(self) -> int:
        versions = self.projection.tables["indicator_versions"]
        rows = self._select(sa.select(sa.func.max(versions.c.version).label("v")))
        if not rows or rows[0]["v"] is None:
            raise NotFound("尚未导入测评体系：请运行 'taizhang indicators import FILE'")
        return int(rows[0]["v"])

    def indicators(self, version: int | None = None) -> tuple[int, list[dict[str, Any]]]:
        """The indicators of a version (default the latest), in the order imported."""
        latest = self.latest_version()
        number = latest if version is None else version
        if not 1 <= number <= latest:
            raise NotFound("未知的测评体系版本：{number}（现有第 1 至第 {latest} 版）",
                           number=number, latest=latest)
        table = self.projection.tables["indicators"]
        return number, self._select(sa.select(table).where(table.c.version == number)
                                    .order_by(table.c.seq))

    def targets(self, *, unit: str | None = None, code: str | None = None,
                overdue: bool = False) -> list[dict[str, Any]]:
        """Target tasks (of a unit and the units below it; of an indicator and those below
        it in the latest version), with overdue as of today."""
        table = self.projection.tables["targets"]
        query = sa.select(table).order_by(table.c.target_task)
        if unit:
            query = query.where(table.c.unit.in_(self.read.unit_and_descendants(unit)))
        rows = self._select(query)
        if code:
            _, indicators = self.indicators()
            if code not in {i["code"] for i in indicators}:
                raise NotFound("未知的指标编码：{code}", code=code)
            below = subtree(indicators, code)
            rows = [r for r in rows if r["indicator"] in below]
        today = self.read.today()
        for row in rows:
            row["overdue"] = is_overdue(row, today)
        return [r for r in rows if r["overdue"]] if overdue else rows

    def status(self, *, unit: str | None = None, code: str | None = None,
               version: int | None = None, by: str = "indicator") -> list[dict[str, Any]]:
        """Completion by indicator (rolled up the tree) or by unit."""
        number, indicators = self.indicators(version)
        if code and code not in {i["code"] for i in indicators}:
            raise NotFound("未知的指标编码：{code}（在第 {version} 版中）", code=code, version=number)
        targets = self.targets(unit=unit)
        today = self.read.today()
        if by == "unit":
            if code:
                below = subtree(indicators, code)
                targets = [t for t in targets if t["indicator"] in below]
            per_unit: dict[str, Completion] = {}
            for target in targets:
                per_unit.setdefault(target["unit"], Completion()).add(target, today)
            return [_row(done, unit=u) for u, done in sorted(per_unit.items())]
        parents = {i["code"]: i["parent"] for i in indicators}
        done, outside = roll_up(parents, targets, today)
        shown = subtree(indicators, code) if code else set(parents)
        rows = [_row(done[i["code"]], code=i["code"], title=i["title"], depth=depth)
                for i, depth in tree_order(indicators) if i["code"] in shown]
        if outside and not code:
            rest = Completion()
            for target in outside:
                rest.add(target, today)
            rows.append(_row(rest, code="", title=_("（不在第 {version} 版中）").format(version=number), depth=0))
        return rows

    def surveys(self, *, unit: str | None = None,
                month: str | None = None) -> list[dict[str, Any]]:
        table = self.projection.tables["surveys"]
        query = sa.select(table).order_by(table.c.month, table.c.unit, table.c.survey)
        if unit:
            query = query.where(table.c.unit.in_(self.read.unit_and_descendants(unit)))
        if month:
            query = query.where(table.c.month == month)
        return self._select(query)

    def survey_figures(self, month: str) -> dict[str, dict[str, Any]]:
        """Each surveyed unit's rates for a month (its surveys weighted by sample): the
        figures a scoring rule may weight or deduct by."""
        by_unit: dict[str, list[dict[str, Any]]] = {}
        for survey in self.surveys(month=month):
            by_unit.setdefault(survey["unit"], []).append(survey)
        return {u: weighted_rates(s) for u, s in sorted(by_unit.items())}


def _row(done: Completion, **key: Any) -> dict[str, Any]:
    return {**key, "targets": done.targets, "met": done.met, "overdue": done.overdue,
            "percent": done.percent, "amount": done.amount()}
