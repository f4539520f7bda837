"""A month's bulletin collected from a source of metrics (as it stands, or as published):
the totals, every level's ranking, the overdue and recurring problems, and the last twelve
months' chart: the rankings and the chart from one book of every unit's tallies over those
months, made from the units' month rows; the totals and the problems from the month's
items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.months import last_day, month_add, months_between
from ledger.evaluation import RulesVersion
from projections.bulletin import LABELS, Bulletin
from projections.evaluation import LEVELS, Evaluator, RulesFor
from projections.stored_book import StoredBook
from projections.scored import Shared
from projections.metrics import MonthBook, Source, Tally, Units, figures

TREND_MONTHS = 12  # the chart's months, the bulletin's month the last


def gather(evaluator: Evaluator, source: Source, month: str, rules_for: RulesFor, *,
           lang: str, campaign: str, position: int, head: str,
           published_at: str | None) -> Bulletin:
    """Collect a month's bulletin from a source of metrics (current or as published).

    One book of every unit's tallies over the chart's twelve months, made from the units'
    month rows (``projections.metric_aggregates``), serves the rankings (the month and the
    one before) and the chart: each unit's month is figured and scored once. The totals
    and the month's problems are tallied from the month's items."""
    rules_for = _remembered(rules_for)
    units = Units(source.units())
    window = months_between(month_add(month, 1 - TREND_MONTHS), month)
    shared = Shared(StoredBook(source, units, sorted(units.rows), window), units) \
        if units.rows else None
    roots = [c for c, row in units.rows.items() if row["parent"] is None
             and units.active(c, month)]
    whole = Tally()
    items = MonthBook(source, units, roots, [month]) if roots else None
    for root in roots:
        whole.merge(items.tally(root, month))  # type: ignore[union-attr]
    rankings = {level: r for level, r in
                evaluator.rankings(source, month, LEVELS, rules_for, shared=shared).items()
                if r.placements}
    details = _task_details(items.task_rows if items else [])
    end = last_day(month)
    overdue = sorted(({**details.get(i["task"], {}), "unit": i["unit"],
                       "name": units.rows[i["unit"]]["name"], "task": i["task"],
                       "deadline": i["deadline"],
                       "days": (end - date.fromisoformat(i["deadline"])).days}
                      for i in whole.overdue), key=lambda r: (r["unit"], -r["days"], r["task"]))
    recurring = sorted(
        [{**details.get(i["task"], {}), "unit": i["unit"],
          "name": units.rows[i["unit"]]["name"], "task": i["task"], "at": i["at"],
          "how": LABELS[lang]["reopened"]} for i in whole.reopened]
        + [{**details.get(i["task"], {}), "unit": i["unit"],
            "name": units.rows[i["unit"]]["name"], "task": i["task"], "at": i["at"],
            "how": LABELS[lang]["recurring_after"].format(
                task=i["after"]["task"], days=_days_between(i["after"]["at"], i["at"]))}
           for i in whole.recurring], key=lambda r: (r["unit"], r["at"], r["task"]))
    rules = rules_for(month)
    trend = evaluator.trend(source, month, rules_for, TREND_MONTHS, shared=shared) \
        if shared else {}
    return Bulletin(month, lang, campaign, position, head, published_at, rules.version,
                    rules.rules.name, figures(whole), rankings, overdue, recurring,
                    _worked(trend, shared))


def _remembered(rules_for: RulesFor) -> RulesFor:
    """``rules_for``, asked once per month (each asking reads the evaluation book)."""
    known: dict[str, RulesVersion] = {}

    def remembered(month: str) -> RulesVersion:
        if month not in known:
            known[month] = rules_for(month)
        return known[month]
    return remembered


def _worked(trend: dict[str, list[dict[str, Any]]], shared: Shared | None
            ) -> dict[str, list[dict[str, Any]]]:
    """The trend from the first month in which any work was recorded (a task assigned or
    an inspection visit): before the campaign began there is nothing to score, and every
    level would show the rules' score of an idle month."""
    months = sorted({p["month"] for series in trend.values() for p in series})
    if not months or shared is None:
        return trend
    roots = [c for c, row in shared.units.rows.items() if row["parent"] is None]
    if not roots:
        return trend
    began = next((m for m in months for r in roots
                  if shared.tallies[(r, m)].assigned or shared.tallies[(r, m)].visits), None)
    if began is None:
        return {}
    return {level: kept for level, series in trend.items()
            if (kept := [p for p in series if p["month"] >= began])}


def _days_between(earlier: str, later: str) -> int:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).days


def _task_details(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Category, location and source of tasks (those whose items the month's were)."""
    found = {}
    for row in rows:
        assigned = next(i for i in row["items"] if i["kind"] == "assigned")
        found[row["task"]] = {"category": assigned["category"],
                              "location": assigned["location"], "source": assigned["source"]}
    return found
