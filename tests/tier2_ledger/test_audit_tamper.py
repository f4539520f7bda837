"""Tampering done directly in the database, with the append-only triggers dropped first, is
found by ``audit verify`` every time, at the position where it was done.

A random ledger (a campaign, tasks taken some way through their lifecycle, sometimes a
checkpoint) is tampered with in one of five ways: a byte of an event's state changed, a row
deleted, a forged row inserted (the rows after it moved up; its hash random or correctly
linked to the row before it), two rows swapped, or the tail cut off. A cut tail leaves a
chain that still verifies by itself; it shows against a checkpoint of the old head
(``verify --since``), as the missing position after the new end.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

import psycopg
import pytest
from said_support import english
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import audit, audit_checkpoints
from ledger.app import Ledger
from ledger.chain import Record, link
from ledger.store import Store
from tests.conftest import Clock, new_postgres_url, seed_campaign

STEPS = ("acknowledge", "notice", "report", "reinspect", "close")


@contextlib.contextmanager
def fresh_store(backend: str, folder: Any) -> Iterator[Store]:
    """A new, empty store (the hypothesis examples of one test share no fixture)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder}/ledger-{secrets.token_hex(6)}.db"
        store = Store(url, clock=Clock(datetime(2024, 6, 1, 9, tzinfo=timezone.utc)))
        try:
            yield store
        finally:
            store.close()
        return
    urls = new_postgres_url()
    store = Store(next(urls), clock=Clock(datetime(2024, 6, 1, 9, tzinfo=timezone.utc)))
    try:
        yield store
    finally:
        store.close()
        next(urls, None)


def build_ledger(ledger: Ledger, tasks: list[int], checkpoint_after: int | None) -> None:
    """A campaign, then each task taken ``steps`` steps through its lifecycle."""
    seed_campaign(ledger)
    for number, steps in enumerate(tasks):
        task = ledger.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                             location=f"幸福路{number}号", description="乱堆乱放",
                             deadline=date(2024, 6, 20))["task"]
        actions = [lambda t: ledger.acknowledge(actor_id="zhao", task_id=t),
                   lambda t: ledger.issue_notice(actor_id="li", task_id=t,
                                                 notice_no=f"ZG-{number}", requirements="清理"),
                   lambda t: ledger.report_rectification(actor_id="zhao", task_id=t,
                                                         description="已清理"),
                   lambda t: ledger.reinspect(actor_id="li", task_id=t, passed=True),
                   lambda t: ledger.close_task(actor_id="li", task_id=t, closure="verified",
                                               reason="整改到位")]
        for action in actions[:steps]:
            action(task)
        if checkpoint_after == number:
            audit_checkpoints.record_checkpoint(ledger, actor_id="sun", note="月中")


class Database:
    """Raw access to the event table, as someone with the database's keys would have."""

    def __init__(self, store: Store) -> None:
        self.url = store.url
        self.name = store.ledger.recorder.events_table_name  # type: ignore[attr-defined]
        if self.url.kind == "sqlite":
            self.conn: Any = sqlite3.connect(self.url.path, isolation_level=None)
            self.table = self.name
        else:
            self.conn = psycopg.connect(
                host=self.url.host, port=self.url.port, user=self.url.user,
                password=self.url.password or None, dbname=self.url.database,
                autocommit=True)
            self.table = f'"{self.url.schema}".{self.name}'

    def run(self, statement: str, *params: Any) -> list[Any]:
        if self.url.kind == "postgresql":
            statement = statement.replace("?", "%s")
        cursor = self.conn.execute(statement.format(t=self.table), params)
        return list(cursor.fetchall()) if cursor.description else []

    def drop_triggers(self) -> None:
        if self.url.kind == "sqlite":
            self.run(f"DROP TRIGGER {self.name}_no_update")
            self.run(f"DROP TRIGGER {self.name}_no_delete")
            self.run(f"DROP TRIGGER {self.name}_no_replace")
        else:
            self.run(f"DROP TRIGGER {self.name}_no_change ON {{t}}")
            self.run(f"DROP TRIGGER {self.name}_no_truncate ON {{t}}")
            self.run(f"DROP TRIGGER {self.name}_no_replace ON {{t}}")

    def move(self, old: int, new: int) -> None:
        self.run("UPDATE {t} SET notification_id = ? WHERE notification_id = ?", new, old)

    def shift_up_from(self, position: int, top: int) -> None:
        for old in range(top, position - 1, -1):
            self.move(old, old + 1)

    def insert(self, record: Record) -> None:
        self.run("INSERT INTO {t} (notification_id, originator_id, originator_version, "
                 "topic, state, recorded_at, account, hash) VALUES (?,?,?,?,?,?,?,?)",
                 *record)

    def close(self) -> None:
        self.conn.close()


def tamper(db: Database, records: list[Record], data: st.DataObject
           ) -> tuple[str, int]:
    """Do one random tampering; return its kind and the position it was done at."""
    n = len(records)
    kind = data.draw(st.sampled_from(["changed", "missing", "inserted", "out of order",
                                      "truncated"]), label="tampering")
    if kind == "changed":
        position = data.draw(st.integers(1, n), label="position")
        state = bytearray(records[position - 1].state)
        index = data.draw(st.integers(0, len(state) - 1), label="byte")
        state[index] ^= data.draw(st.integers(1, 255), label="xor")
        db.run("UPDATE {t} SET state = ? WHERE notification_id = ?", bytes(state), position)
        return kind, position
    if kind == "missing":
        position = data.draw(st.integers(1, n - 1), label="position")
        db.run("DELETE FROM {t} WHERE notification_id = ?", position)
        return kind, position
    if kind == "inserted":
        position = data.draw(st.integers(1, n), label="position")
        before = records[position - 2].hash if position > 1 else "0" * 64
        time = records[position - 1].recorded_at
        forged = Record(position, "T-999999", 1, "domain.task:Task.Assigned", b"{}", time,
                        "mallory@elsewhere", "")
        linked = data.draw(st.booleans(), label="correctly linked")
        forged = forged._replace(hash=link(before, *forged[:-1]) if linked
                                 else secrets.token_hex(32))
        db.shift_up_from(position, n)
        db.insert(forged)
        return kind, position
    if kind == "out of order":
        first = data.draw(st.integers(1, n - 1), label="first")
        second = data.draw(st.integers(first + 1, n), label="second")
        db.move(first, -1)
        db.move(second, first)
        db.move(-1, second)
        return kind, first
    keep = data.draw(st.integers(0, n - 1), label="kept")
    db.run("DELETE FROM {t} WHERE notification_id > ?", keep)
    return kind, keep + 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tasks=st.lists(st.integers(0, len(STEPS)), min_size=1, max_size=4),
       checkpoint=st.one_of(st.none(), st.integers(0, 3)), data=st.data())
def test_tampering_in_the_database_is_found_at_its_position(
        backend: str, tmp_path: Any, tasks: list[int], checkpoint: int | None,
        data: st.DataObject) -> None:
    with fresh_store(backend, tmp_path) as store:
        ledger = store.ledger
        build_ledger(ledger, tasks, checkpoint)
        records = list(ledger.records())
        old_head = audit.head(ledger)
        assert audit.verify(ledger).ok
        db = Database(store)
        try:
            db.drop_triggers()
            kind, position = tamper(db, records, data)
        finally:
            db.close()
        found = audit.verify(ledger)
        if kind == "truncated":
            assert found.ok and found.events == position - 1
            found = audit.verify(ledger, since=old_head)
            kind = "missing"
        assert found.broken is not None, (kind, position)
        assert (found.broken.position, found.broken.kind) == (position, kind), \
            found.broken.detail


def test_a_rewrite_that_recomputes_every_hash_is_caught_by_the_checkpoint_it_precedes(
        store: Store) -> None:
    ledger = store.ledger
    build_ledger(ledger, [5, 3], checkpoint_after=1)
    quoted = audit.recorded_checkpoints(ledger)[-1]
    records = list(ledger.records())
    # Event 3 is rewritten and every later hash recomputed, as someone who knows the
    # public encoding would; the checkpoint event keeps its quote of the old hash.
    rewritten, previous = [], records[1].hash
    for record in records[2:]:
        changed = record._replace(state=record.state.replace(b"JS01", b"JS02"))
        previous = link(previous, *changed[:-1])
        rewritten.append(changed._replace(hash=previous))
    db = Database(store)
    try:
        db.drop_triggers()
        db.run("DELETE FROM {t} WHERE notification_id >= 3")
        for record in rewritten:
            db.insert(record)
    finally:
        db.close()
    found = audit.verify(ledger)
    assert found.broken is not None
    assert (found.broken.position, found.broken.kind) == (quoted.position, "changed")
    assert f"checkpoint {quoted.number}" in english(found.broken)
