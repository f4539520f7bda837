"""Projections: pure folds over the event log into SQL read models, with their positions.

A projection declares its tables, which rows a fact touches, and how a fact changes those
rows (``fold``). The engine does the rest, the same way for every projection:

- catching up: read the facts after the projection's position, load the rows they touch,
  fold, write the changed rows and the new position in one transaction — so every fact is
  applied exactly once, and a crash between batches resumes where the last commit left off.
  Each batch first locks the projections' position rows, so two processes catching up at
  once take turns and never fold the same facts twice;
- rebuilding from zero (``projections/rebuild.py``); folding in memory (for "as of"
  questions);
- verifying: rebuilding into scratch tables beside the maintained ones and comparing them
  in the database.

The facts and their context are in ``projections/facts.py``, what a projection declares
in ``projections/projection.py``, the rows and their reading and writing in
``projections/rows.py``, the comparison of a verification in ``projections/compare.py``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import tzinfo
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import Connection, Engine

from domain.base import Refused
from ledger.chain import GENESIS, Record, Tampered
from ledger.store import CREATION_LOCK
from projections.compare import Verification, verify
from projections.facts import Context, Fact, decode
from projections.positions import (FIRST_VERSION, POSITIONS, Outdated, Standing,
                                   add_hash_column, recorded_versions)
from projections.projection import Projection
from projections.rebuild import REBUILD_BATCH, REBUILD_WINDOW, rebuild
from projections.rows import Rows, _loader, write_rows

__all__ = ["BATCH", "Projector", "Upgrading", "apply_facts", "fold_facts"]

# Told which projections are rebuilt for a new version and how many facts the rebuild
# folds, gives what to tell each batch's count to (a progress bar, or nothing).
Upgrading = Callable[[list[Outdated], int], AbstractContextManager[Callable[[int], None]]]

BATCH = 2000
CREATE_ATTEMPTS = 5
INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for a permission denied


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



class Projector:
    """Keeps a set of projections current in one store."""

    def __init__(self, engine: Engine, read: Callable[[int, int | None], Iterator[Record]],
                 zone: Callable[[], tzinfo | None], projections: list[Projection],
                 head: Callable[[], int] | None = None, chain: str | None = None,
                 upgrading: Upgrading | None = None) -> None:
        """``chain``: the event table in the same database, whose hashes the positions
        are checked against before every catch-up (None: not checked). ``upgrading``:
        told which projections another version built, and how many facts their rebuild
        folds, it gives what to tell the rebuild's progress to (see :meth:`upgrade`)."""
        self.engine = engine
        self.chain = None if chain is None else sa.table(
            chain, sa.column("notification_id", sa.BigInteger), sa.column("hash", sa.String))
        self.read = read
        self.zone = zone
        self.projections = projections
        self.head = head
        self.names = [p.name for p in projections]
        self.upgrading = upgrading
        self._created = False
        self._versioned = True  # whether the store keeps the versions (see add_hash_column)

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
        self.upgrade()

    def _create_tables(self) -> None:
        with self.engine.begin() as conn:
            # In one transaction, one process at a time: the others wait, then find
            # everything made.
            _exclusive(conn)
            POSITIONS.metadata.create_all(conn)
            self._versioned = add_hash_column(conn)
            for projection in self.projections:
                projection.metadata.create_all(conn)
            for index in self._indexes():
                index.create(conn, checkfirst=True)  # those a failed rebuild left out
            known = {r[0] for r in conn.execute(sa.select(POSITIONS.c.projection))}
            missing = [{"projection": p.name, "position": 0}
                       | ({"version": p.version} if self._versioned else {})
                       for p in self.projections if p.name not in known]
            if missing:
                conn.execute(POSITIONS.insert(), missing)

    def upgrade(self) -> list[Outdated]:
        """Rebuild each projection whose rows another version of it built than the code's
        (``Projection.version`` against the version its position row records): its tables
        dropped and made afresh — a changed table too, which ``create_all`` never alters
        —, its position back to 0 with the code's version, in one transaction under the
        creation lock; then the log folded into it as a rebuild folds. (Interrupted, the
        next catch-up goes on from where it stopped.) Returns what was rebuilt."""
        if not self._versioned:
            return []
        wanted = {p.name: p.version for p in self.projections}
        with self.engine.connect() as conn:
            built = recorded_versions(conn, self.names)
        if all(built.get(name, version) == version for name, version in wanted.items()):
            return []
        try:
            with self.engine.begin() as conn:
                _exclusive(conn)
                built = recorded_versions(conn, self.names)  # another may have done it
                outdated = [Outdated(p.name, built[p.name], p.version)
                            for p in self.projections
                            if built.get(p.name, p.version) != p.version]
                stale = [p for p in self.projections
                         if p.name in {o.projection for o in outdated}]
                for projection in stale:
                    projection.metadata.drop_all(conn)
                    projection.metadata.create_all(conn)
                    conn.execute(POSITIONS.update()
                                 .where(POSITIONS.c.projection == projection.name)
                                 .values(position=0, hash=GENESIS, version=projection.version))
        except sqlalchemy.exc.ProgrammingError as e:
            if getattr(e.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise
            names = ", ".join(o.projection for o in outdated)
            raise Refused("读模型 {names} 由另一个版本建成，须重建，而当前登录无权重建："
                          "请以账本库所有者的身份打开一次", names=names) from None
        if not stale:
            return []
        again = Projector(self.engine, self.read, self.zone, stale, self.head)
        again._created = True
        if self.upgrading is None:
            again.rebuild()
        else:
            with self.upgrading(outdated, self.head() if self.head else 0) as progress:
                again.rebuild(progress=progress)
        return outdated

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
        the version of the projection that built its rows, and whether the ledger still
        holds the event it was folded from (``check`` for programs, ``said`` for people)."""
        standings = {s.projection: s for s in self.standings()}
        at = {name: s.position for name, s in standings.items()}
        head = self.head() if self.head else max(at.values(), default=0)
        found = []
        with self.engine.connect() as conn:
            built = recorded_versions(conn, self.names) if self._versioned else {}
            for projection in self.projections:
                rows = sum(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                           for t in projection.tables.values())
                found.append({"projection": projection.name,
                              "tables": " ".join(t.name for t in projection.tables.values()),
                              "rows": rows, "position": at[projection.name],
                              "head": head, "lag": head - at[projection.name],
                              "version": built.get(projection.name, FIRST_VERSION),
                              "check": standings[projection.name].check(head),
                              "said": standings[projection.name].said(head)})
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
        """Empty every projection's tables and fold the whole log again
        (``projections/rebuild.py``)."""
        return rebuild(self, progress, batch, window)

    def _indexes(self) -> list[sa.Index]:
        return [index for projection in self.projections
                for table in projection.metadata.sorted_tables for index in table.indexes]

    def verify(self, scratch: list[Projection], progress: Callable[[int], None] | None = None,
               limit: int = 20, batch: int = BATCH) -> Verification:
        """Rebuild every projection from zero into ``scratch`` (the same projections with
        another table prefix) and compare each table with the maintained one, at the same
        position (``projections/compare.py``)."""
        return verify(self, scratch, progress, limit, batch)


@contextmanager
def _folding(projection: Projection, facts: list[Fact]) -> Iterator[None]:
    """A fold that fails on the facts it is given (events the ledger never wrote: fields
    missing, values of other types) is refused in one line naming them."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        error = f"{type(e).__name__}: {e}"  # the library's words, as they are
        raise Tampered("读模型 {projection} 无法折叠位置 {first}–{last} 的事件（{error}）",
                       projection=projection.name, first=facts[0].position,
                       last=facts[-1].position, error=error) from None


def _exclusive(conn: Connection) -> None:
    """Take, for this transaction, the lock under which read models' tables are made."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(CREATION_LOCK), {"schema": conn.execute(
            sa.text("SELECT current_schema()")).scalar_one()})
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite's write lock, taken first


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
    wanted = projection.wanted(facts)
    if not wanted:
        return False
    rows.preload(projection.touched(wanted))
    handlers = projection.handlers
    if type(projection).fold is Projection.fold and handlers is not None:
        # Projection.fold, without a call per fact to find the handler.
        for fact in wanted:
            handlers[fact.event](projection, rows, fact, ctx)  # type: ignore[index]
    else:
        fold = projection.fold
        for fact in wanted:
            fold(rows, fact, ctx)
    return True
