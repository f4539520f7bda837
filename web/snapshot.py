"""One request's read side: the read models as one read transaction sees them.

Requests are served at once, each on a connection of its own; none waits for another. A
page's queries all run in one read transaction (SQLite's WAL snapshot; PostgreSQL's
REPEATABLE READ, read only), so a page reads one state of the read models, whole: a
catch-up commits each batch's rows with the positions they reach, so no page sees half of
one. The page states the position the read models stood at in its transaction and the
chain hash there (checked against the event table in that same transaction, as every
query of the command line checks it).

The read models are brought up to date by one writer at a time (``Reader.catch_up``:
the server's own read side, behind one lock, taken only when a snapshot finds them behind
the log); the others wait only for the catch-up they would need too, then read. On
PostgreSQL each person's snapshot is read on their own connection (their role's rights);
the server's account folds the shared read models when it may write them, else the person's
own read side folds a private copy (``projections.overlay``) — that copy lives on one
connection, so that person's requests then take turns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.base import NotFound
from ledger.chain import GENESIS
from projections.engine import Projector
from projections.read import ReadSide

# A snapshot found behind the log is retaken after a catch-up at most this many times; then
# (writers outpacing the catch-up) the page is computed at the position it has, and says so.
ATTEMPTS = 3


class Pinned:
    """An engine every connection of which is the one given: the read side's queries all
    run in the request's read transaction. It writes nothing."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.url = conn.engine.url

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        yield self.conn

    def begin(self) -> Any:
        raise RuntimeError("a page's read transaction writes nothing")

    def dispose(self) -> None:
        pass


class Snapshot(ReadSide):
    """The maintained read models as one read transaction sees them, at ``position`` (the
    read models' position in it) whose chain hash is ``hash``. Nothing is folded: the
    snapshot was taken current (or as current as the writers allowed)."""

    def __init__(self, base: ReadSide, conn: Connection, position: int, hash_: str,
                 kept: dict[Any, Any] | None = None) -> None:
        """``kept``: what snapshots at the same position have read of the registry (the
        same, as the read models at a position are)."""
        super().__init__(base.store)
        self.position = position
        self.hash = hash_
        self.__dict__["projections"] = base.projections
        self.__dict__["engine"] = Pinned(conn)
        self._kept = {} if kept is None else kept

    @cached_property
    def projector(self) -> Projector:
        projector = ReadSide.projector.func(self)  # type: ignore[attr-defined]
        projector._created = True  # the base read side made the tables (Reader.ready)
        return projector

    def current(self, progress: Callable[[int], None] | None = None) -> None:
        """Taken current: nothing to fold (and nothing may be written here)."""

    def units(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The units, read once per position (a page asks for them several times: the
        board's filter, the units below the one asked for, the form's choices; and every
        page until the ledger moves on)."""
        if ("units", kind) not in self._kept:
            self._kept["units", kind] = super().units(kind)
        return self._kept["units", kind]  # type: ignore[no-any-return]

    def unit_and_descendants(self, code: str) -> list[str]:
        if ("below", code) not in self._kept:
            self._kept["below", code] = super().unit_and_descendants(code)
        return self._kept["below", code]  # type: ignore[no-any-return]

    def _facts(self, record: str, as_of: Any) -> tuple[list[Any], Any]:
        """A record's facts as far as the snapshot's position: a page about a task shows
        the history the rest of the page was computed from."""
        facts, zone = super()._facts(record, as_of)
        kept = [f for f in facts if f.position <= self.position]
        if not kept:  # recorded after the snapshot was taken
            raise NotFound("{record} 在账本位置 {position} 之后才记录", record=record,
                           position=self.position)
        return kept, zone


class Reader:
    """A read side (the server's, or a PostgreSQL login's own) and how its snapshots are
    taken current: ``catch_up`` folds the log into the read models, one thread at a time."""

    def __init__(self, read: ReadSide, catch_up: Callable[[], None] | None = None) -> None:
        self.read = read
        self.lock = threading.RLock()
        self._catch_up = catch_up
        self._ready = False
        self._kept: tuple[tuple[int, str], dict[Any, Any]] = ((-1, ""), {})

    def _kept_at(self, position: int, hash_: str) -> dict[Any, Any]:
        """What the snapshots at this position have read of the registry (only the last
        position's is kept)."""
        at, kept = self._kept
        if at != (position, hash_):
            kept = {}
            self._kept = ((position, hash_), kept)
        return kept

    def catch_up(self) -> None:
        with self.lock:
            (self._catch_up or self.read.current)()

    def ready(self) -> None:
        """The read models' tables made (and upgraded, and caught up) once, before any
        snapshot is read."""
        if not self._ready:
            with self.lock:
                if not self._ready:
                    self.catch_up()
                    self._ready = True

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A snapshot of the read models, taken current, for the time of one request."""
        self.ready()
        for attempt in range(ATTEMPTS):
            # A login's private copy lives on one connection: its requests take turns. (The
            # engine is read first: the read side sets "private" before its private engine.)
            engine = self.read.engine
            private = bool(self.read.__dict__.get("private"))
            with self.lock if private else nullcontext():
                conn = engine.connect()
                try:
                    position, hash_, head = _standing(conn, self.read)
                    if position >= head or attempt == ATTEMPTS - 1:
                        yield Snapshot(self.read, conn, position, hash_,
                                       self._kept_at(position, hash_))
                        return
                finally:
                    conn.rollback()
                    conn.close()
            self.catch_up()


def _standing(conn: Connection, read: ReadSide) -> tuple[int, str, int]:
    """In a new read transaction on ``conn``: the read models' position, the chain hash
    there (refused if the ledger holds another event there now), and the log's head."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")  # deferred: the snapshot is the first read's
    else:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    projector = Projector(Pinned(conn), read.projector.read, read.projector.zone,  # type: ignore[arg-type]
                          list(read.projections.values()),
                          chain=read.store.ledger.recorder.events_table_name)  # type: ignore[attr-defined]
    projector._created = True
    standings = projector.standings()
    events = sa.table(read.store.ledger.recorder.events_table_name,  # type: ignore[attr-defined]
                      sa.column("notification_id", sa.BigInteger))
    head = conn.execute(sa.select(sa.func.max(events.c.notification_id))).scalar() or 0
    for standing in standings:
        if not standing.ok:
            raise standing.refusal(head)
    if not standings:
        return 0, GENESIS, head
    lowest = min(standings, key=lambda s: s.position)
    return lowest.position, lowest.found or lowest.hash or GENESIS, head
