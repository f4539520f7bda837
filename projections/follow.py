"""Following the ledger live: keep the projections current as events are recorded, as a
service that outlives the faults of its store.

On PostgreSQL the follower LISTENs on the channel that the ledger's recorder NOTIFYs in the
same transaction as every insert, and catches up on each notification (notifications that
arrive together make one catch-up). It listens before its first catch-up, so an event
recorded in between still wakes it. SQLite has no notifications: there the follower polls,
catching up every ``interval`` seconds (cheap when nothing is new).

Catching up is the engine's own (one transaction per batch, position rows locked), so a
follower may run beside commands and other followers, and stopping it at any moment leaves
every projection at a committed position.

When the store fails it in a way that waiting may cure — a dropped or terminated
connection, a server restarting, a lock held too long — the follower drops its connections,
waits (0.5 s, doubling, at most ``max_backoff``), reconnects, listens again and catches up
from the positions the projections committed: nothing is skipped (the positions are the
last facts folded) and nothing folded twice (a batch and its positions commit together).
Any other error (a missing table, a permission refused) ends it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import psycopg
import sqlalchemy as sa
import sqlalchemy.exc
from psycopg.sql import SQL, Identifier

from i18n import _
from ledger.faults import connection_lost, lock_timed_out, reason, transient
from ledger.store import Store
from projections.read import ReadSide

# How often a follower waiting for news looks whether it has been asked to stop.
STOP_CHECK = 0.5
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0

# When a follower last advanced the projections (one row): for `projections status`.
FOLLOWER = sa.Table(
    "taizhang_follower", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("advanced_at", sa.String(32), nullable=False),
    sa.Column("follower", sa.String(300), nullable=False),
)

Report = Callable[[int, int, int], None]


def follow(read: ReadSide, stop: threading.Event, *, interval: float = 2.0,
           report: Report | None = None, log: Callable[[str], None] | None = None,
           max_backoff: float = MAX_BACKOFF) -> int:
    """Keep ``read``'s projections current until ``stop`` is set; returns the events folded.

    ``report(folded, position, lag)`` is called after each batch committed, with the
    position the projections reached and how far the log's end is beyond it. ``log`` is
    told, in one line each, of every fault survived and every reconnection. ``interval``
    is the polling period on SQLite."""
    say = log or (lambda _: None)
    total = 0
    failures = 0
    while not stop.is_set():
        try:
            with _news(read.store, stop, interval) as wait_for_news:
                create_table(read.store)
                say((_("已重新连接：位于位置 {position}") if failures
                     else _("已连接：位于位置 {position}")).format(position=position(read)))
                while not stop.is_set():
                    total += _catch_up(read, report, stop)
                    failures = 0
                    wait_for_news()
        except _Stopped as stopped:
            return total + stopped.folded
        except Exception as error:
            if not transient(error):
                raise
            failures += 1
            delay = min(max_backoff, FIRST_BACKOFF * 2 ** min(failures - 1, 16))
            say(_("{what}（{reason}）；{delay:g} 秒后重新连接（第 {attempt} 次）").format(
                what=_what(error), reason=reason(error), delay=delay, attempt=failures))
            read.store.reopen()
            read = ReadSide(read.store, only=list(read.projections))
            stop.wait(delay)
    return total


class _Stopped(Exception):
    """Asked to stop between two batches of a catch-up (a long one: a night's import)."""

    def __init__(self, folded: int) -> None:
        self.folded = folded


def _catch_up(read: ReadSide, report: Report | None, stop: threading.Event) -> int:
    """One catch-up, each batch reported (and recorded as the follower's advance); a stop
    asked for is obeyed after the batch that committed."""
    folded = 0

    def batch(done: int) -> None:
        nonlocal folded
        folded += done
        at = position(read)
        advanced(read.store, at)
        if report is not None:
            report(done, at, max(0, read.store.ledger.max_position() - at))
        if stop.is_set():
            raise _Stopped(folded)

    return read.projector.catch_up(progress=batch)


def _what(error: BaseException) -> str:
    if connection_lost(error):
        return "connection lost"
    if lock_timed_out(error):
        return "waited too long for a lock"
    return "statement cancelled"


def position(read: ReadSide) -> int:
    """The position every projection of ``read`` has reached (the least of theirs)."""
    return min(read.projector.positions().values(), default=0)


def listens(store: Store) -> bool:
    """Whether the store notifies writes (PostgreSQL) rather than being polled (SQLite)."""
    return store.url.kind == "postgresql"


# --- when the follower last advanced ---------------------------------------------------------


def create_table(store: Store) -> None:
    """The follower's row, made if missing (``init`` makes it, as the schema's owner).
    Another process making it at the same moment (between the check and the creation)
    is as good."""
    try:
        FOLLOWER.metadata.create_all(store.engine, checkfirst=True)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
        with store.engine.connect() as conn:
            if not sa.inspect(conn).has_table(FOLLOWER.name):
                raise


def advanced(store: Store, at: int) -> None:
    """Record that a follower (this process) advanced the projections to ``at``."""
    row = {"position": at, "follower": f"pid {os.getpid()} on {socket.gethostname()}",
           "advanced_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    with store.engine.begin() as conn:
        if not conn.execute(FOLLOWER.update().where(FOLLOWER.c.id == 1).values(**row)
                            ).rowcount:
            conn.execute(FOLLOWER.insert().values(id=1, **row))


def last_advance(store: Store) -> dict[str, Any] | None:
    """When a follower last advanced the projections, to where, and which (None: never)."""
    with store.engine.connect() as conn:
        if not sa.inspect(conn).has_table(FOLLOWER.name):
            return None
        row = conn.execute(sa.select(FOLLOWER).where(FOLLOWER.c.id == 1)).mappings().first()
    return dict(row) if row is not None else None


# --- waiting for news ------------------------------------------------------------------------


@contextmanager
def _news(store: Store, stop: threading.Event,
          interval: float) -> Iterator[Callable[[], None]]:
    """A function that returns when there may be new events (or when asked to stop)."""
    if not listens(store):
        yield lambda: stop.wait(interval)
        return
    recorder: Any = store.ledger.recorder
    with recorder.datastore.get_connection() as conn:
        conn.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))

        def wait_for_news() -> None:
            while not stop.is_set():
                if any(True for _ in conn.notifies(timeout=STOP_CHECK, stop_after=1)):
                    for _ in conn.notifies(timeout=0):
                        pass  # one catch-up serves every notification already here
                    return

        try:
            yield wait_for_news
        finally:
            # The connection goes back to the library's pool: it must not keep listening.
            # After an interrupt in mid-wait, or a lost connection, it may be unusable;
            # closed, the pool drops it.
            try:
                conn.execute("UNLISTEN *")
            except psycopg.Error:
                conn.close()
