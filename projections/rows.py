"""The rows a batch of facts works on, and how they go to and from the database: loaded
by key, written as deletes and inserts (on SQLite straight through its driver, which costs
less than SQLAlchemy's statement building and row processing)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from projections.facts import Key, loads

if TYPE_CHECKING:  # SQLAlchemy is loaded by what reads or writes rows in the database
    import sqlalchemy as sa
    from sqlalchemy.engine import Connection

    from projections.projection import Projection


class Rows:
    """The rows a batch works on: loaded on demand, changed in memory, written at the end.

    It remembers which rows the database already holds, so that a batch deletes only rows
    that exist and inserts the rest (a row a fold creates need not be loaded first)."""

    def __init__(self, loader: Callable[[str, list[Key]], dict[Key, dict[str, Any]]] | None
                 = None) -> None:
        self._rows: defaultdict[str, dict[Key, dict[str, Any] | None]] = defaultdict(dict)
        self._stored: defaultdict[str, set[Key]] = defaultdict(set)
        # The keys changed, in the order first changed (a dict: ordered, unlike a set), so
        # that rows are written in the order the facts made them: on SQLite, in key order
        # for keys that grow, as the event index's positions do.
        self._dirty: defaultdict[str, dict[Key, None]] = defaultdict(dict)
        self._loader = loader

    def preload(self, wanted: dict[str, set[Key]]) -> None:
        for table, keys in wanted.items():
            cached = self._rows[table]
            missing = [k for k in keys if k not in cached]
            if missing and self._loader is not None:
                found = self._loader(table, missing)
                stored = self._stored[table]
                for key in missing:
                    row = found.get(key)
                    cached[key] = row
                    if row is not None:
                        stored.add(key)

    def get(self, table: str, key: Key) -> dict[str, Any] | None:
        return self._rows[table].get(key)

    def put(self, table: str, key: Key, row: dict[str, Any]) -> None:
        self._rows[table][key] = row
        self._dirty[table][key] = None

    def delete(self, table: str, key: Key) -> None:
        self._rows[table][key] = None
        self._dirty[table][key] = None

    def take(self, tables: Iterable[str]) -> Rows:
        """Move these tables' rows out, to be written now, and forget them here."""
        taken = Rows()
        for table in tables:
            if table in self._rows:
                taken._rows[table] = self._rows.pop(table)
                taken._stored[table] = self._stored.pop(table, set())
                taken._dirty[table] = self._dirty.pop(table, {})
        return taken

    def changes(self) -> Iterator[tuple[str, list[Key], list[dict[str, Any]]]]:
        """Per table: the stored keys to delete, and the live rows to insert."""
        for table, keys in self._dirty.items():
            rows = self._rows[table]
            stored = self._stored[table]
            yield (table, [k for k in keys if k in stored],
                   [row for k in keys if (row := rows[k]) is not None])

    def changed(self, table: str) -> list[Key]:
        """The keys of a table's rows put or deleted so far in this batch."""
        return list(self._dirty[table])

    def table(self, table: str) -> dict[Key, dict[str, Any]]:
        """Every live row of a table (for a fold done wholly in memory)."""
        return {k: v for k, v in self._rows[table].items() if v is not None}



def write_rows(conn: Connection, projection: Projection, rows: Rows) -> None:
    """Write what changed in ``rows``: stale rows deleted, live rows inserted."""
    for name, stale, live in rows.changes():
        table = projection.tables[name]
        _delete(conn, table, stale)
        if live:
            _insert(conn, table, live)


def _loader(conn: Connection, projection: Projection
            ) -> Callable[[str, list[Key]], dict[Key, dict[str, Any]]]:
    return lambda name, keys: _load(conn, projection, name, keys)




def _pk(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


def _chunks(keys: list[Key], size: int = 500) -> Iterator[list[Key]]:
    for i in range(0, len(keys), size):
        yield keys[i:i + size]


def _match(table: sa.Table, keys: list[Key]) -> sa.ColumnElement[bool]:
    import sqlalchemy as sa

    pk = _pk(table)
    if len(pk) == 1:
        return pk[0].in_([k[0] for k in keys])
    return sa.tuple_(*pk).in_(keys)


def _load(conn: Connection, projection: Projection, name: str,
          keys: list[Key]) -> dict[Key, dict[str, Any]]:
    table = projection.tables[name]
    found: dict[Key, dict[str, Any]] = {}
    if _plain_sqlite(conn):
        # SQLAlchemy's statement building and row processing cost more than the query.
        names, processors, key_of = _sqlite_reading(table)
        for chunk in _chunks(keys):
            for row in conn.exec_driver_sql(_sqlite_select(table, len(chunk)),
                                            tuple(v for key in chunk for v in key)):
                if processors:
                    row = list(row)
                    for i, process in processors:
                        if row[i] is not None:
                            row[i] = process(row[i])
                found[key_of(row)] = dict(zip(names, row))
        return found
    import sqlalchemy as sa

    for chunk in _chunks(keys):
        for row in conn.execute(sa.select(table).where(_match(table, chunk))).mappings():
            found[projection.key_of(name, dict(row))] = dict(row)
    return found


def _plain_sqlite(conn: Connection) -> bool:
    """Whether rows may go to and from the database through SQLite's driver, converted as
    a default SQLite dialect converts them."""
    dialect: Any = conn.dialect
    return (dialect.name == "sqlite" and dialect._json_serializer is None
            and dialect._json_deserializer is None)


Processors = list[tuple[int, Callable[[Any], Any]]]


def _kept(table: sa.Table, name: str, make: Callable[[], Any]) -> Any:
    """Something derived from a table's definition, made once and kept with the table."""
    found = table.info.get(name)
    if found is None:
        found = table.info[name] = make()
    return found


def _sqlite_reading(table: sa.Table) -> tuple[list[str], Processors, Callable[[Any], Key]]:
    """A table's column names, the conversions its stored values need on SQLite (JSON
    parsed, booleans made so), and the key of a row as read."""
    def make() -> tuple[list[str], Processors, Callable[[Any], Key]]:
        import sqlalchemy as sa
        import sqlalchemy.dialects.sqlite

        columns = list(table.columns)
        processors: Processors = []
        dialect = sa.dialects.sqlite.dialect()
        for i, column in enumerate(columns):
            if isinstance(column.type, sa.JSON):
                processors.append((i, loads))
                continue
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                processors.append((i, process))
        positions = [columns.index(c) for c in table.primary_key.columns]
        return ([c.name for c in columns], processors,
                lambda row: tuple(row[i] for i in positions))
    return _kept(table, "sqlite_reading", make)  # type: ignore[no-any-return]


def _sqlite_select(table: sa.Table, count: int) -> str:
    """The SELECT of ``count`` rows of a table by key, for SQLite's driver."""
    statements = _kept(table, "sqlite_select", dict)
    found = statements.get(count)
    if found is None:
        names = ", ".join(f'"{c.name}"' for c in table.columns)
        pk = [f'"{c.name}"' for c in table.primary_key.columns]
        if len(pk) == 1:
            where = f"{pk[0]} IN ({', '.join('?' * count)})"
        else:
            row = "(" + ", ".join("?" * len(pk)) + ")"
            where = f"({', '.join(pk)}) IN (VALUES {', '.join([row] * count)})"
        found = statements[count] = f'SELECT {names} FROM "{table.name}" WHERE {where}'
    return found  # type: ignore[no-any-return]


def _insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if not _plain_sqlite(conn):
        conn.execute(table.insert(), rows)  # PostgreSQL: multi-row VALUES batches
        return
    statement, values, processors = _sqlite_insert(table)
    if not processors:
        conn.exec_driver_sql(statement, [values(row) for row in rows])
        return
    params = []
    for row in rows:
        param = list(values(row))
        for i, process in processors:
            param[i] = process(param[i])
        params.append(tuple(param))
    conn.exec_driver_sql(statement, params)


def _sqlite_insert(table: sa.Table) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]],
                                             Processors]:
    """An INSERT to hand to SQLite's driver directly, the values of a row in its order, and
    the conversions SQLAlchemy would make (JSON encoded as SQLAlchemy encodes it; text,
    numbers and booleans go as they are): SQLAlchemy's per-row parameter processing costs
    more than SQLite's insert itself."""
    def make() -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], Processors]:
        import sqlalchemy as sa
        import sqlalchemy.dialects.sqlite

        plain = (sa.String, sa.Integer, sa.Float, sa.Boolean)
        dialect = sa.dialects.sqlite.dialect()
        processors: Processors = []
        for i, column in enumerate(table.columns):
            if isinstance(column.type, plain) and not isinstance(column.type, sa.Enum):
                continue
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((i, process))
        names = [c.name for c in table.columns]
        values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        quoted = ", ".join(f'"{name}"' for name in names)
        marks = ", ".join("?" for _ in names)
        return f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})', values, processors
    return _kept(table, "sqlite_insert", make)  # type: ignore[no-any-return]


def _delete(conn: Connection, table: sa.Table, keys: list[Key]) -> None:
    for chunk in _chunks(keys):
        conn.execute(table.delete().where(_match(table, chunk)))

