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
stay defined over a :class:`~projections.metric_months.Tally`; ``StoredBook``
(``projections.stored_book``) makes tallies from the rows whose items carry just what the
figures read, so the figures are those of the items
(``tests/tier2_ledger/test_metric_aggregates.py`` checks it for random histories, now and
as of a position, on both backends).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from domain.months import OPEN_END, month_add
from projections.metric_items import Item

if TYPE_CHECKING:
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

