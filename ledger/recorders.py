"""The ledger's event recorders: the library's SQLite and PostgreSQL application recorders,
extended so that every stored event carries its transaction time, the account that entered
it and its link in the audit chain — all written in the same transaction as the event.

Positions (notification ids) are assigned here, one after another with no gap, while the
writer holds the store's write lock; so the chain, the positions and the transaction times
all follow one order, and "as of T" is always a prefix of the log.
"""

from __future__ import annotations

import os
import pwd
import socket
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteDatastore,
    SQLiteTransaction,
)
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier, Literal

from ledger.chain import GENESIS, Record, check_next, event_part, extend, stamp, stored_record
from ledger.guards import (APPEND_ONLY, event_state, identity_table, pg_record,
                           postgres_guards, sqlite_guards, sqlite_identity)
from ledger.faults import bounded_write, read_again
from ledger.settings import Settings

# The advisory lock (with the schema's hash as second key) under which a new store's schema
# and tables are created: processes opening it at once take turns.
CREATION_LOCK_KEY = 1952541050
IMPORT_BATCH = 500
EVENTS_TABLE = "stored_events"  # the library's name for it, which the ledger keeps
# The triggers on a PostgreSQL event table (no change, no truncate, no replace): a table
# with fewer was made by an older version, and gets the rest.
GUARDS = 3


def require_text_ids(datastore: SQLiteDatastore | PostgresDatastore) -> None:
    """The chain hashes ids as text and the tables hold text: UUID ids would be stored in
    one spelling and looked up in another."""
    if datastore.originator_id_type != "text":
        raise ProgrammingError("the ledger's recorders need ORIGINATOR_ID_TYPE=text, not "
                               f"{datastore.originator_id_type!r}")


def os_account() -> str:
    """The operating-system account entering events into an embedded store: the account of
    the process's real uid, from the password database (never the USER or LOGNAME
    variables, which anyone sets), with the host."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid{uid}"
    return f"{user}@{socket.gethostname()}"


def chain_rows(stored_events: Sequence[StoredEvent], head_position: int, head_hash: str,
               recorded_at: str, account: str) -> list[tuple[Any, ...]]:
    """The rows to insert after the head: consecutive positions, each hash chained."""
    events = [(str(e.originator_id), e.originator_version, e.topic, e.state)
              for e in stored_events]
    hashes = extend(head_hash, head_position, events, recorded_at, account)
    return [(head_position + offset, *event, recorded_at, account, hashes[offset - 1])
            for offset, event in enumerate(events, 1)]


class _ImmediateTransaction(SQLiteTransaction):
    """Take SQLite's write lock at BEGIN, so the head we read is the head we extend."""

    def __enter__(self) -> Any:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise OperationalError(e) from e
        return cursor


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite application recorder with transaction time, account and hash chain.

    Transaction time is ``clock()`` when the application gives the recorder a clock (the
    ledger passes its own when it is not the wall clock: a simulation or a test), else the
    wall clock."""

    clock: Callable[[], datetime] | None = None

    settings = Settings()  # how long to wait for the write lock (the factory gives its own)

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = EVENTS_TABLE):
        require_text_ids(datastore)
        super().__init__(datastore, events_table_name)
        self.account = os_account()
        table = self.events_table_name
        self.insert_statement = (
            f"INSERT INTO {table} (notification_id, originator_id, originator_version, "
            "topic, state, recorded_at, account, hash) VALUES (?,?,?,?,?,?,?,?)"
        )
        self.head_statement = (
            f"SELECT notification_id, recorded_at, hash FROM {table} "
            "ORDER BY notification_id DESC LIMIT 1"
        )
        self.select_aggregate_statement = (
            f"SELECT originator_id, originator_version, topic, state FROM {table} "
            "WHERE originator_id = ?"
        )

    def construct_create_table_statements(self) -> list[str]:
        table = self.events_table_name
        # An INTEGER PRIMARY KEY is a stable rowid: VACUUM may renumber a hidden rowid.
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "notification_id INTEGER PRIMARY KEY, "
            "originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            "topic TEXT NOT NULL, "
            "state BLOB NOT NULL, "
            "recorded_at TEXT NOT NULL, "
            "account TEXT NOT NULL, "
            "hash TEXT NOT NULL)",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_aggregate "
            f"ON {table} (originator_id, originator_version)",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: UPDATE refused'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}: DELETE refused'); END",
            *sqlite_guards(table),
        ]

    def create_table(self) -> None:
        super().create_table()
        if not self.identity():  # a new store, or one made before stores had identities
            with self.datastore.get_connection(commit=True) as conn, \
                    _ImmediateTransaction(conn, commit=True) as c:
                c.execute(sqlite_identity(self.events_table_name))

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """Insert under SQLite's write lock, waiting for it as long as the settings say."""
        def attempt() -> Sequence[int] | None:
            with self.datastore.get_connection(commit=True) as conn, \
                    _ImmediateTransaction(conn, commit=True) as c:
                return self._insert_events(c, stored_events, **kwargs)

        return bounded_write(attempt, lambda: None, self.settings)

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent],
                       **_: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        c.execute(self.head_statement)
        head = c.fetchone()
        position, last_time, previous = (head[0], head[1], head[2]) if head else (0, "", GENESIS)
        # Transaction time never runs backwards along the log, whatever the clock does.
        now = self.clock() if self.clock is not None else datetime.now(timezone.utc)
        recorded_at = max(stamp(now), last_time)
        rows = chain_rows(stored_events, position, previous, recorded_at, self.account)
        c.executemany(self.insert_statement, rows)
        return [row[0] for row in rows]

    def insert_records(self, records: Iterable[Record]) -> tuple[int, str]:
        """Insert already-chained events verbatim, with their own transaction time, account
        and hash (the import path), each checked to be the next link after the stored head;
        all in one transaction, so a broken link writes nothing. Returns the new head."""
        with self.datastore.get_connection(commit=True) as conn, \
                _ImmediateTransaction(conn, commit=True) as c:
            c.execute(self.head_statement)
            head = c.fetchone()
            position, last_time, previous = (head[0], head[1], head[2]) if head \
                else (0, "", GENESIS)
            for rows in _checked_batches(records, position, previous, last_time):
                c.executemany(self.insert_statement, rows)
                position, previous = rows[-1].position, rows[-1].hash
            return position, previous

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *,
                             inclusive_of_start: bool = True) -> Sequence[Notification]:
        clauses, params = self._range(start, stop, inclusive_of_start)
        if topics:
            clauses.append(f"topic IN ({','.join('?' * len(topics))})")
            params += list(topics)
        rows = self._select(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {self.events_table_name}{_where(clauses)} "
            "ORDER BY notification_id LIMIT ?", [*params, limit])
        return [Notification(id=r[0], originator_id=r[1], originator_version=r[2],
                             topic=r[3], state=event_state(r[4], r[1], r[2])) for r in rows]

    def select_events(self, originator_id: Any, *, gt: int | None = None,
                      lte: int | None = None, desc: bool = False,
                      limit: int | None = None) -> Sequence[StoredEvent]:
        """One aggregate's events, as the library selects them (through :meth:`_select`)."""
        statement = self.select_aggregate_statement
        params: list[Any] = [originator_id]
        if gt is not None:
            statement += " AND originator_version > ?"
            params.append(gt)
        if lte is not None:
            statement += " AND originator_version <= ?"
            params.append(lte)
        statement += " ORDER BY originator_version DESC" if desc \
            else " ORDER BY originator_version"
        if limit is not None:
            statement += " LIMIT ?"
            params.append(limit)
        return [StoredEvent(originator_id=r[0], originator_version=r[1], topic=r[2],
                            state=event_state(r[3], r[0], r[1]))
                for r in self._select(statement, params)]

    def select_events_after(self, versions: dict[str, int]) -> dict[str, list[StoredEvent]]:
        """Several aggregates' events after the versions given, in one statement (each
        term through the aggregate index)."""
        if not versions:
            return {}
        terms = " OR ".join(["(originator_id = ? AND originator_version > ?)"] * len(versions))
        statement = (f"SELECT originator_id, originator_version, topic, state FROM "
                     f"{self.events_table_name} WHERE {terms} "
                     "ORDER BY originator_id, originator_version")
        params = [value for pair in versions.items() for value in pair]
        return _by_aggregate(self._select(statement, params))

    def select_records(self, after: int, limit: int, upto: int | None = None) -> list[Record]:
        """Stored events after position ``after`` (up to ``upto``), with their stamps."""
        clauses, params = self._range(after, upto, False)
        rows = self._select(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            f"recorded_at, account, hash FROM {self.events_table_name}{_where(clauses)} "
            "ORDER BY notification_id LIMIT ?", [*params, limit])
        return [stored_record(*r) for r in rows]

    def select_aggregate_records(self, originator_id: str) -> list[Record]:
        """One aggregate's stored events in version order, with their stamps (through
        the (originator_id, originator_version) index: the cost does not grow with the log)."""
        rows = self._select(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            f"recorded_at, account, hash FROM {self.events_table_name} "
            "WHERE originator_id = ? ORDER BY originator_version", [originator_id])
        return [stored_record(*r) for r in rows]

    def max_position(self) -> int:
        rows = self._select(f"SELECT MAX(notification_id) FROM {self.events_table_name}", [])
        return rows[0][0] or 0

    def identity(self) -> str:
        """The store's identity (made with the store; see ``ledger.guards``)."""
        rows = self._select(f"SELECT id FROM {identity_table(self.events_table_name)}", [])
        return str(rows[0][0]) if rows else ""

    def position_as_of(self, moment: datetime) -> int:
        """The last position recorded at or before ``moment`` (0 if none)."""
        rows = self._select(
            f"SELECT MAX(notification_id) FROM {self.events_table_name} "
            "WHERE recorded_at <= ?", [stamp(moment)])
        return rows[0][0] or 0

    def last_id_with_prefix(self, prefix: str) -> str | None:
        """The greatest aggregate id beginning with ``prefix`` (ids are zero-padded)."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._select(
            f"SELECT originator_id FROM {self.events_table_name} "
            "WHERE originator_id >= ? AND originator_id < ? "
            "ORDER BY originator_id DESC LIMIT 1", [prefix, upper])
        return rows[0][0] if rows else None

    def _range(self, start: int | None, stop: int | None,
               inclusive: bool) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if start is not None:
            clauses.append("notification_id >= ?" if inclusive else "notification_id > ?")
            params.append(start)
        if stop is not None:
            clauses.append("notification_id <= ?")
            params.append(stop)
        return clauses, params

    def _select(self, statement: str, params: list[Any]) -> list[Any]:
        """The rows of one SELECT. A single statement reads one snapshot of the file, so
        it runs without the library's BEGIN and ROLLBACK around it (two more round trips
        on every read, twice in every command)."""
        with self.datastore.get_connection(commit=False) as conn:
            try:
                return conn._sqlite_conn.execute(statement, params).fetchall()
            except sqlite3.Error as e:
                raise _library_error(e) from e


# sqlite3's errors as the library's SQLite transactions raise them (most specific first).
_SQLITE_ERRORS: list[tuple[type[sqlite3.Error], type[PersistenceError]]] = [
    (sqlite3.InterfaceError, InterfaceError), (sqlite3.DataError, DataError),
    (sqlite3.OperationalError, OperationalError), (sqlite3.IntegrityError, IntegrityError),
    (sqlite3.InternalError, InternalError), (sqlite3.ProgrammingError, ProgrammingError),
    (sqlite3.NotSupportedError, NotSupportedError), (sqlite3.DatabaseError, DatabaseError),
]


def _library_error(error: sqlite3.Error) -> PersistenceError:
    for raw, ours in _SQLITE_ERRORS:
        if isinstance(error, raw):
            return ours(error)
    return PersistenceError(error)


def _by_aggregate(rows: Iterable[Sequence[Any]]) -> dict[str, list[StoredEvent]]:
    found: dict[str, list[StoredEvent]] = {}
    for r in rows:
        found.setdefault(r[0], []).append(StoredEvent(
            originator_id=r[0], originator_version=r[1], topic=r[2],
            state=event_state(r[3], r[0], r[1])))
    return found


def _where(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


def _checked_batches(records: Iterable[Record], position: int, previous: str,
                     last_time: str) -> Iterable[list[Record]]:
    """The records in batches, each record checked as the next link before it is yielded."""
    batch: list[Record] = []
    for record in records:
        position += 1
        check_next(record, position, previous, last_time)
        previous, last_time = record.hash, record.recorded_at
        batch.append(record)
        if len(batch) == IMPORT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL application recorder with transaction time, account and hash chain.

    Writers are serialised by a transaction-scoped advisory lock on the table (the library
    takes an EXCLUSIVE table lock, which PostgreSQL grants only to roles that may UPDATE or
    DELETE; ours need only INSERT and SELECT). Under that lock the server reads the head,
    takes its clock and the database user, and extends the chain (ledger.chain's encoding,
    with the part each event decides computed here), all in one round trip. Transaction time
    is the server's clock, or ``clock()`` when the application gives the recorder a clock
    (as on SQLite).
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
        # Notifications are database-wide: naming the schema wakes a follower only for its
        # own ledger, not for every ledger kept in the same database.
        self.channel_name = f"{self.datastore.schema}.{self.events_table_name}"
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        guard = Identifier(f"{self.events_table_name}_append_only")
        self.table_sql = SQL("{}.{}").format(schema, table)
        self.sql_create_statements = [
            SQL("CREATE TABLE IF NOT EXISTS {t} ("
                "notification_id bigint NOT NULL, "
                "originator_id text COLLATE \"C\" NOT NULL, "
                "originator_version bigint NOT NULL, "
                "topic text NOT NULL, "
                "state bytea NOT NULL, "
                "recorded_at timestamptz NOT NULL, "
                "account text NOT NULL, "
                "hash text NOT NULL, "
                # Byte order (COLLATE "C") keeps zero-padded ids in numeric order.
                "PRIMARY KEY (originator_id, originator_version))").format(t=self.table_sql),
            SQL("CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {t} (notification_id)").format(
                index=Identifier(self.notification_id_index_name), t=self.table_sql),
            SQL("CREATE OR REPLACE FUNCTION {schema}.{guard}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                "'{message}: % refused', TG_OP; END $$").format(
                schema=schema, guard=guard, message=SQL(APPEND_ONLY)),
            SQL("CREATE OR REPLACE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION {schema}.{guard}()").format(
                trigger=Identifier(f"{self.events_table_name}_no_change"), t=self.table_sql,
                schema=schema, guard=guard),
            SQL("CREATE OR REPLACE TRIGGER {trigger} BEFORE TRUNCATE ON {t} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{guard}()").format(
                trigger=Identifier(f"{self.events_table_name}_no_truncate"),
                t=self.table_sql, schema=schema, guard=guard),
            *postgres_guards(schema, self.events_table_name, guard),
        ]
        qualified = ".".join('"' + name.replace('"', '""') + '"'
                             for name in (self.datastore.schema, self.events_table_name))
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("SELECT pg_advisory_xact_lock({0}::regclass::oid::bigint)").format(
                Literal(qualified)),
        ]
        self.guards_statement = SQL(
            "SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = to_regclass({0}) "
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
        # The chain extended by the server, under the write lock, in the statement that
        # inserts: ledger.chain.canonical's text, its middle (event_part) computed here.
        self.append_statement = SQL(
            "WITH RECURSIVE head AS (SELECT coalesce(h.notification_id, 0) AS position, "
            "coalesce(h.hash, {genesis}) AS hash, "
            "greatest(coalesce(%s::timestamptz, clock_timestamp()), h.recorded_at) AS at "
            "FROM (SELECT 1) o "
            "LEFT JOIN LATERAL (SELECT notification_id, recorded_at, hash FROM {t} "
            "ORDER BY notification_id DESC LIMIT 1) h ON true), "
            "stamp AS (SELECT at, '\"' || to_char(at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00\",' "
            "|| to_json(session_user::text)::text || ']' AS tail FROM head), "
            "args AS (SELECT %s::text[] AS ids, %s::bigint[] AS versions, %s::text[] AS "
            "topics, %s::bytea[] AS states, %s::text[] AS parts), "
            "chain AS (SELECT 0 AS n, position, hash FROM head UNION ALL "
            "SELECT chain.n + 1, chain.position + 1, encode(sha256(convert_to(chain.hash "
            "|| E'\\n[' || (chain.position + 1) || args.parts[chain.n + 1] || stamp.tail, "
            "'UTF8')), 'hex') FROM chain, args, stamp "
            "WHERE chain.n < cardinality(args.parts)) "
            "INSERT INTO {t} (notification_id, originator_id, originator_version, topic, "
            "state, recorded_at, account, hash) SELECT chain.position, args.ids[chain.n], "
            "args.versions[chain.n], args.topics[chain.n], args.states[chain.n], stamp.at, "
            "session_user, chain.hash FROM chain, args, stamp WHERE chain.n > 0 "
            "ORDER BY chain.n "
            "RETURNING notification_id"
        ).format(t=self.table_sql, genesis=Literal(GENESIS))
        self.append_transaction = SQL("; ").join(
            [SQL("BEGIN"), *self.lock_table_statements,
             SQL("NOTIFY {0}").format(Identifier(self.channel_name)), self.append_statement,
             SQL("COMMIT")])

    def create_table(self) -> None:
        # A writer that may only INSERT and SELECT may not run DDL, not even CREATE ... IF
        # NOT EXISTS; once the table and its guards exist there is nothing to create.
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.guards_statement)
            row = curs.fetchone()
        if row is not None and row["n"] == GUARDS:
            return
        with self.datastore.transaction(commit=True) as curs:
            # Processes opening a new store at once take turns (IF NOT EXISTS does not guard
            # against a concurrent CREATE); a later one finds the table made meanwhile.
            curs.execute(SQL("SELECT pg_advisory_xact_lock({0}, hashtext({1}))").format(
                CREATION_LOCK_KEY, Literal(self.datastore.schema)))
            curs.execute(self.guards_statement)
            row = curs.fetchone()
            if row is None or row["n"] < GUARDS:
                self._create_table(curs)

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **_: Any) -> Sequence[int] | None:
        """Insert events at the end of the chain in one round trip to the server: the write
        lock, the notification, the chained insert and the commit go in one pipeline, so a
        writer never holds the lock while the server waits for it (the library's own insert
        reads the head and syncs under the lock: with more writers than cores, writers
        queued behind a holder that was not scheduled, and throughput fell as they grew).
        Lock waits bounded, a lost connection checked: ledger.faults.bounded_write."""
        if not stored_events:
            return []
        parts = [event_part(str(e.originator_id), e.originator_version, e.topic, e.state)
                 for e in stored_events]
        columns = [[str(e.originator_id) for e in stored_events],
                   [e.originator_version for e in stored_events],
                   [e.topic for e in stored_events], [e.state for e in stored_events], parts]
        return bounded_write(lambda: self._append(columns),
                             lambda: self._committed(columns), self.settings)

    def _append(self, columns: list[list[Any]]) -> Sequence[int]:
        with self.datastore.get_connection() as conn:
            try:
                # One message, values bound into its text: the server runs the lock, the
                # notification, the chained insert and the commit without waiting for us.
                moment = self.clock() if self.clock is not None else None
                with ClientCursor(conn) as curs:
                    curs.execute(self.append_transaction, [moment, *columns])
                    for _ in range(2 + len(self.lock_table_statements)):
                        curs.nextset()  # past BEGIN, the lock's and NOTIFY's results
                    return sorted(row["notification_id"] for row in curs.fetchall())
            finally:
                if conn.info.transaction_status in (TransactionStatus.INTRANS,
                                                    TransactionStatus.INERROR):
                    conn.rollback()  # after an error the COMMIT was skipped: end it here

    def _committed(self, columns: list[list[Any]]) -> list[int] | None:
        """The positions of these very events (ids, versions, topics and states) if the
        store holds them all — a write whose answer was lost was committed — else None."""
        rows = self._select(SQL(
            "SELECT notification_id FROM {t} JOIN unnest(%s::text[], %s::bigint[], "
            "%s::text[], %s::bytea[]) AS w(id, version, topic, state) "
            "ON originator_id = w.id AND originator_version = w.version "
            "AND {t}.topic = w.topic AND {t}.state = w.state").format(t=self.table_sql),
            columns[:4])
        if len(rows) != len(columns[0]):
            return None
        return sorted(r["notification_id"] for r in rows)

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

    def select_events_after(self, versions: dict[str, int]) -> dict[str, list[StoredEvent]]:
        """Several aggregates' events after the versions given, in one statement (each
        term through the primary key)."""
        if not versions:
            return {}
        terms = SQL(" OR ").join(
            [SQL("(originator_id = %s AND originator_version > %s)")] * len(versions))
        statement = SQL("SELECT originator_id, originator_version, topic, state FROM {t} "
                        "WHERE {terms} ORDER BY originator_id, originator_version").format(
                            t=self.table_sql, terms=terms)
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

    def _select(self, statement: Any, params: list[Any]) -> list[Any]:
        """The rows of one SELECT (asked again if the connection was lost: read_again)."""
        def read() -> list[Any]:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, params, prepare=True)
                return curs.fetchall()

        return read_again(read)
