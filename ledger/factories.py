"""The ledger's persistence factories: the library's SQLite and PostgreSQL ones, opening
connections as taizhang wants them (SQLite's keeping their compiled statements; every
session's waits bounded by ledger.settings) and handing those settings to the recorders
(ledger.recorders), which bound their lock waits by them. The PostgreSQL one is in
``ledger.factories_postgres``, so that a store on SQLite never loads the driver.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteFactory,
)

from ledger.settings import LONGEST, Settings

# Statements kept compiled per connection (sqlite3's own default).
STATEMENT_CACHE = 128


class _StatementCachingPool(SQLiteConnectionPool):
    """The library's SQLite connection pool, its connections keeping their compiled
    statements. The library opens them with ``cached_statements=True``, which sqlite3
    reads as a cache of one statement: a command's four statements (its read, BEGIN
    IMMEDIATE, the head's read, the insert) were each compiled again every time, about a
    quarter of a command's time outside the commit."""

    def _create_connection(self) -> SQLiteConnection:
        try:
            conn = sqlite3.connect(
                database=self.db_name, uri=True, check_same_thread=False,
                isolation_level=None, cached_statements=STATEMENT_CACHE,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT)
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        conn.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=conn, max_age=self.max_age)


class LedgerSQLiteFactory(SQLiteFactory):
    """The library's SQLite persistence, with connections that keep their statements."""

    def __init__(self, env: Any):
        super().__init__(env)
        self.settings = Settings.from_env(self.env)
        pool = self.datastore.pool
        self.datastore.pool = _StatementCachingPool(
            db_name=pool.db_name, lock_timeout=self.settings.lock_timeout or LONGEST,
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow, pool_timeout=pool.pool_timeout,
            max_age=pool.max_age, pre_ping=pool.pre_ping)
        pool.close()

    def application_recorder(self) -> Any:
        recorder = super().application_recorder()
        recorder.settings = self.settings
        return recorder
