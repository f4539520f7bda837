"""Following the ledger live: keep the projections current as events are recorded.

On PostgreSQL the follower LISTENs on the channel that the ledger's recorder NOTIFYs in the
same transaction as every insert, and catches up on each notification (notifications that
arrive together make one catch-up). It listens before its first catch-up, so an event
recorded in between still wakes it. SQLite has no notifications: there the follower polls,
catching up every ``interval`` seconds (cheap when nothing is new).

Catching up is the engine's own (one transaction per batch, position rows locked), so a
follower may run beside commands and other followers, and stopping it at any moment leaves
every projection at a committed position.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.store import Store
from projections.read import ReadSide

# How often a follower waiting for news looks whether it has been asked to stop.
STOP_CHECK = 0.5


def follow(read: ReadSide, stop: threading.Event, *, interval: float = 2.0,
           report: Callable[[int, int], None] | None = None) -> int:
    """Keep ``read``'s projections current until ``stop`` is set; returns the events folded.

    ``report(folded, position)`` is called after each catch-up that folded something, with
    the position the projections reached. ``interval`` is the polling period on SQLite."""
    total = 0
    with _news(read.store, stop, interval) as wait_for_news:
        while not stop.is_set():
            folded = read.projector.catch_up()
            if folded:
                total += folded
                if report is not None:
                    report(folded, position(read))
            wait_for_news()
    return total


def position(read: ReadSide) -> int:
    """The position every projection of ``read`` has reached (the least of theirs)."""
    return min(read.projector.positions().values(), default=0)


def listens(store: Store) -> bool:
    """Whether the store notifies writes (PostgreSQL) rather than being polled (SQLite)."""
    return store.url.kind == "postgresql"


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
            # After an interrupt in mid-wait it may be unusable; closed, the pool drops it.
            try:
                conn.execute("UNLISTEN *")
            except psycopg.Error:
                conn.close()
