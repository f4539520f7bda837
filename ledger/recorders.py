"""The ledger's event recorders: the library's SQLite and PostgreSQL application recorders,
extended so that every stored event carries its transaction time, the account that entered
it and its link in the audit chain — all written in the same transaction as the event. The
SQLite recorder and what both share are here; the PostgreSQL one is in
ledger.recorders_postgres (so an SQLite store never loads the PostgreSQL driver for it).

Positions (notification ids) are assigned here, one after another with no gap, while the
writer holds the store's write lock; so the chain, the positions and the transaction times
all follow one order, and "as of T" is always a prefix of the log.
"""

from __future__ import annotations

import os
import pwd
import socket
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from operator import attrgetter
from typing import TYPE_CHECKING, Any

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
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteDatastore,
    SQLiteTransaction,
)

from ledger.chain import (GENESIS, Record, chained_rows, check_next, stamp,
                          stored_records)
from ledger.guards import (APPEND_ONLY, event_state, identity_table, sqlite_guards,
                           sqlite_identity)
from ledger.faults import bounded_write
from ledger.settings import Settings

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresDatastore

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
    return chained_rows(head_hash, head_position, map(_EVENT_COLUMNS, stored_events),
                        recorded_at, account)


_EVENT_COLUMNS = attrgetter("originator_id", "originator_version", "topic", "state")


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

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], *,
                       unchanged: Mapping[str, int] | None = None,
                       **_: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        if unchanged:
            ids = list(unchanged)
            c.execute(f"SELECT originator_id, max(originator_version) FROM "
                      f"{self.events_table_name} WHERE originator_id IN "
                      f"({','.join('?' * len(ids))}) GROUP BY originator_id", ids)
            refuse_if_changed(dict(c.fetchall()), unchanged)
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
        return stored_records(rows)

    def select_aggregate_records(self, originator_id: str) -> list[Record]:
        """One aggregate's stored events in version order, with their stamps (through
        the (originator_id, originator_version) index: the cost does not grow with the log)."""
        rows = self._select(
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            f"recorded_at, account, hash FROM {self.events_table_name} "
            "WHERE originator_id = ? ORDER BY originator_version", [originator_id])
        return stored_records(rows)

    def max_position(self) -> int:
        rows = self._select(f"SELECT MAX(notification_id) FROM {self.events_table_name}", [])
        return rows[0][0] or 0

    def wait_durable(self) -> bool:
        """Nothing to wait for (False): an SQLite commit is synced before it returns, so
        whatever a reader saw is durable (PostgreSQL's recorder waits: docs/durability.md)."""
        return False

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

    def ids_with_prefix(self, prefix: str) -> list[str]:
        """Every aggregate id beginning with ``prefix``, in order (every unit, every
        person: few enough to read at once)."""
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return [row[0] for row in self._select(
            f"SELECT DISTINCT originator_id FROM {self.events_table_name} "
            "WHERE originator_id >= ? AND originator_id < ? ORDER BY 1", [prefix, upper])]

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


def refuse_if_changed(versions: Mapping[str, int], unchanged: Mapping[str, int]) -> None:
    """Refuse a write, as a conflict (``IntegrityError``: the unit of work decides again),
    when an aggregate its decision relied on (``unchanged``: id → version read) has events
    beyond that version (``versions``: id → the store's last, under the write lock)."""
    changed = sorted(key for key, version in unchanged.items()
                     if versions.get(key, 0) != version)
    if changed:
        raise IntegrityError(f"changed since the decision read them: {', '.join(changed)}")


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
