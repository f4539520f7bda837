"""The ledger's PostgreSQL event recorder: the library's application recorder, extended
(as the SQLite one in ledger.recorders) so that every stored event carries its transaction
time, the account that entered it and its link in the audit chain, written in the same
transaction as the event."""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg
from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier, Literal

from ledger.chain import GENESIS, Record, event_part, extend, stamp
from ledger.durability_postgres import ASYNC_COMMIT, BARRIER, wait_flushed
from ledger.faults import bounded_write, read_again
from ledger.guards import CHAINED_COPY
from ledger.recorders import (CREATION_LOCK_KEY, EVENTS_TABLE, GUARDS, _checked_batches,
                              refuse_if_changed, require_text_ids)
from ledger.recorders_postgres_reads import PostgresReads
from ledger.recorders_postgres_sql import append_statement, table_statements
from ledger.settings import Settings


BEGIN, COMMIT = SQL("BEGIN"), SQL("COMMIT")
# Events a save from which they are chained here and copied in (a bulk save), rather than
# chained by the server in the statement that inserts them (a command's few).
BULK = 64
COPY_TYPES = ["int8", "text", "int8", "text", "bytea", "timestamptz", "text", "text"]


class LedgerPostgresRecorder(PostgresReads, PostgresApplicationRecorder):
    """PostgreSQL application recorder with transaction time, account and hash chain.

    Writers are serialised by a transaction-scoped advisory lock on the table (the library
    takes an EXCLUSIVE table lock, which PostgreSQL grants only to roles that may UPDATE or
    DELETE; ours need only INSERT and SELECT). Under that lock the server reads the head,
    takes its clock and the database user, and extends the chain (ledger.chain's encoding,
    with the part each event decides computed here), all in one round trip; for a bulk save
    it reads the head, clock and user, and the events chained here are copied in. Transaction
    time is the server's clock, or ``clock()`` when the application gives the recorder a
    clock (as on SQLite).

    A chained write commits asynchronously under the lock and waits for its flush after
    releasing it, before it returns (``ledger.durability_postgres``; docs/durability.md):
    writers share flushes instead of taking turns at them.
    """

    clock: Callable[[], datetime] | None = None
    settings = Settings()  # how long to wait for the write lock (the factory gives its own)

    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = EVENTS_TABLE):
        require_text_ids(datastore)
        if datastore.enable_db_functions:
            # The library's insert function would store events outside the chain.
            raise ProgrammingError("the ledger's recorder writes the audit chain itself: "
                                   "POSTGRES_ENABLE_DB_FUNCTIONS must be off")
        super().__init__(datastore, events_table_name=events_table_name)
        # The connections on which the chained insert is prepared; and each connection's
        # session, whether it can wait for a flush outside the lock (else its writes commit
        # synchronously: ledger.durability_postgres).
        self._prepared: weakref.WeakSet[Any] = weakref.WeakSet()
        self._can_wait = weakref.WeakKeyDictionary()  # see PostgresReads._waits
        self._append_texts: dict[bool, str] = {}
        self._after_statements: dict[int, str] = {}  # see PostgresReads.select_events_after
        # Notifications are database-wide: naming the schema wakes a follower only for its
        # own ledger, not for every ledger kept in the same database.
        self.channel_name = f"{self.datastore.schema}.{self.events_table_name}"
        self.table_sql = SQL("{}.{}").format(Identifier(self.datastore.schema),
                                             Identifier(self.events_table_name))
        self.sql_create_statements = table_statements(
            self.datastore.schema, self.events_table_name, self.notification_id_index_name)
        qualified = ".".join('"' + name.replace('"', '""') + '"'
                             for name in (self.datastore.schema, self.events_table_name))
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("SELECT pg_advisory_xact_lock({0}::regclass::oid::bigint)").format(
                Literal(qualified)),
        ]
        # The guard triggers there are (n), and those as this version makes them (current:
        # the BEFORE INSERT one with its WHEN, which older versions made without).
        self.guards_statement = SQL(
            "SELECT count(*) AS n, count(*) FILTER (WHERE tgname <> {3} OR tgqual IS NOT "
            "NULL) AS current FROM pg_trigger WHERE tgrelid = to_regclass({0}) "
            "AND tgname IN ({1}, {2}, {3})").format(
                Literal(qualified), Literal(f"{self.events_table_name}_no_change"),
                Literal(f"{self.events_table_name}_no_truncate"),
                Literal(f"{self.events_table_name}_no_replace"))
        self.head_statement = SQL(
            "SELECT clock_timestamp() AS now, session_user AS account, h.* FROM (SELECT 1) o "
            "LEFT JOIN LATERAL (SELECT notification_id, recorded_at, hash FROM {t} "
            "ORDER BY notification_id DESC LIMIT 1) h ON true").format(t=self.table_sql)
        self.insert_statement = SQL(
            "INSERT INTO {t} (notification_id, originator_id, originator_version, topic, "
            "state, recorded_at, account, hash) SELECT * FROM unnest("
            "%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::bytea[], "
            "%s::timestamptz[], %s::text[], %s::text[]) RETURNING notification_id"
        ).format(t=self.table_sql)
        # The chained insert, prepared once per connection; its name is its table's, so
        # recorders of several tables may share a connection.
        self.append_name = "taizhang_append_" + hashlib.sha256(
            qualified.encode()).hexdigest()[:16]
        self.append_statement = append_statement(self.table_sql, self.append_name)
        self.notify_statement = SQL("NOTIFY {0}").format(Identifier(self.channel_name))
        execute = SQL("EXECUTE {0} (%s, %s, %s, %s, %s, %s)").format(
            Identifier(self.append_name))
        # Each in two forms: a session that can wait for the flush outside the lock (True:
        # committed asynchronously, then the barrier) and one that cannot (False: the
        # commit waits for its flush under the lock). See ledger.durability_postgres.
        self.append_transaction = {wait: SQL("; ").join(
            [*self._opening(wait), *self.lock_table_statements, self.notify_statement,
             execute, *self._closing(wait)]) for wait in (True, False)}
        # A write whose decision relied on aggregates it does not save (the unit of work's
        # ``relied_on``): their versions read under the lock first, then the same write.
        versions = SQL("SELECT originator_id, max(originator_version) AS version FROM {t} "
                       "WHERE originator_id = ANY(%s::text[]) GROUP BY originator_id"
                       ).format(t=self.table_sql)
        self.checked_transaction = {wait: (
            SQL("; ").join([*self._opening(wait), *self.lock_table_statements, versions]),
            SQL("; ").join([self.notify_statement, execute, *self._closing(wait)]))
            for wait in (True, False)}
        # A bulk save's, to its head; its rows are copied, then it is closed (_closing).
        # The rows it copies are chained here, after the head read under the lock: the
        # guard trigger's probe of each is skipped (CHAINED_COPY, ledger.guards).
        self.head_transaction = {wait: SQL("; ").join(
            [*self._opening(wait), SQL(CHAINED_COPY), *self.lock_table_statements,
             self.notify_statement, self.head_statement]) for wait in (True, False)}
        self.copy_statement = SQL(
            "COPY {t} (notification_id, originator_id, originator_version, topic, state, "
            "recorded_at, account, hash) FROM STDIN (FORMAT BINARY)").format(t=self.table_sql)

    @staticmethod
    def _opening(wait: bool) -> list[Any]:
        """A chained write's first statements: asynchronous if its session waits after."""
        return [BEGIN, SQL(ASYNC_COMMIT)] if wait else [BEGIN]

    @staticmethod
    def _closing(wait: bool) -> list[Any]:
        """A chained write's last statements: the commit, then (asynchronous) the wait for
        its flush, outside the lock."""
        return [COMMIT, SQL(BARRIER)] if wait else [COMMIT]

    def create_table(self) -> None:
        # A writer that may only INSERT and SELECT may not run DDL, not even CREATE ... IF
        # NOT EXISTS; once the table and its guards exist there is nothing to create.
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.guards_statement)
            found = curs.fetchone()
        if found is not None and found["current"] == GUARDS:
            return
        try:
            with self.datastore.transaction(commit=True) as curs:
                # Processes opening a new store at once take turns (IF NOT EXISTS does not
                # guard against a concurrent CREATE); a later one finds the table made
                # meanwhile.
                curs.execute(SQL("SELECT pg_advisory_xact_lock({0}, hashtext({1}))").format(
                    CREATION_LOCK_KEY, Literal(self.datastore.schema)))
                curs.execute(self.guards_statement)
                row = curs.fetchone()
                if row is None or row["current"] < GUARDS:
                    self._create_table(curs)
        except ProgrammingError as e:
            # Every guard there, one as an older version made it (the BEFORE INSERT trigger
            # without its WHEN: a bulk copy pays its probes): the owner remakes it when it
            # next opens the store; a login that may not writes as before.
            if found is not None and found["n"] == GUARDS \
                    and isinstance(e.__cause__, psycopg.errors.InsufficientPrivilege):
                return
            raise

    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      unchanged: Mapping[str, int] | None = None,
                      **_: Any) -> Sequence[int] | None:
        """Insert events at the end of the chain. A command's few events go in one round
        trip: the write lock, the notification, the insert chaining them on the server
        (prepared once per connection) and the commit in one message, so a writer never
        holds the lock while the server waits for it (the library's own insert reads the
        head and syncs under the lock: with more writers than cores, writers queued behind a
        holder that was not scheduled, and throughput fell as they grew). A bulk save
        (``BULK`` events or more) reads the head under the lock, chains its events here and
        sends them by binary ``COPY``: a round trip more, paid once for a thousand events,
        where the server's chaining and an insert from arrays cost several times the
        ``COPY`` for each event.
        A write relying on aggregates it does not save (``unchanged``: id → version read)
        reads their versions under the lock first, and is refused as a conflict if any
        moved (a round trip more; rare: an administrator retired or demoted).
        Lock waits bounded, a lost connection checked: ledger.faults.bounded_write."""
        if not stored_events:
            return []
        columns: list[Any] = [[str(e.originator_id) for e in stored_events],
                              [e.originator_version for e in stored_events],
                              [e.topic for e in stored_events],
                              [e.state for e in stored_events]]
        if len(stored_events) >= BULK and not unchanged:
            return bounded_write(lambda: self._copy_append(columns),
                                 lambda: self._committed(columns), self.settings)
        parts = [event_part(*event) for event in zip(*columns)]
        columns.append(orjson.dumps(parts).decode())
        if unchanged:
            return bounded_write(lambda: self._append_checked(columns, unchanged),
                                 lambda: self._committed(columns), self.settings)
        return bounded_write(lambda: self._append(columns),
                             lambda: self._committed(columns), self.settings)

    def _copy_append(self, columns: list[list[Any]]) -> Sequence[int]:
        """A bulk save: the head read under the write lock (one message), the events
        chained after it with ledger.chain (the same text the server's chaining makes, and
        auditors recompute), copied in and committed."""
        with self.datastore.get_connection() as conn:
            moment = self.clock() if self.clock is not None else None
            try:
                wait = self._waits(conn)
                with ClientCursor(conn) as curs:  # one message, as a command's write
                    curs.execute(self.head_transaction[wait])
                    for _ in range(len(self._opening(wait)) + 2 +
                                   len(self.lock_table_statements)):
                        curs.nextset()  # past BEGIN, the SETs', lock's and NOTIFY's results
                    head = curs.fetchone()
                assert head is not None
                position = head["notification_id"] or 0
                # As the server's chaining: the transaction's time, never before the head's.
                at = moment if moment is not None else head["now"]
                if head["recorded_at"] is not None:
                    at = max(at, head["recorded_at"])
                account = head["account"]
                hashes = extend(head["hash"] or GENESIS, position, zip(*columns), stamp(at),
                                account)
                with conn.cursor() as curs, curs.copy(self.copy_statement) as copy:
                    copy.set_types(COPY_TYPES)
                    for number, row in enumerate(zip(*columns, hashes), position + 1):
                        copy.write_row((number, row[0], row[1], row[2], row[3], at, account,
                                        row[4]))
                with ClientCursor(conn) as curs:
                    curs.execute(SQL("; ").join(self._closing(wait)))
                return list(range(position + 1, position + 1 + len(hashes)))
            finally:
                self._end(conn)

    def _append(self, columns: list[list[Any]]) -> Sequence[int]:
        with self.datastore.get_connection() as conn:
            moment = self.clock() if self.clock is not None else None
            try:
                # One message, values bound into its text: the server runs the lock, the
                # notification, the chained insert, the commit and the wait for its flush
                # without waiting for us. (Not a pipeline of prepared statements: a
                # connection ended while waiting in one is reported as closed, never with
                # the reason the server gave.)
                wait = self._waits(conn)
                text = self._append_texts.get(wait)
                if text is None:  # composed once, not for every command
                    text = self._append_texts[wait] = \
                        self.append_transaction[wait].as_string(conn)
                with ClientCursor(conn) as curs:
                    if conn not in self._prepared:
                        self._prepare(curs)
                    try:
                        curs.execute(text, [moment, *columns])
                    except psycopg.errors.InvalidSqlStatementName:
                        # Deallocated meanwhile (see _end): prepared again, tried again.
                        self._end(conn)
                        self._prepare(curs)
                        curs.execute(text, [moment, *columns])
                    for _ in range(len(self._opening(wait)) + 1 +
                                   len(self.lock_table_statements)):
                        curs.nextset()  # past BEGIN, the SETs', lock's and NOTIFY's results
                    return sorted(row["notification_id"] for row in curs.fetchall())
            finally:
                self._end(conn)

    def _append_checked(self, columns: list[list[Any]], unchanged: Mapping[str, int]
                        ) -> Sequence[int]:
        """:meth:`_append` in two messages: the lock and the versions of the aggregates
        the decision relied on, checked; then the notification, the insert and the
        commit."""
        with self.datastore.get_connection() as conn:
            moment = self.clock() if self.clock is not None else None
            try:
                wait = self._waits(conn)
                check, write = self.checked_transaction[wait]
                with ClientCursor(conn) as curs:
                    if conn not in self._prepared:
                        self._prepare(curs)
                    curs.execute(check, [list(unchanged)])
                    for _ in range(len(self._opening(wait)) + len(self.lock_table_statements)):
                        curs.nextset()  # past BEGIN, the SETs' and lock's results
                    refuse_if_changed({row["originator_id"]: row["version"]
                                       for row in curs.fetchall()}, unchanged)
                    curs.execute(write, [moment, *columns])
                    curs.nextset()  # past NOTIFY's
                    return sorted(row["notification_id"] for row in curs.fetchall())
            finally:
                self._end(conn)

    def _prepare(self, curs: Any) -> None:
        """Prepare the chained insert on the cursor's connection (where another recorder of
        the same table may have prepared it already)."""
        try:
            curs.execute(self.append_statement)
        except psycopg.errors.DuplicatePreparedStatement:
            pass
        self._prepared.add(curs.connection)

    def _end(self, conn: Any) -> None:
        """After an error the COMMIT was skipped: the transaction is ended here. The driver
        then deallocates its prepared statements, all of them (the chained insert too)."""
        if conn.info.transaction_status in (TransactionStatus.INTRANS,
                                            TransactionStatus.INERROR):
            conn.rollback()
            self._prepared.discard(conn)

    def _committed(self, columns: list[list[Any]]) -> list[int] | None:
        """The positions of these very events (ids, versions, topics and states) if the
        store holds them all — a write whose answer was lost was committed — else None.
        Found, they are made durable first, on the connection that found them (its flush
        may not have been waited for; a server that crashed in between ends that
        connection, and on a new one they are looked for again)."""
        statement = SQL(
            "SELECT notification_id FROM {t} JOIN unnest(%s::text[], %s::bigint[], "
            "%s::text[], %s::bytea[]) AS w(id, version, topic, state) "
            "ON originator_id = w.id AND originator_version = w.version "
            "AND {t}.topic = w.topic AND {t}.state = w.state").format(t=self.table_sql)

        def found() -> list[int] | None:
            with self.datastore.get_connection() as conn:
                rows = conn.execute(statement, columns[:4]).fetchall()
                if len(rows) != len(columns[0]):
                    return None
                wait_flushed(conn, barrier=self._waits(conn))
                return sorted(r["notification_id"] for r in rows)

        return read_again(found)

    def insert_records(self, records: Iterable[Record]) -> tuple[int, str]:
        """Insert already-chained events verbatim, with their own transaction time, account
        and hash (the import path), each checked to be the next link after the stored head;
        all in one transaction, so a broken link writes nothing. Returns the new head.
        Lock waits bounded, a lost connection checked: ledger.faults.bounded_write."""
        ending: list[tuple[int, str]] = []  # the head reached, once the commit is asked for

        def attempt() -> tuple[int, str]:
            with self.datastore.get_connection() as conn, conn.transaction(), \
                    conn.cursor() as curs:
                self._lock_table(curs)  # taken before any record is read
                self._notify_channel(curs)
                curs.execute(self.head_statement)
                head = curs.fetchone()
                position = head["notification_id"] or 0
                previous = head["hash"] or GENESIS
                last_time = stamp(head["recorded_at"]) if head["recorded_at"] else ""
                for rows in _checked_batches(records, position, previous, last_time):
                    columns = [list(column) for column in zip(*rows, strict=True)]
                    curs.execute(self.insert_statement, columns, prepare=True)
                    position, previous = rows[-1].position, rows[-1].hash
                ending.append((position, previous))
            return position, previous

        def committed() -> tuple[int, str] | None:
            """The head reached, if the store holds its last record, hash and all."""
            if not ending:
                return None  # lost before the commit: the transaction died with it
            position, previous = ending[-1]
            rows = self._select(SQL("SELECT hash FROM {t} WHERE notification_id = %s").format(
                t=self.table_sql), [position])
            return ending[-1] if rows and rows[0]["hash"] == previous else None

        return bounded_write(attempt, committed, self.settings)
