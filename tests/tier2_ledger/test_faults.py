"""A city's PostgreSQL store failing under taizhang's commands: faults injected with
``pg_terminate_backend`` against a command in each phase of its transaction and against an
import between batches, a lock held by another session for longer than the setting, a
write whose answer is lost, a session forgotten in its transaction. In each case no event
is lost or written twice, every error is one line, and the follower (running throughout)
brings the projections to the head by itself, equal to a rebuild. The follower's own
faults: test_follow_faults.py.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from cli_support import taizhang
from conftest import new_postgres_url, seed_campaign
from eventsourcing.persistence import OperationalError, StoredEvent
from fault_support import (TERMINATED, City, Process, Server, one_error_line, settled,
                           succeeded, until)
from fault_support import city  # noqa: F401 - the module's city, shared by its tests
from tests.tier2_ledger.test_import import ROWS, csv_mapping, write_csv
from said_support import english

from ledger import audit_transfer
from ledger.faults import WriteLost, WriteUnknown
from ledger.settings import Settings
from ledger.store import Store, StoreURL

# --- a command, in each phase of its transaction --------------------------------------------


def test_a_command_whose_read_is_cut_reads_again_and_is_written_once(city: City) -> None:
    """Cut while reading what it acts on (before its transaction): it reads again on a new
    connection; written once."""
    head, tasks = city.head(), city.tasks()
    with city.server.holding(f"LOCK TABLE {city.server.table} IN ACCESS EXCLUSIVE MODE"):
        command = city.assign(tasks, TAIZHANG_LOCK_TIMEOUT="30")
        city.server.terminate(until(city.server.waiting_for_table, what="a read waiting"))
        until(city.server.waiting_for_table, what="the read asked again")
    city.assigned(command)
    assert settled(city.url) == head + 1


@pytest.mark.parametrize("phase", ["lock", "insert", "commit"])
def test_a_command_cut_in_its_transaction_writes_nothing_and_says_so(city: City,
                                                                     phase: str) -> None:
    """Cut while waiting for the write lock, while inserting under it, or while
    committing: nothing is written, the command says so in one line, the write lock is
    free at once, and running the command again writes it once."""
    server, head = city.server, city.head()
    if phase == "lock":
        holding, key = server.write_lock(), server.table_oid()
    else:
        holding = server.gate("statement" if phase == "insert" else phase)
    with holding as gate:
        key = key if phase == "lock" else gate
        command = city.assign(TAIZHANG_LOCK_TIMEOUT="30")
        server.terminate(until(lambda: server.waiting_for_advisory(key),
                               what=f"the command stopped at {phase}"))
        line = one_error_line(command)
    assert line == (f"Error: store {city.where}: the connection to the store was lost while "
                    f"writing ({TERMINATED}); nothing was written: running the command "
                    "again is safe")
    assert city.head() == head
    city.assigned(city.assign())
    assert settled(city.url) == head + 1


def test_a_lock_holder_that_dies_releases_the_lock_at_once(city: City) -> None:
    head = city.head()
    with city.server.write_lock() as holder:
        command = city.assign(TAIZHANG_LOCK_TIMEOUT="60")
        until(lambda: city.server.waiting_for_advisory(city.server.table_oid()),
              what="the command waiting for the write lock")
        city.server.terminate(holder)
        released = time.monotonic()
        city.assigned(command)
    # Long before its 60 s wait would have ended: the lock went with its holder.
    assert time.monotonic() - released < 20
    assert settled(city.url) == head + 1


def test_a_lock_held_longer_than_the_setting_is_one_line_naming_the_setting(city: City) -> None:
    head = city.head()
    with city.server.write_lock():
        command = city.assign(TAIZHANG_LOCK_TIMEOUT="1", TAIZHANG_LOCK_RETRIES="1")
        line = one_error_line(command)
    assert line == (f"Error: store {city.where}: the ledger is busy: another session held a "
                    "lock this command needs for more than 1 s, 2 times; nothing was written "
                    "(raise TAIZHANG_LOCK_TIMEOUT to wait longer)")
    assert city.head() == head
    city.assigned(city.assign())
    assert settled(city.url) == head + 1


# --- an import, between batches -----------------------------------------------------------------


def test_an_import_cut_between_batches_resumes_when_run_again(city: City,
                                                              tmp_path: Path) -> None:
    tasks = city.tasks()
    rows = [[n, *ROWS[1][1:]] for n in range(1, 7)]  # six open items
    data, mapping = write_csv(tmp_path / "台账.csv", rows), csv_mapping(tmp_path)
    args = ["import", str(data), "--mapping", str(mapping), "--batch-size", "2"]
    with city.server.gate("statement", write=2) as gate:
        importing = Process(city.url, *args, env={"TAIZHANG_LOCK_TIMEOUT": "30"})
        city.server.terminate(until(lambda: city.server.waiting_for_advisory(gate),
                                    what="the second batch stopped"))
        line = one_error_line(importing)
    assert line == ("Error: import stopped after 2 of 6 rows: the connection to the store was "
                    f"lost while writing a batch ({TERMINATED}); that batch was not written, "
                    "the ones before it were: run the import again to resume")
    assert len(city.tasks()) == len(tasks) + 2
    out = succeeded(Process(city.url, *args, "--format", "json"))
    assert '"already_imported": 2' in out and '"tasks_created": 4' in out, out
    imported = city.tasks()[len(tasks):]
    assert len(imported) == len(set(imported)) == 6
    settled(city.url)


# --- a write whose answer is lost, the sessions' timeouts, the settings -------------------------


@pytest.fixture
def pg_store() -> Iterator[Store]:
    for url in new_postgres_url():
        store = Store(url, settings=Settings(lock_timeout=2, idle_timeout=1,
                                             statement_timeout=1))
        seed_campaign(store.ledger)
        try:
            yield store
        finally:
            store.close()


def test_a_write_committed_whose_answer_is_lost_is_reported_written_once(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server committed, then the connection died before the answer came: the store is
    asked, the command succeeds, and the events are there once (a blind retry would have
    assigned a second task)."""
    recorder: Any = pg_store.ledger.recorder
    append = recorder._append

    def committed_then_lost(columns: Any) -> Any:
        append(columns)
        raise OperationalError("server closed the connection") from psycopg.OperationalError(
            "consuming input failed: server closed the connection unexpectedly")

    monkeypatch.setattr(recorder, "_append", committed_then_lost)
    seeded = pg_store.ledger.max_position()
    assigned = pg_store.ledger.assign(actor_id="admin", unit="JS01", category="环境卫生",
                                      source="complaint", location="幸福路1号",
                                      description="乱堆乱放", deadline=date(2099, 1, 1))
    assert assigned["task"] == "T-000001"
    records = list(pg_store.ledger.records())
    assert [r.originator_id for r in records].count("T-000001") == 1
    assert len(records) == seeded + 1


def test_a_write_lost_before_it_reached_the_store_is_not_written(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder: Any = pg_store.ledger.recorder

    def lost(columns: Any) -> Any:
        raise OperationalError("no answer") from psycopg.OperationalError("no answer")

    monkeypatch.setattr(recorder, "_append", lost)
    seeded = pg_store.ledger.max_position()
    with pytest.raises(WriteLost) as lost_write:
        recorder.insert_events([StoredEvent("T-000009", 1, "t", b"{}")])
    assert english(lost_write.value).endswith(
        "lost while writing (no answer); nothing was written: running the command again is safe")
    assert pg_store.ledger.max_position() == seeded


def test_a_write_lost_with_the_store_out_of_reach_says_it_cannot_tell(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder: Any = pg_store.ledger.recorder

    def lost(*_: Any) -> Any:
        raise OperationalError("gone") from psycopg.OperationalError("network unreachable")

    monkeypatch.setattr(recorder, "_append", lost)
    monkeypatch.setattr(recorder, "_committed", lost)
    with pytest.raises(WriteUnknown) as unknown:
        recorder.insert_events([StoredEvent("T-000009", 1, "t", b"{}")])
    assert "lost while writing (network unreachable), and the store cannot be reached to see " \
        "whether the write was committed" in english(unknown.value)


def test_taizhang_sessions_carry_the_statement_and_idle_timeouts(pg_store: Store) -> None:
    datastore: Any = pg_store.ledger.recorder.datastore
    with datastore.get_connection() as conn:
        ledger_side = [conn.execute(f"SHOW {name}").fetchone()[name] for name in
                       ("statement_timeout", "idle_in_transaction_session_timeout")]
    with pg_store.engine.connect() as conn:
        read_side = [conn.exec_driver_sql(f"SHOW {name}").scalar_one() for name in
                     ("statement_timeout", "idle_in_transaction_session_timeout",
                      "lock_timeout")]
    assert (ledger_side, read_side) == (["1s", "1s"], ["1s", "1s", "2s"])
    with pg_store.engine.connect() as conn, pytest.raises(sa.exc.OperationalError,
                                                          match="statement timeout"):
        conn.exec_driver_sql("SELECT pg_sleep(10)")


def test_a_forgotten_session_holding_the_write_lock_is_ended_by_the_server(
        pg_store: Store) -> None:
    """One of taizhang's sessions takes the write lock and is then forgotten (a process
    stopped, a client hung) inside its transaction: the server ends it after the idle
    timeout, and the ledger takes writes again."""
    recorder: Any = pg_store.ledger.recorder
    with recorder.datastore.get_connection() as conn:
        conn.execute("BEGIN")
        for statement in recorder.lock_table_statements:
            conn.execute(statement)
        # Forgotten here; another writer, patient, waits only until the server ends it.
        writer = Store(pg_store.url.describe(), settings=Settings(lock_timeout=30))
        escalated = writer.ledger.assign(actor_id="admin", unit="JS01", category="环境卫生",
                                         source="complaint", location="幸福路1号",
                                         description="乱堆乱放", deadline=date(2099, 1, 1))
        assert escalated["task"] == "T-000001"
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            conn.execute("SELECT 1")
    writer.close()


def test_settings_are_whole_seconds_and_a_bad_one_is_one_error_line() -> None:
    assert Settings.from_env({}) == Settings(lock_timeout=3, lock_retries=1,
                                             statement_timeout=60, idle_timeout=10)
    assert Settings.from_env({"TAIZHANG_LOCK_TIMEOUT": " 2 ",
                              "TAIZHANG_IDLE_TIMEOUT": "0"}).lock_timeout == 2
    code, out, err = taizhang("sqlite:///unused.db", "board",
                              env={"TAIZHANG_LOCK_TIMEOUT": "5s"})
    assert (code, out, err) == (1, "", "Error: TAIZHANG_LOCK_TIMEOUT must be a whole number "
                                       "of seconds from 0 to 86400 (got '5s')\n")


def test_a_busy_sqlite_ledger_is_the_same_one_line(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    seed_campaign(store.ledger)
    store.close()
    holder = sqlite3.connect(StoreURL.parse(sqlite_url).path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        code, out, err = taizhang(sqlite_url, "unit", "add", "JS03", "--name", "新社区", "--kind", "社区", "--parent", "JS",
                                  env={"TAIZHANG_LOCK_TIMEOUT": "1",
                                       "TAIZHANG_LOCK_RETRIES": "0"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (code, out) == (1, "")
    assert err == (f"Error: store {StoreURL.parse(sqlite_url).describe()}: the ledger is "
                   "busy: another session held a lock this command needs for more than 1 s; "
                   "nothing was written (raise TAIZHANG_LOCK_TIMEOUT to wait longer)\n")


# --- restoring an export (audit import: one transaction) ----------------------------------------


def test_an_audit_import_cut_writes_nothing_and_runs_again(pg_store: Store,
                                                           tmp_path: Path) -> None:
    export = tmp_path / "ledger.jsonl"
    with open(export, "w", encoding="utf-8") as out:
        head = audit_transfer.export(pg_store.ledger, out)
    for url in new_postgres_url():
        Store(url).ledger.close()  # the event table, for the gate
        server = Server(url)
        with server.gate("statement") as gate:
            restoring = Process(url, "audit", "import", str(export),
                                env={"TAIZHANG_LOCK_TIMEOUT": "30"})
            server.terminate(until(lambda: server.waiting_for_advisory(gate),
                                   what="the restore stopped"))
            line = one_error_line(restoring)
        server.close()
        assert line == (f"Error: store {StoreURL.parse(url).describe()}: the connection to "
                        f"the store was lost while writing ({TERMINATED}); nothing was "
                        "written: running the command again is safe")
        restored = Store(url)
        assert restored.ledger.max_position() == 0
        lines = export.read_text("utf-8").splitlines()
        assert audit_transfer.import_ledger(restored.ledger, lines) == head
        restored.close()
        assert settled(url, followed=False) == head.position


def test_an_audit_import_committed_whose_answer_is_lost_is_reported_restored(
        pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export = tmp_path / "ledger.jsonl"
    with open(export, "w", encoding="utf-8") as out:
        head = audit_transfer.export(pg_store.ledger, out)
    for url in new_postgres_url():
        restored = Store(url)
        restored.ledger.max_position()
        commit = psycopg.Transaction.__exit__

        def committed_then_lost(self: Any, *exc: Any) -> Any:
            done = commit(self, *exc)
            if exc[0] is None:
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            return done

        monkeypatch.setattr(psycopg.Transaction, "__exit__", committed_then_lost)
        lines = export.read_text("utf-8").splitlines()
        assert audit_transfer.import_ledger(restored.ledger, lines) == head
        monkeypatch.undo()
        assert len(list(restored.ledger.records())) == head.position
        restored.close()
