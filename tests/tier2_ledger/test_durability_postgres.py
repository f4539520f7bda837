"""Durability on PostgreSQL (docs/durability.md): a chained write commits asynchronously
under the write lock and waits for its flush outside it, before it returns; what a reader
publishes is made durable first; a session that cannot wait so commits synchronously; and
the bulk copy's skipped guard probe protects nothing the keys and triggers do not."""

from __future__ import annotations

import uuid
from datetime import date
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Identifier

from ledger import audit, durability_postgres, recorders_postgres_reads
from ledger.guards import CHAINED_COPY
from ledger.store import Store, StoreURL
from tests.conftest import POSTGRES, Clock, new_postgres_url, seed_campaign
from tests.tier2_ledger.test_audit_tamper import Database
from tests.tier2_ledger.test_store_guards import POSTGRES_REPLACING


def connect(url: StoreURL, **options: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(host=url.host, port=url.port, user=options.pop("user", url.user),
                           password=url.password or None,
                           dbname=options.pop("dbname", url.database), autocommit=True)


@pytest.fixture
def url() -> Iterator[str]:
    yield from new_postgres_url()


@pytest.fixture
def walinspect() -> Iterator[psycopg.Connection[Any]]:
    """A scratch database with pg_walinspect (an extension is installed once a database,
    so not in the shared one), dropped afterwards: the WAL's records, read back."""
    server = StoreURL.parse(POSTGRES)
    name = f"t_wal_{uuid.uuid4().hex[:10]}"
    with connect(server) as admin:
        admin.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    try:
        with connect(server, dbname=name) as conn:
            try:
                conn.execute("CREATE EXTENSION pg_walinspect")
            except psycopg.Error as error:
                pytest.skip(f"pg_walinspect not available: {error}")
            yield conn
    finally:
        with connect(server) as admin:
            admin.execute(SQL("DROP DATABASE {} WITH (FORCE)").format(Identifier(name)))


def commit_records(wal: psycopg.Connection[Any], start: str, end: str, xid: int
                   ) -> list[str]:
    """Where the commit records of transaction ``xid`` end in the WAL between ``start``
    and ``end`` (pg_walinspect reads only WAL flushed)."""
    return [row[0] for row in wal.execute(
        "SELECT end_lsn::text FROM pg_get_wal_records_info(%s::pg_lsn, %s::pg_lsn) "
        "WHERE resource_manager = 'Transaction' AND record_type = 'COMMIT' "
        "AND xid = %s::xid", [start, end, str(xid)])]


def logical_messages(wal: psycopg.Connection[Any], start: str, end: str) -> int:
    row = wal.execute("SELECT count(*) FROM pg_get_wal_records_info(%s::pg_lsn, %s::pg_lsn) "
                      "WHERE resource_manager = 'LogicalMessage'", [start, end]).fetchone()
    return int(row[0]) if row else 0


def test_a_command_returns_only_after_its_asynchronous_commit_is_flushed(
        url: str, clock: Clock, walinspect: psycopg.Connection[Any]) -> None:
    store = Store(url, clock=clock)
    seed_campaign(store.ledger)
    db = Database(store)
    try:
        for n in range(5):
            start = db.run("SELECT pg_current_wal_insert_lsn()::text")[0][0]
            task = store.ledger.assign(actor_id="li", unit="JS01", category="环境卫生",
                                       source="inspection", location=f"幸福路{n}号",
                                       description="乱堆乱放",
                                       deadline=date(2099, 12, 31))["task"]
            flushed = db.run("SELECT pg_current_wal_flush_lsn()::text")[0][0]
            xid = db.run("SELECT xmin::text::bigint FROM {t} WHERE originator_id = ?",
                         task)[0][0]
            # Its commit record is in the WAL flushed when it returned ...
            ends = commit_records(walinspect, start, flushed, xid)
            assert len(ends) == 1, (start, flushed, xid)
            # ... flushed by the barrier after it (the write committed asynchronously).
            assert logical_messages(walinspect, ends[0], flushed) >= 1
    finally:
        db.close()
        store.close()


def test_a_barrier_flushes_an_earlier_asynchronous_commit_for_a_writer_role(
        url: str) -> None:
    """Of a role that may only INSERT and SELECT: the barrier is allowed, and its commit
    flushes the WAL beyond an asynchronous commit made before it."""
    parsed = StoreURL.parse(url)
    role = f"t_writer_{uuid.uuid4().hex[:10]}"
    with connect(parsed) as admin:
        admin.execute(SQL("CREATE SCHEMA {s}; CREATE TABLE {s}.t (n bigint); "
                          "CREATE ROLE {r} LOGIN; GRANT USAGE ON SCHEMA {s} TO {r}; "
                          "GRANT INSERT, SELECT ON {s}.t TO {r}").format(
                              s=Identifier(parsed.schema), r=Identifier(role)))
    try:
        with connect(parsed, user=role) as conn:
            assert durability_postgres.can_wait(conn)
            for _ in range(20):
                conn.execute(SQL("BEGIN; {0}; INSERT INTO {1}.t VALUES (1); COMMIT").format(
                    SQL(durability_postgres.ASYNC_COMMIT), Identifier(parsed.schema)))
                end = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
                durability_postgres.wait_flushed(conn)
                assert conn.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn",
                                    [end[0]]).fetchone() == (True,)
    finally:
        with connect(parsed) as admin:
            admin.execute(SQL("DROP SCHEMA {s} CASCADE; DROP ROLE {r}").format(
                s=Identifier(parsed.schema), r=Identifier(role)))


def test_a_head_is_durable_when_read(url: str, clock: Clock) -> None:
    """What a witness, an export or a published figure quotes: the WAL flushed at least to
    where it ended once the head was read."""
    store = Store(url, clock=clock)
    seed_campaign(store.ledger)
    db = Database(store)
    try:
        with connect(store.url) as other:  # a write of another session, not waited for
            other.execute(SQL("BEGIN; {0}; CREATE TEMP TABLE x (n int); COMMIT").format(
                SQL(durability_postgres.ASYNC_COMMIT)))
            end = db.run("SELECT pg_current_wal_insert_lsn()::text")[0][0]
            store.ledger.head()
            assert db.run("SELECT pg_current_wal_flush_lsn() >= ?::pg_lsn", end)[0][0]
    finally:
        db.close()
        store.close()


def test_a_session_that_cannot_wait_commits_synchronously(
        url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the barrier (a revoked function, a standby) the writes are the same chain,
    committed the old way; and a store written both ways verifies."""
    monkeypatch.setattr(recorders_postgres_reads, "can_wait", lambda conn: False)
    store = Store(url, clock=clock)
    seed_campaign(store.ledger)
    recorder: Any = store.ledger.recorder
    assert not any(recorder._can_wait.values())
    text = recorder.append_transaction[False].as_string(None)
    assert "synchronous_commit" not in text and "pg_logical_emit_message" not in text
    store.close()
    monkeypatch.undo()
    store = Store(url, clock=clock)
    store.ledger.register_unit(actor_id="admin", code="JS03", name="友谊社区", kind="社区",
                               parent="JS")
    assert all(store.ledger.recorder._can_wait.values())  # type: ignore[attr-defined]
    assert audit.verify(store.ledger).ok
    store.close()


def test_skipping_the_insert_probe_replaces_nothing(url: str, clock: Clock) -> None:
    """Any session may say CHAINED_COPY: each form that would put a row over a stored event
    is then still refused (by the keys or the UPDATE trigger), or writes nothing."""
    store = Store(url, clock=clock)
    seed_campaign(store.ledger)
    before = list(store.ledger.records())
    db = Database(store)
    try:
        for statement in POSTGRES_REPLACING:
            db.run("BEGIN")
            db.run(CHAINED_COPY)
            try:
                db.run(statement)
            except psycopg.Error:
                pass
            db.run("ROLLBACK" if db.conn.info.transaction_status == TransactionStatus.INERROR
                   else "COMMIT")
            assert list(store.ledger.records()) == before, statement
    finally:
        db.close()
    assert list(store.ledger.records()) == before
    store.close()
