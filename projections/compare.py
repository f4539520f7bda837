"""Comparing each maintained read model with its rebuild, in the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from projections.facts import Key
from projections.projection import Projection


@dataclass(frozen=True)
class Difference:
    """A row where a maintained table and its rebuild disagree."""

    projection: str
    table: str
    key: Key
    maintained: dict[str, Any] | None
    rebuilt: dict[str, Any] | None

    def describe(self) -> str:
        if self.rebuilt is None:
            return "only in the maintained table"
        if self.maintained is None:
            return "missing from the maintained table"
        return "; ".join(f"{c}: {self.maintained[c]!r} maintained, {self.rebuilt[c]!r} rebuilt"
                         for c in self.maintained if self.maintained[c] != self.rebuilt[c])


@dataclass(frozen=True)
class Verification:
    """The outcome of comparing each maintained projection with its rebuild."""

    positions: dict[str, int]
    counts: dict[str, int]  # per projection: rows (keys) that differ
    differences: list[Difference]  # the first few of them

    @property
    def equal(self) -> bool:
        return not any(self.counts.values())



def _comparable(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    # PostgreSQL's json has no equality operator, so EXCEPT cannot compare it as such.
    if isinstance(column.type, sa.JSON):
        return sa.cast(column, sa.Text).label(column.name)
    return column


def _compare(conn: Connection, projection: Projection, scratch: Projection,
             limit: int) -> tuple[int, list[Difference]]:
    """How many rows (by key) differ between a projection's tables and the scratch
    rebuild's, and the first ``limit`` differences. The comparison runs in the database
    (EXCEPT both ways), so only the differing rows come back."""
    total = 0
    found: list[Difference] = []
    for name, table in projection.tables.items():
        other = scratch.tables[name]
        ours = sa.select(*[_comparable(c) for c in table.columns])
        theirs = sa.select(*[_comparable(other.c[c.name]) for c in table.columns])
        sides: list[dict[Key, dict[str, Any] | None]] = []
        for query in (ours.except_(theirs), theirs.except_(ours)):
            side: dict[Key, dict[str, Any] | None] = {}
            for row in conn.execute(query).mappings():
                # Whole rows only for those that will be listed; keys for the count.
                side[projection.key_of(name, row)] = dict(row) if len(side) < limit else None
            sides.append(side)
        maintained, rebuilt = sides
        keys = maintained.keys() | rebuilt.keys()
        total += len(keys)
        for key in sorted(keys, key=str):
            if len(found) >= limit:
                break
            ours_row, theirs_row = maintained.get(key), rebuilt.get(key)
            if (key in maintained and ours_row is None) or (key in rebuilt
                                                             and theirs_row is None):
                continue  # beyond what was kept in full
            found.append(Difference(projection.name, table.name, key, ours_row, theirs_row))
    return total, found

