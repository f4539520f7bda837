"""The ``eventsourcing`` library's own recorder test cases, run against our recorders.

Our recorders extend the library's SQLite and PostgreSQL application recorders with the
audit chain; they must still keep every promise the library's recorders make. The library
ships the promises as ``unittest`` cases in ``eventsourcing.tests.persistence``; here each
one runs against ``LedgerSQLiteRecorder`` and ``LedgerPostgresRecorder``, with the settings
our ledger uses (text originator ids, so the cases make string ids).

The library's ``TrackingRecorderTestCase`` and ``ProcessRecorderTestCase`` are not run: the
project defines no tracking or process recorder of its own (its read models keep their
positions in their own tables), so there is nothing of ours for them to test.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)
from psycopg.sql import SQL, Identifier

from ledger.recorders import LedgerSQLiteRecorder
from ledger.recorders_postgres import LedgerPostgresRecorder
from ledger.store import StoreURL
from tests.conftest import POSTGRES, REQUIRE_POSTGRES, postgres_problem


class _TextIds:
    """Our ledger's aggregates have text ids; the library's cases default to UUIDs."""

    def new_originator_id(self) -> str:
        return str(uuid.uuid4())

    def tearDown(self) -> None:
        # The library's concurrency case tells its reader threads to stop but does not wait
        # for them; closing the store under a reader still inside SQLite would crash.
        for thread in threading.enumerate():
            if thread.name.endswith("(read_continuously)"):
                thread.join(timeout=30)
        super().tearDown()  # type: ignore[misc]


class _ReturnsNoneOnAggregateInterface:
    """The aggregate-recorder case expects ``insert_events`` to return None (an aggregate
    recorder has no positions); an application recorder returns the positions instead.
    The case is otherwise about storing and selecting one aggregate's events, which our
    recorder must do exactly as the library's does, so it runs through this thin view."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder

    def insert_events(self, stored_events: list[StoredEvent], **kwargs: Any) -> None:
        self.recorder.insert_events(stored_events, **kwargs)

    def select_events(self, *args: Any, **kwargs: Any) -> Any:
        return self.recorder.select_events(*args, **kwargs)


# --- SQLite -----------------------------------------------------------------------------

class _SQLite(_TextIds):
    def setUp(self) -> None:
        self._folder = TemporaryDirectory()
        self._datastores: list[SQLiteDatastore] = []
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        for datastore in self._datastores:
            datastore.close()
        self._folder.cleanup()

    def create_ledger_recorder(self) -> LedgerSQLiteRecorder:
        datastore = SQLiteDatastore(db_name=str(Path(self._folder.name) / "events.db"),
                                    originator_id_type="text", lock_timeout=30)
        self._datastores.append(datastore)
        recorder = LedgerSQLiteRecorder(datastore)
        recorder.create_table()
        return recorder


class TestSQLiteAggregateRecorder(_SQLite, AggregateRecorderTestCase):
    def create_recorder(self) -> Any:
        return _ReturnsNoneOnAggregateInterface(self.create_ledger_recorder())


class TestSQLiteApplicationRecorder(_SQLite, ApplicationRecorderTestCase):
    def create_recorder(self) -> LedgerSQLiteRecorder:
        return self.create_ledger_recorder()

    def test_empty_insert_records_nothing(self) -> None:
        recorder = self.create_recorder()
        assert not recorder.insert_events([])
        assert recorder.max_notification_id() is None


class TestSQLiteNonInterleaving(_SQLite, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> LedgerSQLiteRecorder:
        return self.create_ledger_recorder()


# --- PostgreSQL -------------------------------------------------------------------------

class _Postgres(_TextIds):
    def setUp(self) -> None:
        problem = postgres_problem()
        if problem:
            if REQUIRE_POSTGRES:
                pytest.fail(problem)
            pytest.skip(problem)
        url = StoreURL.parse(POSTGRES)
        self._schema = f"lib_{uuid.uuid4().hex[:12]}"
        self._datastores: list[PostgresDatastore] = []
        self._url = url
        admin = self._datastore("public")
        with admin.transaction(commit=True) as curs:
            curs.execute(SQL("CREATE SCHEMA {}").format(Identifier(self._schema)))
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        with self._datastores[0].transaction(commit=True) as curs:
            curs.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(self._schema)))
        for datastore in self._datastores:
            datastore.close()

    def _datastore(self, schema: str) -> PostgresDatastore:
        url = self._url
        datastore = PostgresDatastore(
            dbname=url.database, host=url.host, port=url.port, user=url.user,
            password=url.password, schema=schema, originator_id_type="text",
            pool_size=4, max_overflow=8, lock_timeout=30)
        self._datastores.append(datastore)
        return datastore

    def create_ledger_recorder(self) -> LedgerPostgresRecorder:
        recorder = LedgerPostgresRecorder(self._datastore(self._schema))
        recorder.create_table()
        return recorder


class TestPostgresAggregateRecorder(_Postgres, AggregateRecorderTestCase):
    def create_recorder(self) -> Any:
        return _ReturnsNoneOnAggregateInterface(self.create_ledger_recorder())


class TestPostgresApplicationRecorder(_Postgres, ApplicationRecorderTestCase):
    def create_recorder(self) -> LedgerPostgresRecorder:
        return self.create_ledger_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()

    def test_empty_insert_records_nothing(self) -> None:
        recorder = self.create_recorder()
        assert not recorder.insert_events([])
        assert recorder.max_notification_id() is None


class TestPostgresNonInterleaving(_Postgres, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> LedgerPostgresRecorder:
        return self.create_ledger_recorder()
