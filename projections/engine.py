"""Projections: pure folds over the event log into SQL read models, with their positions.

A projection declares its tables, which rows a fact touches, and how a fact changes those
rows (``fold``). The engine does the rest, the same way for every projection:

- catching up: read the facts after the projection's position, load the rows they touch,
  fold, write the changed rows and the new position in one transaction — so every fact is
  applied exactly once, and a crash between batches resumes where the last commit left off.
  Each batch first locks the projections' position rows, so two processes catching up at
  once take turns and never fold the same facts twice;
- rebuilding from zero; folding in memory (for "as of" questions);
- verifying: rebuilding into scratch tables beside the maintained ones and comparing them
  in the database.

The fold sees plain data (the event's JSON with the library's type wrappers unwrapped), so
catching up costs little more than reading the log.
"""

from __future__ import annotations

import gc
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
import sqlalchemy.dialects.sqlite
import sqlalchemy.exc
from sqlalchemy.engine import Connection, Engine

from ledger.chain import GENESIS, Record, Tampered
from ledger.store import CREATION_LOCK
from projections.positions import POSITIONS, Standing, add_hash_column

Key = tuple[Any, ...]
BATCH = 2000
REBUILD_BATCH = 5000
# A rebuild writes its rows every this many facts: an open task's rows (a metric task's
# is kilobytes of JSON) are changed by many batches in a busy city, and are loaded and
# written once per window rather than once per batch.
REBUILD_WINDOW = 10_000
CREATE_ATTEMPTS = 5


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


_KINDS: dict[str, str] = {}
# orjson reads an integer beyond 64 bits as a float, where json keeps it exact: text with
# a run of 19 digits or more is left to json (found by turning every digit into a 0).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def loads(text: bytes | str) -> Any:
    """``json.loads``, three times faster: orjson where it gives the same values, json for
    what orjson reads otherwise (integers beyond 64 bits) or refuses (NaN, lone
    surrogates, encodings other than UTF-8)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def decode(record: Record) -> Fact:
    """A stored event as plain data: ``{"_type_": …, "_data_": v}`` becomes ``v``. One
    that is not what the ledger writes (changed in the database) is refused."""
    try:
        data = loads(record.state)
        for name, value in data.items():
            if value.__class__ is dict and "_type_" in value:
                data[name] = value["_data_"]
    except (ValueError, TypeError, AttributeError, KeyError):
        raise Tampered(f"the stored event at position {record.position} cannot be read"
                       ) from None
    kind = _KINDS.get(record.topic)
    if kind is None:
        kind = _KINDS[record.topic] = record.topic.rsplit(":", 1)[-1]
    return Fact(record.position, record.originator_id, record.originator_version, kind, data,
                record.recorded_at, record.account)


@contextmanager
def _without_gc() -> Iterator[None]:
    """Hold off the cyclic garbage collector while a batch is folded: a batch's thousands
    of young dicts would otherwise trigger collections that scan them again and again (a
    third of a rebuild's time), and folds make no reference cycles for it to find."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Context:
    """What every fold may know besides the fact: the campaign's time zone."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        # Events of one command, and of one write, share their moments: each is parsed
        # and converted once.
        self.moment = lru_cache(maxsize=16384)(self._moment)
        self.local = lru_cache(maxsize=16384)(self._local)

    def month(self, iso: str) -> str:
        """The calendar month of a moment in the campaign's zone (YYYY-MM)."""
        return self.moment(iso)[1][:7]

    def local_date(self, iso: str) -> str:
        """The calendar date of a moment in the campaign's zone (YYYY-MM-DD)."""
        return self.moment(iso)[1]

    def day_number(self, iso: str) -> int:
        """The local calendar day of a moment as a number (days apart = difference)."""
        return self.moment(iso)[2]

    def utc(self, iso: str) -> str:
        """A moment as the store stamps transaction time (UTC text: text order is time
        order)."""
        return self.moment(iso)[0]

    def _local(self, iso: str) -> datetime:
        return datetime.fromisoformat(iso).astimezone(self.zone)

    def _moment(self, iso: str) -> tuple[str, str, int]:
        moment = datetime.fromisoformat(iso)
        day = moment.astimezone(self.zone).date()
        return utc_stamp(moment), day.isoformat(), day.toordinal()


def utc_stamp(moment: datetime) -> str:
    """``ledger.chain.stamp``, twice as fast: ``isoformat`` without ``timespec`` (whose
    keyword costs more than the formatting), the microseconds added when it leaves them
    out (when they are 0)."""
    utc = moment.astimezone(timezone.utc)
    text = utc.isoformat()
    return text if utc.microsecond else text[:19] + ".000000" + text[19:]


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


class Projection:
    """A read model: tables, the rows each fact touches, and the fold."""

    name: str = ""
    kinds: frozenset[str] | None = None  # the fact kinds it folds (None: all)
    # Tables whose rows are only ever created, one by one, and never read, changed or
    # completed (``finish``) afterwards: a rebuild writes them after every batch.
    appended: frozenset[str] = frozenset()

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
        """The (table, key) rows the fold of ``fact`` reads, changes or deletes. A row the
        fold creates afresh (a key that cannot exist yet) need not be named."""
        raise NotImplementedError

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """Change ``rows`` as ``fact`` says. Pure: no I/O, no clock."""
        raise NotImplementedError

    def finish(self, rows: Rows, ctx: Context) -> None:
        """Complete the rows after a batch's folds, before they are written: a fold may
        leave a row's costly part to be derived here once per batch, from all the batch's
        facts, rather than once per fact."""

    def key_of(self, name: str, row: dict[str, Any]) -> Key:
        return tuple(row[c.name] for c in self.tables[name].primary_key.columns)


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


class Projector:
    """Keeps a set of projections current in one store."""

    def __init__(self, engine: Engine, read: Callable[[int, int | None], Iterator[Record]],
                 zone: Callable[[], tzinfo | None], projections: list[Projection],
                 head: Callable[[], int] | None = None, chain: str | None = None) -> None:
        """``chain``: the event table in the same database, whose hashes the positions
        are checked against before every catch-up (None: not checked)."""
        self.engine = engine
        self.chain = None if chain is None else sa.table(
            chain, sa.column("notification_id", sa.BigInteger), sa.column("hash", sa.String))
        self.read = read
        self.zone = zone
        self.projections = projections
        self.head = head
        self.names = [p.name for p in projections]
        self._created = False

    def create_tables(self) -> None:
        """Create the read models' tables and position rows (once per process). Two
        processes creating them at once may collide; the loser finds them made."""
        if self._created:
            return
        for attempt in range(CREATE_ATTEMPTS):
            try:
                self._create_tables()
                break
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError,
                    sqlalchemy.exc.OperationalError):
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
        self._created = True

    def _create_tables(self) -> None:
        with self.engine.begin() as conn:
            # In one transaction, one process at a time: the others wait, then find
            # everything made.
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(CREATION_LOCK), {"schema": conn.execute(
                    sa.text("SELECT current_schema()")).scalar_one()})
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite's write lock, taken first
            POSITIONS.metadata.create_all(conn)
            add_hash_column(conn)
            for projection in self.projections:
                projection.metadata.create_all(conn)
            for index in self._indexes():
                index.create(conn, checkfirst=True)  # those a failed rebuild left out
            known = {r[0] for r in conn.execute(sa.select(POSITIONS.c.projection))}
            missing = [{"projection": n, "position": 0} for n in self.names if n not in known]
            if missing:
                conn.execute(POSITIONS.insert(), missing)

    def positions(self) -> dict[str, int]:
        """Each projection's position: the last fact it has folded."""
        self.create_tables()
        with self.engine.connect() as conn:
            return {r[0]: r[1] for r in conn.execute(
                sa.select(POSITIONS.c.projection, POSITIONS.c.position)
                .where(POSITIONS.c.projection.in_(self.names)))}

    def standings(self) -> list[Standing]:
        """Each projection's position and the ledger's hash there now: one query, one
        indexed lookup of the event table per projection."""
        self.create_tables()
        query = sa.select(POSITIONS.c.projection, POSITIONS.c.position, POSITIONS.c.hash)
        if self.chain is not None:
            query = query.add_columns(self.chain.c.hash).select_from(POSITIONS.outerjoin(
                self.chain, self.chain.c.notification_id == POSITIONS.c.position))
        with self.engine.connect() as conn:
            rows = conn.execute(query.where(POSITIONS.c.projection.in_(self.names))).all()
        order = {name: i for i, name in enumerate(self.names)}
        return sorted((Standing(r[0], r[1], r[2], r[3] if self.chain is not None else r[2])
                       for r in rows), key=lambda s: order[s.projection])

    def checked_positions(self) -> dict[str, int]:
        """Each projection's position, once the ledger is found to hold, at each, the
        event it was folded from (refused with :class:`Tampered` if not)."""
        standings = self.standings()
        for standing in standings:
            if not standing.ok:
                raise standing.refusal(self.head() if self.head else 0)
        return {s.projection: s.position for s in standings}

    def status(self) -> list[dict[str, Any]]:
        """Per projection: its tables, their rows, its position, its lag behind the log,
        and whether the ledger still holds the event it was folded from."""
        standings = {s.projection: s for s in self.standings()}
        at = {name: s.position for name, s in standings.items()}
        head = self.head() if self.head else max(at.values(), default=0)
        found = []
        with self.engine.connect() as conn:
            for projection in self.projections:
                rows = sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                           for t in projection.tables.values())
                found.append({"projection": projection.name,
                              "tables": " ".join(t.name for t in projection.tables.values()),
                              "rows": rows, "position": at[projection.name],
                              "head": head, "lag": head - at[projection.name],
                              "check": standings[projection.name].check(head)})
        return found

    def catch_up(self, upto: int | None = None, progress: Callable[[int], None] | None = None,
                 batch: int = BATCH) -> int:
        """Bring every projection up to ``upto`` (default: the end of the log).
        Returns how many facts were read and folded."""
        self.create_tables()
        target = upto if upto is not None else (self.head() if self.head else None)
        if target is not None and min(self.checked_positions().values(), default=0) >= target:
            return 0  # current: no need to take the write lock
        folded = 0
        while True:
            with _without_gc(), self.engine.begin() as conn:
                done = self._step(conn, upto, batch)
            if not done:
                return folded
            folded += done
            if progress:
                progress(done)

    def _step(self, conn: Connection, upto: int | None, batch: int) -> int:
        at = _lock(conn, self.names)
        facts, last = self._facts(min(at.values()), upto, batch)
        if not facts:
            return 0
        ctx = self._context()
        for projection in self.projections:
            mine = [f for f in facts if f.position > at[projection.name]]
            if not mine:
                continue
            with _folding(projection, mine):
                apply_facts(conn, projection, mine, ctx)
            conn.execute(POSITIONS.update()
                         .where(POSITIONS.c.projection == projection.name)
                         .values(position=facts[-1].position, hash=last))
        return len(facts)

    def _facts(self, after: int, upto: int | None, batch: int) -> tuple[list[Fact], str]:
        """The next facts after ``after`` (at most ``batch``), and the hash of the last."""
        facts = []
        last = GENESIS
        for record in self.read(after, upto):
            facts.append(decode(record))
            last = record.hash
            if len(facts) >= batch:
                break
        return facts, last

    def _context(self) -> Context:
        zone = self.zone()
        assert zone is not None, "events exist, so the campaign does"
        return Context(zone)

    def rebuild(self, progress: Callable[[int], None] | None = None,
                batch: int = REBUILD_BATCH, window: int = REBUILD_WINDOW) -> int:
        """Empty every projection's tables and fold the whole log again.

        The secondary indexes are dropped first and made again at the end: building an
        index once over all rows costs much less than keeping it up to date row by row.
        (A rebuild that fails half-way leaves them to the next process's
        :meth:`create_tables`.)"""
        self.create_tables()
        indexes = self._indexes()
        with self.engine.begin() as conn:
            _lock(conn, self.names)
            for projection in self.projections:
                for table in reversed(projection.metadata.sorted_tables):
                    conn.execute(table.delete())
            for index in indexes:
                index.drop(conn)
            conn.execute(POSITIONS.update().where(POSITIONS.c.projection.in_(self.names))
                         .values(position=0, hash=GENESIS))
        folded = self._refold(progress, batch, window)
        with self.engine.begin() as conn:
            for index in indexes:
                index.create(conn, checkfirst=True)
        return folded

    def _refold(self, progress: Callable[[int], None] | None, batch: int,
                window: int) -> int:
        """Fold the log into emptied tables: facts read ``batch`` at a time, each window
        of about ``window`` facts folded into rows kept in memory and written, with the
        positions, in one transaction (so a failed rebuild resumes after the last
        window, like a catch-up). A row that many batches change is loaded and written
        once per window; the rows of appended tables go out after every batch."""
        folded = 0
        ctx: Context | None = None
        while True:
            with _without_gc(), self.engine.begin() as conn:
                # Each window starts where the positions are (another process's catch-up
                # may have moved some of them meanwhile), each projection from its own.
                at = _lock(conn, self.names)
                position = min(at.values())
                kept = {p.name: Rows(_loader(conn, p)) for p in self.projections}
                read = 0
                last = GENESIS
                while read < window:
                    facts, hash_ = self._facts(position, None, batch)
                    if not facts:
                        break
                    last = hash_
                    ctx = ctx or self._context()
                    for projection in self.projections:
                        rows = kept[projection.name]
                        mine = [f for f in facts if f.position > at[projection.name]]
                        with _folding(projection, mine):
                            fold_facts(rows, projection, mine, ctx)
                        write_rows(conn, projection, rows.take(projection.appended))
                    read, position = read + len(facts), facts[-1].position
                    if progress:
                        progress(len(facts))
                if not read:
                    return folded
                assert ctx is not None
                for projection in self.projections:
                    projection.finish(kept[projection.name], ctx)
                    write_rows(conn, projection, kept[projection.name])
                conn.execute(POSITIONS.update().where(POSITIONS.c.projection.in_(self.names))
                             .values(position=position, hash=last))
            folded += read

    def _indexes(self) -> list[sa.Index]:
        return [index for projection in self.projections
                for table in projection.metadata.sorted_tables for index in table.indexes]

    def verify(self, scratch: list[Projection], progress: Callable[[int], None] | None = None,
               limit: int = 20, batch: int = BATCH) -> Verification:
        """Rebuild every projection from zero into ``scratch`` (the same projections with
        another table prefix) and compare each table with the maintained one, at the same
        position. The scratch tables are dropped afterwards."""
        pairs = {p.name: p for p in scratch}
        missing = [n for n in self.names if n not in pairs]
        if missing:
            raise ValueError(f"no scratch projection for {', '.join(missing)}")
        self.catch_up()
        for projection in scratch:
            projection.metadata.drop_all(self.engine)
            projection.metadata.create_all(self.engine)
        built = dict.fromkeys(self.names, 0)
        try:
            while True:
                at = self.positions()
                self._fold_scratch(pairs, built, at, progress, batch)
                with self.engine.begin() as conn:
                    # Holding the positions, nobody moves the maintained tables meanwhile.
                    if _lock(conn, self.names) != at:
                        continue
                    counts: dict[str, int] = {}
                    differences: list[Difference] = []
                    for projection in self.projections:
                        count, found = _compare(conn, projection, pairs[projection.name],
                                                limit - len(differences))
                        counts[projection.name] = count
                        differences.extend(found)
                    return Verification(at, counts, differences)
        finally:
            for projection in scratch:
                projection.metadata.drop_all(self.engine)

    def _fold_scratch(self, pairs: dict[str, Projection], built: dict[str, int],
                      at: dict[str, int], progress: Callable[[int], None] | None,
                      batch: int) -> None:
        while True:
            behind = [built[n] for n in built if built[n] < at[n]]
            if not behind:
                return
            facts, _ = self._facts(min(behind), max(at.values()), batch)
            if not facts:
                return
            ctx = self._context()
            with _without_gc(), self.engine.begin() as conn:
                for name, projection in pairs.items():
                    mine = [f for f in facts if built[name] < f.position <= at[name]]
                    if mine:
                        apply_facts(conn, projection, mine, ctx)
            for name in built:
                built[name] = max(built[name], min(at[name], facts[-1].position))
            if progress:
                progress(len(facts))


@contextmanager
def _folding(projection: Projection, facts: list[Fact]) -> Iterator[None]:
    """A fold that fails on the facts it is given (events the ledger never wrote: fields
    missing, values of other types) is refused in one line naming them."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise Tampered(f"read model {projection.name} cannot fold the events at positions "
                       f"{facts[0].position}–{facts[-1].position} "
                       f"({type(e).__name__}: {e})") from None


def _lock(conn: Connection, names: list[str]) -> dict[str, int]:
    """Lock the projections' position rows for this transaction and read them."""
    query = (sa.select(POSITIONS.c.projection, POSITIONS.c.position)
             .where(POSITIONS.c.projection.in_(names)).order_by(POSITIONS.c.projection))
    if conn.dialect.name == "sqlite":
        # SQLite has no row locks: a write takes the database's write lock, which a
        # concurrent catch-up then waits for.
        conn.execute(POSITIONS.update().where(POSITIONS.c.projection.in_(names))
                     .values(position=POSITIONS.c.position))
    else:
        query = query.with_for_update()
    return {r[0]: r[1] for r in conn.execute(query)}


def apply_facts(conn: Connection, projection: Projection, facts: list[Fact],
                ctx: Context) -> None:
    """Fold a batch of facts into a projection's tables through one load and one write."""
    rows = Rows(_loader(conn, projection))
    if fold_facts(rows, projection, facts, ctx):
        projection.finish(rows, ctx)
        write_rows(conn, projection, rows)


def fold_facts(rows: Rows, projection: Projection, facts: list[Fact], ctx: Context) -> bool:
    """Fold facts into ``rows``, the stored rows they touch loaded first (those not held
    already). Returns whether the projection folds any of them."""
    wanted = [f for f in facts if projection.wants(f)]
    if not wanted:
        return False
    touched: dict[str, set[Key]] = {}
    for fact in wanted:
        for name, key in projection.touches(fact):
            touched.setdefault(name, set()).add(key)
    rows.preload(touched)
    for fact in wanted:
        projection.fold(rows, fact, ctx)
    return True


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


def fold_in_memory(projection: Projection, facts: Iterable[Fact],
                   ctx: Context) -> Rows:
    """The projection of exactly these facts, computed without touching the database."""
    rows = Rows()
    for fact in facts:
        if projection.wants(fact):
            projection.fold(rows, fact, ctx)
    projection.finish(rows, ctx)
    return rows


def _pk(table: sa.Table) -> list[sa.Column[Any]]:
    return list(table.primary_key.columns)


def _chunks(keys: list[Key], size: int = 500) -> Iterator[list[Key]]:
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


PLAIN_TYPES = (sa.String, sa.Integer, sa.Float, sa.Boolean)


def _sqlite_insert(table: sa.Table) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]],
                                             Processors]:
    """An INSERT to hand to SQLite's driver directly, the values of a row in its order, and
    the conversions SQLAlchemy would make (JSON encoded as SQLAlchemy encodes it; text,
    numbers and booleans go as they are): SQLAlchemy's per-row parameter processing costs
    more than SQLite's insert itself."""
    def make() -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], Processors]:
        dialect = sa.dialects.sqlite.dialect()
        processors: Processors = []
        for i, column in enumerate(table.columns):
            if isinstance(column.type, PLAIN_TYPES) and not isinstance(column.type, sa.Enum):
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
