"""A projector's rebuild: every projection's tables emptied and the whole log folded again,
window by window, on one connection whose commits are not synced one by one.

Catching up (``projections/engine.py``) folds each batch into the rows it loads and
writes them at once; a rebuild keeps a window's rows in memory across its batches, so that
a row many batches change (an open task's) is loaded, completed (``Projection.finish``)
and written once per window rather than once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ledger.chain import GENESIS
from projections.positions import POSITIONS
from projections.rows import Rows, _loader, write_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from projections.engine import Projector
    from projections.facts import Context

REBUILD_BATCH = 5000
# A rebuild writes its rows every this many facts: an open task's rows (a metric task's
# is kilobytes of JSON) are changed by many batches in a busy city, and are loaded and
# written once per window rather than once per batch.
REBUILD_WINDOW = 10_000


def rebuild(projector: Projector, progress: Callable[[int], None] | None = None,
            batch: int = REBUILD_BATCH, window: int = REBUILD_WINDOW) -> int:
    """Empty every projection's tables and fold the whole log again.

    The secondary indexes are dropped first and made again at the end: building an
    index once over all rows costs much less than keeping it up to date row by row.
    (A rebuild that fails half-way leaves them to the next process's
    :meth:`Projector.create_tables`.)"""
    from projections.engine import _lock

    projector.create_tables()
    indexes = projector._indexes()
    with projector.engine.begin() as conn:
        _lock(conn, projector.names)
        for projection in projector.projections:
            for table in reversed(projection.metadata.sorted_tables):
                conn.execute(table.delete())
        for index in indexes:
            index.drop(conn)
        for projection in projector.projections:
            conn.execute(POSITIONS.update()
                         .where(POSITIONS.c.projection == projection.name)
                         .values(position=0, hash=GENESIS,
                                 **({"version": projection.version}
                                    if projector._versioned else {})))
    with _unsynced(projector.engine) as conn:
        folded = _refold(projector, conn, progress, batch, window)
        with conn.begin():
            for index in indexes:
                index.create(conn, checkfirst=True)
    return folded


def _refold(projector: Projector, conn: Connection, progress: Callable[[int], None] | None,
            batch: int, window: int) -> int:
    """Fold the log into emptied tables: facts read ``batch`` at a time, each window
    of about ``window`` facts folded into rows kept in memory and written, with the
    positions, in one transaction (so a failed rebuild resumes after the last
    window, like a catch-up). A row that many batches change is loaded and written
    once per window; the rows of appended tables go out after every batch."""
    from projections.engine import _folding, _lock, _without_gc, fold_facts

    projections, names = projector.projections, projector.names
    folded = 0
    ctx: Context | None = None
    while True:
        with _without_gc(), conn.begin():
            # Each window starts where the positions are (another process's catch-up
            # may have moved some of them meanwhile), each projection from its own.
            at = _lock(conn, names)
            position = min(at.values())
            kept = {p.name: Rows(_loader(conn, p)) for p in projections}
            read = 0
            last = GENESIS
            while read < window:
                facts, hash_ = projector._facts(position, None, batch)
                if not facts:
                    break
                last = hash_
                ctx = ctx or projector._context()
                for projection in projections:
                    rows = kept[projection.name]
                    mine = facts if facts[0].position > at[projection.name] else \
                        [f for f in facts if f.position > at[projection.name]]
                    with _folding(projection, mine):
                        fold_facts(rows, projection, mine, ctx)
                    write_rows(conn, projection, rows.take(projection.appended))
                read, position = read + len(facts), facts[-1].position
                if progress:
                    progress(len(facts))
            if not read:
                return folded
            assert ctx is not None
            for projection in projections:
                projection.finish(kept[projection.name], ctx)
                write_rows(conn, projection, kept[projection.name])
            conn.execute(POSITIONS.update().where(POSITIONS.c.projection.in_(names))
                         .values(position=position, hash=last))
            # The window's rows and facts freed before the collector is back: else its
            # next collection walks them all, to find nothing.
            del kept, facts, mine, rows
        folded += read


@contextmanager
def _unsynced(engine: Engine) -> Iterator[Connection]:
    """One connection for a rebuild's windows. On SQLite (always in WAL mode here) its
    commits are not each synced to the disk (``synchronous=NORMAL`` on this connection
    until the rebuild ends): a crash of the machine may lose the last windows committed,
    never the file's consistency, and the rebuild resumes from the positions the windows
    before left, as it does from any failure; the events, written through their own
    connections, keep their full sync."""
    with engine.connect() as conn:
        before = None
        if conn.dialect.name == "sqlite":
            before = int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
            conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        conn.commit()
        try:
            yield conn
        finally:
            if before is not None:
                conn.rollback()
                conn.exec_driver_sql(f"PRAGMA synchronous={before}")
                conn.commit()
