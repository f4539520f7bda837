"""A unit's month kept as an aggregate of its tasks' metric items (``metric_months``), so
that the figures of many units over many months — a bulletin's rankings and its chart —
are read from one small row per unit and month instead of tallied from every task's items.

A row holds, per unit U (the unit an item names) and month M, what the figures need of
the items of U in M, each part a multiset kept as a sorted list (so a row is the same
whatever the order and batching of the fold):

- ``a``: the assignments, ``[task, at, source, category, location]`` (the counts by
  source, and the arrivals a recurrence is looked for among);
- ``c``: the closures as verified, ``[task, at, category, location]`` (the recurrence
  rate's closures before, and the closures a recurrence follows);
- ``d``: each due cycle's on-time flag; ``r``: each re-inspection's failed flag;
- ``v``: each verification's days; ``h``: each acknowledgement's hours;
- ``e``: each escalation's task; ``o``: each reopening's task;
- ``s``: the tasks overdue at the end of M by a span that ended (one entry per month of
  the span); ``f``: the tasks whose open overdue span begins in M (counted in every month
  from M on: an open span has no last month to stop at). ``open`` is their number, so
  that a reader finds the rows of open spans begun before the months it reads.

The metrics projection keeps the rows: each batch, a task's items before and after are
taken out of and put into them (:func:`apply`). Figures (``projections.metric_months``)
stay defined over a :class:`~projections.metric_months.Tally`; :class:`StoredBook` makes
tallies from the rows whose items carry just what the figures read, so the figures are
those of the items (``tests/tier2_ledger/test_metric_aggregates.py`` checks it for random
histories, now and as of a position, on both backends).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.evaluation import OPEN_END, first_day, month_add, month_of
from projections.metric_items import Item

if TYPE_CHECKING:
    from projections.metric_months import Tally, Units
    from projections.metric_sources import Source
    from projections.rows import Rows

TABLE = "metric_months"
PARTS = ("a", "c", "d", "r", "v", "h", "e", "o", "s", "f")
Entry = tuple[str, str, str, Any]  # unit, month, part, value


def define(projection: Any) -> None:
    """The table, declared in the metrics projection (which keeps it)."""
    import sqlalchemy as sa

    projection.table(
        TABLE,
        sa.Column("unit", sa.String(40), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("open", sa.Integer, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Index(f"{projection.prefix}metric_months_month", "month"),
    )


def entries(items: Iterable[Item]) -> Iterator[Entry]:
    """What a task's items put into the rows."""
    for i in items:
        kind, unit, month, task = i["kind"], i["unit"], i["month"], i["task"]
        if kind == "assigned":
            yield unit, month, "a", [task, i["at"], i["source"], i["category"], i["location"]]
        elif kind == "closed":
            yield unit, month, "c", [task, i["at"], i["category"], i["location"]]
        elif kind == "due":
            yield unit, month, "d", i["on_time"]
        elif kind == "reinspection":
            yield unit, month, "r", i["failed"]
        elif kind == "verified":
            yield unit, month, "v", i["days"]
        elif kind == "response":
            yield unit, month, "h", i["hours"]
        elif kind == "escalated":
            yield unit, month, "e", task
        elif kind == "reopened":
            yield unit, month, "o", task
        elif kind == "overdue":
            if i["to"] == OPEN_END:
                yield unit, month, "f", task
            else:
                m = month
                while m <= i["to"]:
                    yield unit, m, "s", task
                    m = month_add(m, 1)


def _order(value: Any) -> str:
    return repr(value)


def change(data: dict[tuple[str, str], dict[str, list[Any]]],
           taken: Iterable[Entry], put: Iterable[Entry]) -> None:
    """Take entries out of and put entries into rows' data (by unit and month)."""
    for unit, month, part, value in taken:
        data[(unit, month)][part].remove(value)
    for unit, month, part, value in put:
        row = data.get((unit, month))
        if row is None:
            row = data[(unit, month)] = {}
        row.setdefault(part, []).append(value)


def _held(value: Any) -> Any:
    """A value as a key of a count (an entry's list as a tuple)."""
    return tuple(value) if isinstance(value, list) else value


def apply(rows: Rows, changes: list[tuple[list[Item], list[Item]]]) -> None:
    """Each task's items before and after a batch, taken out of and put into the rows: only
    the rows whose entries changed on balance are written."""
    counts: dict[tuple[str, str], dict[str, Counter[Any]]] = defaultdict(
        lambda: defaultdict(Counter))
    for before, after in changes:
        if before == after:
            continue
        for unit, month, part, value in entries(before):
            counts[(unit, month)][part][_held(value)] -= 1
        for unit, month, part, value in entries(after):
            counts[(unit, month)][part][_held(value)] += 1
    moved = {key: {p: c for p, c in parts.items() if any(c.values())}
             for key, parts in counts.items()}
    moved = {key: parts for key, parts in moved.items() if parts}
    if not moved:
        return
    rows.preload({TABLE: set(moved)})
    for key, parts in moved.items():
        row = rows.get(TABLE, key)
        data = dict(row["data"]) if row else {}
        for part, delta in parts.items():
            held = Counter(map(_held, data.get(part, ())))
            held.update(delta)
            if any(n < 0 for n in held.values()):
                raise ValueError(f"{TABLE} {key} {part}: an entry taken out that was not in")
            values = [list(v) if isinstance(v, tuple) else v
                      for v, n in held.items() for _ in range(n)]
            if values:
                data[part] = sorted(values, key=_order)
            else:
                data.pop(part, None)
        if data:
            rows.put(TABLE, key, {"unit": key[0], "month": key[1],
                                  "open": len(data.get("f", ())),
                                  "data": dict(sorted(data.items()))})
        elif row is not None:
            rows.delete(TABLE, key)


def rows_of(data: dict[tuple[str, str], dict[str, list[Any]]], lo: str
            ) -> list[dict[str, Any]]:
    """Rows from their data by unit and month (the months from ``lo`` on, and those before
    with open overdue spans), as a source gives them."""
    found = []
    for (unit, month), parts in data.items():
        kept = {p: v for p, v in parts.items() if v}
        if kept and (month >= lo or kept.get("f")):
            found.append({"unit": unit, "month": month, "open": len(kept.get("f", ())),
                          "data": kept})
    return found


# --- tallies from the rows ----------------------------------------------------------------

_SOURCES: dict[str, Item] = {}
_DUE = {True: {"on_time": True}, False: {"on_time": False}}
_REINSPECTED = {True: {"failed": True}, False: {"failed": False}}
_VISIT: Item = {"kind": "visit"}


def _source(name: str) -> Item:
    found = _SOURCES.get(name)
    if found is None:
        found = _SOURCES[name] = {"source": name}
    return found


class StoredBook:
    """The tallies of chosen units over chosen months, made from the month rows: each
    tally's items carry what the figures read of them (not the tasks' events), so it
    serves figures, scores and the trend, not the list of a month's problems."""

    def __init__(self, source: Source, units: Units, scope: Collection[str],
                 months: Collection[str]) -> None:
        from projections.metric_months import Tally, settings_for

        self.units = units
        self.months = sorted(set(months))
        self.scope = sorted(set(scope))
        settings_rows = source.settings()
        self.settings = {m: settings_for(settings_rows, m) for m in self.months}
        members = {u: units.below(u) for u in self.scope}
        everyone = {c for codes in members.values() for c in codes}
        lo = min(min(month_add(m, -s.lookback_months),
                     month_of(first_day(m) - timedelta(days=s.window_days)))
                 for m, s in self.settings.items())
        hi = self.months[-1]
        leaf = self._leaf_tallies(source, everyone, lo, hi)
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
        from projections.metric_months import Tally

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

    def figures(self, unit: str, month: str) -> dict[str, Any]:
        from projections.metric_months import figures

        return figures(self.tallies[(unit, month)])
