"""A unit's month from the metrics' items: the tally of what it is made of, the figures'
definitions over it (:data:`METRICS`), the units' tree, and the book that computes months
from a :class:`~projections.metric_sources.Source`."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from domain.figures import FIGURES
from domain.months import first_day, month_add, month_of
from projections.metric_items import SURVEY_RATES, Item
from projections.metric_sources import Source


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
        self.task_rows = source.tasks(everyone, lo, hi)  # the tasks the items are of
        # The look-back months of each month's recurrence rate, worked out once.
        lookbacks = [(m, month_add(m, -self.settings[m].lookback_months), month_add(m, -1))
                     for m in months]
        for row in self.task_rows:
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
                    for m, first, last in lookbacks:
                        if first <= month <= last:
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
        self._count_required(leaf, everyone)
        return leaf

    def _count_required(self, leaf: dict[tuple[str, str], Tally],
                        everyone: Iterable[str]) -> None:
        """Each bottom unit's required inspections and itself, in each month it is active."""
        for code in everyone:
            if self.units.children.get(code):
                continue  # required inspections are those of the units at the bottom
            for month in self.months:
                if self.units.active(code, month):
                    leaf[(code, month)].required += self.settings[month].required
                    leaf[(code, month)].units += 1

    def tally(self, unit: str, month: str) -> Tally:
        return self.tallies[(unit, month)]

    def figures(self, unit: str, month: str) -> dict[str, int | float | Fraction | None]:
        return figures(self.tallies[(unit, month)])
