"""A :class:`~projections.metric_months.MonthBook` whose tallies are made from the stored
month rows (``projections.metric_aggregates``) rather than from every task's items."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from domain.months import month_add
from projections.metric_items import Item
from projections.metric_months import MonthBook, Tally
from projections.metric_sources import Source

_SOURCES: dict[str, Item] = {}
_DUE = {True: {"on_time": True}, False: {"on_time": False}}
_REINSPECTED = {True: {"failed": True}, False: {"failed": False}}
_VISIT: Item = {"kind": "visit"}


def _source(name: str) -> Item:
    found = _SOURCES.get(name)
    if found is None:
        found = _SOURCES[name] = {"source": name}
    return found


class StoredBook(MonthBook):
    """The tallies of chosen units over chosen months, made from the month rows: each
    tally's items carry what the figures read of them (not the tasks' events), so it
    serves figures, scores and the trend, not the list of a month's problems."""

    def _leaf_tallies(self, source: Source, everyone: set[str], lo: str, hi: str
                      ) -> dict[tuple[str, str], Tally]:
        months = self.months
        wanted = set(months)
        leaf: dict[tuple[str, str], Tally] = defaultdict(Tally)
        by_month: dict[tuple[str, str], dict[str, list[Any]]] = {}
        opened: list[tuple[str, str, str]] = []  # unit, first month, task
        closures: dict[tuple[str, Any, Any], list[tuple[datetime, str]]] = defaultdict(list)
        closed: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in source.month_rows(lo, hi):
            unit, month, data = row["unit"], row["month"], row["data"]
            if unit not in everyone:
                continue
            opened.extend((unit, month, task) for task in data.get("f", ()))
            if month < lo:
                continue
            by_month[(unit, month)] = data
            for task, at, category, location in data.get("c", ()):
                closures[(unit, category, location)].append(
                    (datetime.fromisoformat(at), task))
                closed[(unit, month)].append(task)
        for (unit, month), data in by_month.items():
            if month not in wanted:
                continue
            tally = leaf[(unit, month)]
            settings = self.settings[month]
            window = timedelta(days=settings.window_days)
            for task, at, source_name, category, location in data.get("a", ()):
                tally.assigned.append(_source(source_name))
                arrived = datetime.fromisoformat(at)
                if any(other != task and closed_at < arrived <= closed_at + window
                       for closed_at, other in closures.get((unit, category, location), ())):
                    tally.recurring.append({"task": task})
            tally.due.extend(_DUE[x] for x in data.get("d", ()))
            tally.reinspections.extend(_REINSPECTED[x] for x in data.get("r", ()))
            tally.verified.extend({"days": x} for x in data.get("v", ()))
            tally.responses.extend({"hours": x} for x in data.get("h", ()))
            tally.escalated.extend({"task": x} for x in data.get("e", ()))
            tally.reopened.extend({"task": x} for x in data.get("o", ()))
            tally.overdue.extend({"task": x} for x in data.get("s", ()))
        for unit, first, task in opened:
            for month in months:
                if month >= first:
                    leaf[(unit, month)].overdue.append({"task": task})
        for month in months:
            settings = self.settings[month]
            back = [month_add(month, -k) for k in range(1, settings.lookback_months + 1)]
            for unit in everyone:
                before = [t for m in back for t in closed.get((unit, m), ())]
                if before:
                    leaf[(unit, month)].closed_before.extend({"task": t} for t in before)
        visits = source.visit_counts(months[0], hi)
        for (unit, month), count in visits.items():
            if unit in everyone and month in wanted:
                leaf[(unit, month)].visits.extend([_VISIT] * count)
        for survey in source.surveys(everyone, months[0], hi):
            if survey["month"] in wanted:
                leaf[(survey["unit"], survey["month"])].surveys.append(
                    {**survey, "kind": "survey", "task": survey["survey"]})
        self._count_required(leaf, everyone)
        return leaf
