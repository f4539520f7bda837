"""When a write to the ledger on PostgreSQL is durable, and waiting for it outside the
write lock (docs/durability.md says the guarantee in full).

A chained write commits under the chain's write lock, and PostgreSQL releases a
transaction's locks only after its commit returns: with ``synchronous_commit`` on, that is
after the WAL flush, so the flush was inside the critical section, one a write, and writers
could not share one. So the write's own transaction commits asynchronously
(``SET LOCAL synchronous_commit = off``: visible, and the lock released, once its commit
record is in the WAL buffers), and the command waits for the flush afterwards, outside the
lock, before it returns: a *barrier*, a transaction that commits synchronously and whose
flush therefore covers every WAL record before its own — the write's commit record among
them. Barriers of concurrent writers are flushed together (PostgreSQL's group commit).

The barrier must write WAL of its own: PostgreSQL flushes at commit only a transaction that
has an xid *and* wrote WAL before its commit record (``RecordTransactionCommit`` in
``xact.c``: ``wrote_xlog`` is read before the commit record is written). A transaction that
only takes an xid (``SELECT txid_current()``) commits without flushing — measured: after it,
200 of 200 asynchronous commits were still not flushed. A transactional logical message
(``pg_logical_emit_message(true, …)``, executable by every role by default, no table
needed, a few bytes of WAL, decoded by nobody unless a logical replication slot asks) takes
an xid and writes WAL: after it, 0 of 200 were left unflushed.
"""

from __future__ import annotations

import time
from typing import Any

from psycopg import ClientCursor

# The write's own transaction, under the lock: committed without waiting for its flush.
ASYNC_COMMIT = "SET LOCAL synchronous_commit = off"
# Flushes (and, with synchronous replication, replicates) the WAL up to its own commit, so
# everything committed before it began. It commits with the session's synchronous_commit
# (on by default), so the wait is whatever a synchronous commit means on this server.
BARRIER = "BEGIN; SELECT pg_logical_emit_message(true, 'taizhang', 'durable'); COMMIT"
# Whether this session can wait so: the function may be revoked, and a read-only session or
# a standby cannot write WAL. A session that cannot commits its writes synchronously.
CAN_WAIT = ("SELECT has_function_privilege('pg_logical_emit_message(boolean, text, text)', "
            "'EXECUTE') AND NOT pg_is_in_recovery() "
            "AND current_setting('transaction_read_only') = 'off' AS ok")
# Where the WAL ends now (None on a standby, which receives only WAL its primary flushed),
# and whether it is flushed that far already (the common case: one round trip); and
# whether it is flushed up to a point.
WAL_END = ("SELECT CASE WHEN pg_is_in_recovery() THEN NULL "
           "ELSE pg_current_wal_insert_lsn()::text END AS lsn, "
           "CASE WHEN pg_is_in_recovery() THEN true "
           "ELSE pg_current_wal_flush_lsn() >= pg_current_wal_insert_lsn() END AS flushed")
FLUSHED = "SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn AS flushed"
# A session that cannot write a barrier waits for the WAL writer, which flushes every
# asynchronous commit within three times wal_writer_delay (the documentation's bound; 200
# ms by default). Other WAL it may leave in a page it has not finished: so the wait ends
# there, the commits seen before it flushed.
WRITER_DELAY = "SELECT setting::int AS ms FROM pg_settings WHERE name = 'wal_writer_delay'"
POLL = 0.01


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _value(row: Any) -> Any:
    return None if row is None else _values(row)[0]


def can_wait(conn: Any) -> bool:
    """Whether the session ``conn`` can wait for a flush with a barrier."""
    return bool(_value(conn.execute(CAN_WAIT, prepare=False).fetchone()))


def wait_flushed(conn: Any, barrier: bool = True) -> None:
    """Return once every transaction committed before this call is on disk: at once if
    the WAL is flushed as far as it went when asked (or the server is a standby), else
    after a barrier, or (``barrier`` false: a session that cannot write one) once the WAL
    writer has flushed that far or had the time to flush every asynchronous commit.
    Outside a transaction."""
    end, flushed = _values(conn.execute(WAL_END, prepare=False).fetchone())
    if end is None or flushed:
        return
    if barrier:
        with ClientCursor(conn) as curs:
            curs.execute(BARRIER)
        return
    until = time.monotonic() + 3 * _value(conn.execute(WRITER_DELAY).fetchone()) / 1000 + POLL
    while not _value(conn.execute(FLUSHED, [end], prepare=False).fetchone()) and \
            time.monotonic() < until:
        time.sleep(POLL)
