"""A city's PostgreSQL store failing under taizhang: faults injected with
``pg_terminate_backend`` against the follower, against a command in each phase of its
transaction and against an import between batches, and a lock held by another session for
longer than the setting. In each case no event is lost or written twice, the projections
equal a rebuild, every error is one line, and the follower catches up by itself.
"""

from __future__ import annotations

import json
import re
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
from fault_support import Link, Process, Server, settled, until
from test_import import ROWS, csv_mapping, write_csv

from ledger.faults import WriteLost, WriteUnknown
from ledger.settings import Settings
from ledger.store import Store, StoreURL

TERMINATED = "terminating connection due to administrator command"


class City:
    """A seeded ledger on PostgreSQL, its follower running as a service would (patient:
    its lock timeout 30 s), shared by the tests of this module: each starts where the last
    left the ledger, with the follower at its head."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = StoreURL.parse(url).describe()
        self.server = Server(url)
        store = Store(url)
        seed_campaign(store.ledger)
        store.close()
        self.follower = Process(url, "projections", "follow",
                                env={"TAIZHANG_LOCK_TIMEOUT": "30"})
        self.follower.expect(r"connected: at position 0")
        self.follower.expect(r"\+11 events, at position 11, lag 0")

    def assign(self, before: list[str] | None = None, **env: str) -> Process:
        """``task assign`` started (the tasks recorded before it kept: ``before``)."""
        before = self.tasks() if before is None else before
        process = Process(self.url, "task", "assign", "--unit", "JS01", "--category",
                          "环境卫生", "--source", "complaint", "--location", "幸福路12号",
                          "--description", "乱堆乱放", "--deadline", "2099-01-01", env=env)
        process.before = before  # type: ignore[attr-defined]
        return process

    def assigned(self, process: Process) -> str:
        """The task a successful assignment created: a new one, recorded once."""
        before = process.before  # type: ignore[attr-defined]
        task = succeeded(process).split()[0]
        assert self.tasks() == [*before, task] and task not in before, (task, before)
        return task

    def head(self) -> int:
        store = Store(self.url)
        try:
            return store.ledger.max_position()
        finally:
            store.close()

    def tasks(self) -> list[str]:
        """The tasks in the log, one per assignment recorded."""
        store = Store(self.url)
        try:
            return [r.originator_id for r in store.ledger.records()
                    if r.topic.endswith("Task.Assigned")]
        finally:
            store.close()


@pytest.fixture(scope="module")
def city() -> Iterator[City]:
    for url in new_postgres_url():
        made = City(url)
        try:
            yield made
            code, _, lines = made.follower.stop()
            assert code == 0, lines
            assert not [line for line in lines if "Traceback" in line], lines
        finally:
            made.follower.kill()
            made.server.close()


def one_error_line(process: Process, code: int = 1) -> str:
    returned, out, lines = process.finish()
    assert (returned, out) == (code, ""), (returned, out, lines)
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    return lines[0]


def succeeded(process: Process) -> str:
    returned, out, lines = process.finish()
    assert (returned, lines) == (0, []), (returned, out, lines)
    return out


# --- the follower -----------------------------------------------------------------------------


def test_the_follower_reconnects_after_its_connections_are_terminated(city: City) -> None:
    follower, head = city.follower, city.head()
    assert city.server.terminate_process(follower.pid)
    follower.expect(r"connection lost \(.+\); reconnecting in 0\.5 s \(attempt 1\)")
    follower.expect(rf"reconnected: at position {head}")
    # What was written after it came back, and between a loss and the reconnection: once.
    first = city.assigned(city.assign())
    follower.expect(rf"\+1 event, at position {head + 1}, lag 0")
    assert city.server.terminate_process(follower.pid)
    second = city.assigned(city.assign())
    follower.expect(rf"reconnected: at position ({head + 1}|{head + 2})")
    assert settled(city.url) == head + 2
    assert city.tasks()[-2:] == [first, second]
    # `projections status` says when it last advanced them.
    code, out, _ = taizhang(city.url, "projections", "status", "--format", "json")
    status = json.loads(out)
    assert code == 0 and {(r["position"], r["lag"]) for r in status} == {(head + 2, 0)}
    assert len({r["follower_advanced"] for r in status}) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status[0]["follower_advanced"])


def test_the_follower_waits_out_a_lock_with_growing_pauses(city: City) -> None:
    """A follower that cannot take the projections' positions (a rebuild, or a session
    forgotten holding them) tries again, 0.5 s, 1 s … apart, one line per attempt (this
    one's lock timeout: 1 s)."""
    head = city.head()
    follower = Process(city.url, "projections", "follow", env={"TAIZHANG_LOCK_TIMEOUT": "1"})
    try:
        follower.expect(rf"connected: at position {head}")
        positions = f'SELECT * FROM "{city.server.url.schema}".rm_positions FOR UPDATE'
        with city.server.holding(positions):
            city.assigned(city.assign())
            for attempt, pause in [(1, "0.5"), (2, "1")]:
                follower.expect(r"waited too long for a lock \(canceling statement due to "
                                rf"lock timeout\); reconnecting in {pause} s \(attempt "
                                rf"{attempt}\)")
        follower.expect(rf"reconnected: at position ({head}|{head + 1})")
        assert settled(city.url) == head + 1
    finally:
        code, _, lines = follower.stop()
    assert code == 0 and lines[-1] == f"stopped at position {head + 1}", lines


def test_the_follower_cut_in_the_middle_of_a_batch_folds_it_again_once(city: City) -> None:
    """Its connection terminated after it folded a batch's rows, before the batch and its
    positions committed: the batch is rolled back, and folded again after the
    reconnection — not skipped, not twice."""
    follower, head = city.follower, city.head()
    follower.skip()
    with city.server.gate("statement", table="rm_positions") as gate:
        city.assigned(city.assign())
        until(lambda: city.server.waiting_for_advisory(gate), what="the batch stopped")
        assert city.server.terminate_process(follower.pid)
    follower.expect(r"connection lost \(.+\); reconnecting in 0\.5 s \(attempt 1\)")
    follower.expect(rf"reconnected: at position {head}")
    follower.expect(rf"\+1 event, at position {head + 1}, lag 0")
    assert settled(city.url) == head + 1


def test_the_follower_waits_for_a_store_it_cannot_reach_with_bounded_pauses(
        city: City) -> None:
    """The network between a follower and the server drops, and stays down a while: each
    attempt to reconnect is refused and logged, the pauses grow to --max-backoff and no
    further, and when the network is back the follower catches up on what was written
    meanwhile (by others, who could still reach the server)."""
    link, head = Link(city.url), city.head()
    follower = Process(link.url, "projections", "follow", "--max-backoff", "1")
    try:
        follower.expect(rf"connected: at position {head}")
        link.cut()
        follower.expect(r"connection lost \(.+\); reconnecting in 0\.5 s \(attempt 1\)")
        city.assigned(city.assign())
        for attempt in (2, 3):
            follower.expect(r"connection lost \(.*Connection refused\); reconnecting in 1 s "
                            rf"\(attempt {attempt}\)")
        link.restore()
        follower.expect(rf"reconnected: at position ({head}|{head + 1})")
    finally:
        code, _, lines = follower.stop()
        link.cut()
    assert code == 0 and lines[-1] == f"stopped at position {head + 1}", lines
    assert settled(city.url) == head + 1


def test_the_follower_ends_on_an_error_that_waiting_cannot_cure() -> None:
    for url in new_postgres_url():
        store = Store(url)
        seed_campaign(store.ledger)
        store.close()
        server = Server(url)
        follower = Process(url, "projections", "follow")
        try:
            follower.expect(r"\+11 events, at position 11, lag 0")
            server.execute(f"ALTER TABLE {server.table} RENAME TO moved_away")
            server.execute(f"NOTIFY \"{server.url.schema}.taizhang_events\"")
            code, out, lines = follower.finish()
        finally:
            follower.kill()
            server.close()
        assert (code, out) == (1, "")
        assert lines[-1] == (f"Error: store {StoreURL.parse(url).describe()}: relation "
                             f'"{server.url.schema}.taizhang_events" does not exist'), lines


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
    assigned = pg_store.ledger.assign("admin", unit="JS01", category="环境卫生",
                                      source="complaint", location="幸福路1号",
                                      description="乱堆乱放", deadline=date(2099, 1, 1))
    assert assigned["task"] == "T-000001"
    records = list(pg_store.ledger.records())
    assert [r.originator_id for r in records].count("T-000001") == 1
    assert len(records) == 12


def test_a_write_lost_before_it_reached_the_store_is_not_written(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder: Any = pg_store.ledger.recorder

    def lost(columns: Any) -> Any:
        raise OperationalError("no answer") from psycopg.OperationalError("no answer")

    monkeypatch.setattr(recorder, "_append", lost)
    with pytest.raises(WriteLost, match=r"lost while writing \(no answer\); nothing was "
                                        "written: running the command again is safe"):
        recorder.insert_events([StoredEvent("T-000009", 1, "t", b"{}")])
    assert pg_store.ledger.max_position() == 11


def test_a_write_lost_with_the_store_out_of_reach_says_it_cannot_tell(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder: Any = pg_store.ledger.recorder

    def lost(*_: Any) -> Any:
        raise OperationalError("gone") from psycopg.OperationalError("network unreachable")

    monkeypatch.setattr(recorder, "_append", lost)
    monkeypatch.setattr(recorder, "_committed", lost)
    with pytest.raises(WriteUnknown, match=r"lost while writing \(network unreachable\), "
                                           "and the store cannot be reached to see whether "
                                           "the write was committed"):
        recorder.insert_events([StoredEvent("T-000009", 1, "t", b"{}")])


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
        escalated = writer.ledger.assign("admin", unit="JS01", category="环境卫生",
                                         source="complaint", location="幸福路1号",
                                         description="乱堆乱放", deadline=date(2099, 1, 1))
        assert escalated["task"] == "T-000001"
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            conn.execute("SELECT 1")
    writer.close()


def test_settings_are_whole_seconds_and_a_bad_one_is_one_error_line() -> None:
    assert Settings.from_env({}) == Settings(lock_timeout=5, lock_retries=1,
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
