"""Projections: pure folds over the event log into SQL read models, with their positions.

A projection declares its tables, which rows a fact touches, and how a fact changes those
rows (``fold``). The engine does the rest, the same way for every projection:

- catching up: read the facts after the projection's position, load the rows they touch,
  fold, write the changed rows and the new position in one transaction — so every fact is
  applied exactly once, and a crash between batches resumes where the last commit left off;
- rebuilding from zero; folding in memory (for "as of" questions and for verification).

The fold sees plain data (the event's JSON with the library's type wrappers unwrapped), so
catching up costs little more than reading the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger.chain import Record

Key = tuple[Any, ...]
BATCH = 2000


@dataclass(frozen=True, slots=True)
class Fact:
    """One stored event as the projections see it."""

    position: int
    originator_id: str
    version: int
    kind: str  # "Task.Assigned", "Unit.Renamed", …
    data: dict[str, Any]
    recorded_at: str
    account: str

    @property
    def occurred_at(self) -> str:
        return self.data["occurred_at"]


def decode(record: Record) -> Fact:
    """A stored event as plain data: ``{"_type_": …, "_data_": v}`` becomes ``v``."""
    data = json.loads(record.state)
    for name, value in data.items():
        if type(value) is dict and "_type_" in value:
            data[name] = value["_data_"]
    return Fact(record.position, record.originator_id, record.originator_version,
                record.topic.rsplit(":", 1)[-1], data, record.recorded_at, record.account)


@dataclass
class Context:
    """What every fold may know besides the fact: the campaign's time zone."""

    zone: tzinfo

    def local(self, iso: str) -> datetime:
        return datetime.fromisoformat(iso).astimezone(self.zone)

    def local_date(self, iso: str) -> str:
        return self.local(iso).date().isoformat()


class Rows:
    """The rows a batch works on: loaded on demand, changed in memory, written at the end."""

    def __init__(self, loader: Callable[[str, list[Key]], dict[Key, dict[str, Any]]] | None
                 = None) -> None:
        self._rows: dict[str, dict[Key, dict[str, Any] | None]] = {}
        self._dirty: dict[str, set[Key]] = {}
        self._loader = loader

    def preload(self, wanted: dict[str, set[Key]]) -> None:
        for table, keys in wanted.items():
            cached = self._rows.setdefault(table, {})
            missing = [k for k in keys if k not in cached]
            if missing and self._loader is not None:
                found = self._loader(table, missing)
                for key in missing:
                    cached[key] = found.get(key)

    def get(self, table: str, key: Key) -> dict[str, Any] | None:
        return self._rows.setdefault(table, {}).get(key)

    def put(self, table: str, key: Key, row: dict[str, Any]) -> None:
        self._rows.setdefault(table, {})[key] = row
        self._dirty.setdefault(table, set()).add(key)

    def delete(self, table: str, key: Key) -> None:
        self._rows.setdefault(table, {})[key] = None
        self._dirty.setdefault(table, set()).add(key)

    def dirty(self) -> Iterator[tuple[str, list[Key], list[dict[str, Any]]]]:
        for table, keys in self._dirty.items():
            rows = self._rows[table]
            yield table, list(keys), [rows[k] for k in keys if rows[k] is not None]

    def table(self, table: str) -> dict[Key, dict[str, Any]]:
        """Every live row of a table (for a fold done wholly in memory)."""
        return {k: v for k, v in self._rows.get(table, {}).items() if v is not None}


class Projection:
    """A read model: tables, the rows each fact touches, and the fold."""

    name: str = ""
    kinds: frozenset[str] | None = None  # the fact kinds it folds (None: all)

    def __init__(self, prefix: str = "rm_") -> None:
        self.metadata = sa.MetaData()
        self.prefix = prefix
        self.tables: dict[str, sa.Table] = {}
        self.define()

    def table(self, name: str, *columns: sa.Column[Any], **kw: Any) -> sa.Table:
        table = sa.Table(self.prefix + name, self.metadata, *columns, **kw)
        self.tables[name] = table
        return table

    def define(self) -> None:
        """Declare the tables with :meth:`table`."""
        raise NotImplementedError

    def wants(self, fact: Fact) -> bool:
        return self.kinds is None or fact.kind in self.kinds

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        """The (table, key) rows the fold of ``fact`` reads or writes."""
        raise NotImplementedError

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """Change ``rows`` as ``fact`` says. Pure: no I/O, no clock."""
        raise NotImplementedError

    def key_of(self, name: str, row: dict[str, Any]) -> Key:
        return tuple(row[c.name] for c in self.tables[name].primary_key.columns)


POSITIONS = sa.Table(
    "rm_positions", sa.MetaData(),
    sa.Column("projection", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)


class Projector:
    """Keeps a set of projections current in one store."""

    def __init__(self, engine: Engine, read: Callable[[int, int | None], Iterator[Record]],
                 zone: Callable[[], tzinfo | None], projections: list[Projection]) -> None:
        self.engine = engine
        self.read = read
        self.zone = zone
        self.projections = projections
        self._created = False

    def create_tables(self) -> None:
        if self._created:
            return
        POSITIONS.metadata.create_all(self.engine)
        for projection in self.projections:
            projection.metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            known = {r[0] for r in conn.execute(sa.select(POSITIONS.c.projection))}
            for projection in self.projections:
                if projection.name not in known:
                    conn.execute(POSITIONS.insert().values(projection=projection.name,
                                                           position=0))
        self._created = True

    def positions(self) -> dict[str, int]:
        self.create_tables()
        with self.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(sa.select(POSITIONS))}

    def catch_up(self, upto: int | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
        """Bring every projection up to ``upto`` (default: the end of the log).
        Returns how many facts were folded."""
        self.create_tables()
        folded = 0
        while True:
            with self.engine.begin() as conn:
                done = self._step(conn, upto)
            if not done:
                return folded
            folded += done
            if progress:
                progress(done)

    def _step(self, conn: Connection, upto: int | None) -> int:
        # Taking the positions' rows for update first serialises concurrent catch-ups,
        # so two processes never fold the same facts.
        names = [p.name for p in self.projections]
        conn.execute(POSITIONS.update().where(POSITIONS.c.projection.in_(names))
                     .values(position=POSITIONS.c.position))
        at = {r[0]: r[1] for r in conn.execute(
            sa.select(POSITIONS).where(POSITIONS.c.projection.in_(names)))}
        start = min(at.values())
        facts = []
        for record in self.read(start, upto):
            facts.append(decode(record))
            if len(facts) >= BATCH:
                break
        if not facts:
            return 0
        zone = self.zone()
        assert zone is not None, "events exist, so the campaign does"
        ctx = Context(zone)
        for projection in self.projections:
            mine = [f for f in facts if f.position > at[projection.name]]
            if not mine:
                continue
            apply_facts(conn, projection, mine, ctx)
            conn.execute(POSITIONS.update()
                         .where(POSITIONS.c.projection == projection.name)
                         .values(position=facts[-1].position))
        return len(facts)

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Empty every projection's tables and fold the whole log again."""
        self.create_tables()
        with self.engine.begin() as conn:
            for projection in self.projections:
                for table in reversed(projection.metadata.sorted_tables):
                    conn.execute(table.delete())
                conn.execute(POSITIONS.update()
                             .where(POSITIONS.c.projection == projection.name)
                             .values(position=0))
        return self.catch_up(progress=progress)


def apply_facts(conn: Connection, projection: Projection, facts: list[Fact],
                ctx: Context) -> None:
    """Fold a batch of facts into a projection's tables through one load and one write."""
    wanted = [f for f in facts if projection.wants(f)]
    if not wanted:
        return
    rows = Rows(lambda name, keys: _load(conn, projection, name, keys))
    touched: dict[str, set[Key]] = {}
    for fact in wanted:
        for name, key in projection.touches(fact):
            touched.setdefault(name, set()).add(key)
    rows.preload(touched)
    for fact in wanted:
        projection.fold(rows, fact, ctx)
    for name, keys, live in rows.dirty():
        table = projection.tables[name]
        _delete(conn, table, keys)
        if live:
            conn.execute(table.insert(), live)


def fold_in_memory(projection: Projection, facts: Iterable[Fact],
                   ctx: Context) -> Rows:
    """The projection of exactly these facts, computed without touching the database."""
    rows = Rows()
    for fact in facts:
        if projection.wants(fact):
            projection.fold(rows, fact, ctx)
    return rows


def _pk(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


def _chunks(keys: list[Key], size: int = 400) -> Iterator[list[Key]]:
    for i in range(0, len(keys), size):
        yield keys[i:i + size]


def _match(table: sa.Table, keys: list[Key]) -> sa.ColumnElement[bool]:
    pk = _pk(table)
    if len(pk) == 1:
        return pk[0].in_([k[0] for k in keys])
    return sa.tuple_(*pk).in_(keys)


def _load(conn: Connection, projection: Projection, name: str,
          keys: list[Key]) -> dict[Key, dict[str, Any]]:
    table = projection.tables[name]
    found: dict[Key, dict[str, Any]] = {}
    for chunk in _chunks(keys):
        for row in conn.execute(sa.select(table).where(_match(table, chunk))).mappings():
            found[projection.key_of(name, dict(row))] = dict(row)
    return found


def _delete(conn: Connection, table: sa.Table, keys: list[Key]) -> None:
    for chunk in _chunks(keys):
        conn.execute(table.delete().where(_match(table, chunk)))
