"""Verifying the read models: each rebuilt into scratch tables beside the maintained one, and
the two compared in the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from projections.facts import Key
from projections.projection import Projection

if TYPE_CHECKING:
    from projections.engine import Projector


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



def verify(projector: Projector, scratch: list[Projection],
           progress: Callable[[int], None] | None, limit: int, batch: int) -> Verification:
    """Rebuild every projection from zero into ``scratch`` (the same projections with
    another table prefix) and compare each table with the maintained one, at the same
    position. The scratch tables are dropped afterwards."""
    from projections import engine

    pairs = {p.name: p for p in scratch}
    missing = [n for n in projector.names if n not in pairs]
    if missing:
        raise ValueError(f"no scratch projection for {', '.join(missing)}")
    projector.catch_up()
    for projection in scratch:
        projection.metadata.drop_all(projector.engine)
        projection.metadata.create_all(projector.engine)
    built = dict.fromkeys(projector.names, 0)
    try:
        while True:
            at = projector.positions()
            _fold_scratch(projector, pairs, built, at, progress, batch)
            with projector.engine.begin() as conn:
                # Holding the positions, nobody moves the maintained tables meanwhile.
                if engine._lock(conn, projector.names) != at:
                    continue
                counts: dict[str, int] = {}
                differences: list[Difference] = []
                for projection in projector.projections:
                    count, found = _compare(conn, projection, pairs[projection.name],
                                            limit - len(differences))
                    counts[projection.name] = count
                    differences.extend(found)
                return Verification(at, counts, differences)
    finally:
        for projection in scratch:
            projection.metadata.drop_all(projector.engine)


def _fold_scratch(projector: Projector, pairs: dict[str, Projection], built: dict[str, int],
                  at: dict[str, int], progress: Callable[[int], None] | None,
                  batch: int) -> None:
    """Fold the facts up to ``at`` into the scratch projections, each from where it is."""
    from projections import engine

    while True:
        behind = [built[n] for n in built if built[n] < at[n]]
        if not behind:
            return
        facts, _ = projector._facts(min(behind), max(at.values()), batch)
        if not facts:
            return
        ctx = projector._context()
        with engine._without_gc(), projector.engine.begin() as conn:
            for name, projection in pairs.items():
                mine = [f for f in facts if built[name] < f.position <= at[name]]
                if mine:
                    engine.apply_facts(conn, projection, mine, ctx)
        for name in built:
            built[name] = max(built[name], min(at[name], facts[-1].position))
        if progress:
            progress(len(facts))


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

