"""The reads of the ledger's PostgreSQL recorder (``ledger.recorders_postgres``): events
by aggregate, records by position, the head, ids by prefix, the store's identity; and the
wait that makes what a reader saw durable before it is published (``wait_durable``)."""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

from ledger.chain import Record
from ledger.durability_postgres import can_wait, wait_flushed
from ledger.faults import read_again
from ledger.guards import identity_table, pg_record
from ledger.recorders import _by_aggregate


class PostgresReads:
    """What the ledger's PostgreSQL recorder reads (mixed into it: ``datastore`` and
    ``table_sql`` are the recorder's)."""

    datastore: Any
    table_sql: Any
    _can_wait: weakref.WeakKeyDictionary[Any, bool]
    _after_statements: dict[int, str]

    def _waits(self, conn: Any) -> bool:
        """Whether ``conn``'s session can wait for a flush outside the write lock (asked once
        a connection): its writes commit asynchronously and then wait, else synchronously."""
        wait = self._can_wait.get(conn)
        if wait is None:
            wait = self._can_wait[conn] = can_wait(conn)
        return wait

    def wait_durable(self) -> bool:
        """Return (True) once every event committed before the call is on disk: called by
        whatever publishes what it read (a witness, an export, a head quoted), since a
        reader may see events whose commit is not yet flushed (docs/durability.md). The
        server may have crashed and restarted between that read and this wait, taking them
        back: the caller reads again what it publishes (as ``Ledger.head``)."""
        def wait() -> None:
            with self.datastore.get_connection() as conn:
                wait_flushed(conn, barrier=self._waits(conn))

        read_again(wait)
        return True

    def select_events_after(self, versions: dict[str, int]) -> dict[str, list[StoredEvent]]:
        """Several aggregates' events after the versions given, in one statement (each
        term through the primary key)."""
        if not versions:
            return {}
        statement = self._after_statements.get(len(versions))
        if statement is None:  # composed once for each number of aggregates, not each read
            terms = SQL(" OR ").join(
                [SQL("(originator_id = %s AND originator_version > %s)")] * len(versions))
            statement = self._after_statements[len(versions)] = SQL(
                "SELECT originator_id, originator_version, topic, state FROM {t} "
                "WHERE {terms} ORDER BY originator_id, originator_version").format(
                    t=self.table_sql, terms=terms).as_string()
        params = [value for pair in versions.items() for value in pair]
        return _by_aggregate((r["originator_id"], r["originator_version"], r["topic"],
                              r["state"]) for r in self._select(statement, params))

    def select_records(self, after: int, limit: int, upto: int | None = None) -> list[Record]:
        """Stored events after position ``after`` (up to ``upto``), with their stamps."""
        statement = SQL("SELECT notification_id, originator_id, originator_version, topic, "
                        "state, recorded_at, account, hash FROM {t} WHERE notification_id > %s"
                        ).format(t=self.table_sql)
        params: list[Any] = [after]
        if upto is not None:
            statement += SQL(" AND notification_id <= %s")
            params.append(upto)
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        return [pg_record(r) for r in self._select(statement, params)]

    def select_aggregate_records(self, originator_id: str) -> list[Record]:
        """One aggregate's stored events in version order, with their stamps (through
        the primary key: the cost does not grow with the log)."""
        statement = SQL("SELECT notification_id, originator_id, originator_version, topic, "
                        "state, recorded_at, account, hash FROM {t} WHERE originator_id = %s "
                        "ORDER BY originator_version").format(t=self.table_sql)
        return [pg_record(r) for r in self._select(statement, [originator_id])]

    def max_position(self) -> int:
        return self.max_notification_id() or 0

    def identity(self) -> str:
        """The store's identity (made with the store; see ``ledger.guards``)."""
        rows = self._select(SQL("SELECT id FROM {}.{}").format(Identifier(
            self.datastore.schema), Identifier(identity_table(self.events_table_name))), [])
        return str(rows[0]["id"]) if rows else ""

    def position_as_of(self, moment: datetime) -> int:
        """The last position recorded at or before ``moment`` (0 if none)."""
        rows = self._select(SQL("SELECT MAX(notification_id) AS p FROM {t} "
                                "WHERE recorded_at <= %s").format(t=self.table_sql), [moment])
        return rows[0]["p"] or 0

    def last_id_with_prefix(self, prefix: str) -> str | None:
        """The greatest aggregate id beginning with ``prefix`` (ids are zero-padded)."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._select(SQL("SELECT originator_id FROM {t} WHERE originator_id >= %s "
                                "AND originator_id < %s ORDER BY originator_id DESC LIMIT 1"
                                ).format(t=self.table_sql), [prefix, upper])
        return rows[0]["originator_id"] if rows else None

    def ids_with_prefix(self, prefix: str) -> list[str]:
        """Every aggregate id beginning with ``prefix``, in order (every unit, every
        person: few enough to read at once)."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return [row["originator_id"] for row in self._select(
            SQL("SELECT DISTINCT originator_id FROM {t} WHERE originator_id >= %s "
                "AND originator_id < %s ORDER BY 1").format(t=self.table_sql),
            [prefix, upper])]

    def _select(self, statement: Any, params: list[Any]) -> list[Any]:
        """The rows of one SELECT (asked again if the connection was lost: read_again)."""
        def read() -> list[Any]:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, params, prepare=True)
                return curs.fetchall()

        return read_again(read)
