"""How the event store writes a save, on both backends: a command's few events and a bulk
save's thousands are chained exactly as ``ledger.chain`` computes (on PostgreSQL the first
by the server in the statement that inserts, the second by the recorder before a COPY), one
transaction time a save never before the head's, and a save over a stored event refused
whole, whichever way it goes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from conftest import Clock, new_postgres_url

from eventsourcing.persistence import IntegrityError, StoredEvent
from ledger.chain import GENESIS, fits
from ledger.faults import LedgerBusy
from ledger.recorders_postgres import BULK
from ledger.settings import Settings
from ledger.store import Store, StoreURL

ODD = ['T-"引号"', "a\\b", "tab\there", "ctl\x01", "中文/路径", "x" * 300]


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from new_postgres_url()


@pytest.fixture
def opened(store_url: str, clock: Clock) -> Iterator[Store]:
    store = Store(store_url, clock=clock)
    try:
        yield store
    finally:
        store.close()


def _events(prefix: str, count: int, version: int = 1) -> list[StoredEvent]:
    return [StoredEvent(f"{prefix}{ODD[n % len(ODD)]}-{n}", version,
                        f"topic:{ODD[n % len(ODD)]}", f"{{\"n\":{n}}}".encode())
            for n in range(count)]


def _chained(store: Store) -> list[Any]:
    """Every stored record, each checked to be the next link of the chain."""
    records = list(store.ledger.records())
    previous = GENESIS
    for position, record in enumerate(records, 1):
        assert record.position == position
        assert fits(record, position, previous), position
        previous = record.hash
    return records


def test_small_and_bulk_saves_chain_as_ledger_chain_computes(opened: Store,
                                                             clock: Clock) -> None:
    recorder: Any = opened.ledger.recorder
    saves = [_events("a", 1), _events("b", BULK), _events("c", 3), _events("d", BULK * 3 + 1),
             _events("e", 1)]
    positions = []
    for save in saves:
        positions.append(list(recorder.insert_events(save)))
        clock.advance(seconds=1)
    records = _chained(opened)
    assert [p for save in positions for p in save] == list(range(1, len(records) + 1))
    assert [(r.originator_id, r.originator_version, r.topic, r.state) for r in records] == [
        (e.originator_id, e.originator_version, e.topic, e.state) for s in saves for e in s]
    start = 0
    for n, save in enumerate(saves):  # one transaction time a save: the clock's
        times = {r.recorded_at for r in records[start:start + len(save)]}
        assert times == {(clock.now - timedelta(seconds=len(saves) - n)).isoformat(
            timespec="microseconds")}
        start += len(save)
    assert {r.account for r in records} == {opened.ledger.account}


@pytest.mark.parametrize("size", [1, BULK])
def test_a_save_is_never_recorded_before_the_head(opened: Store, clock: Clock,
                                                  size: int) -> None:
    recorder: Any = opened.ledger.recorder
    recorder.insert_events(_events("a", size))
    head_time = _chained(opened)[-1].recorded_at
    clock.advance(hours=-1)  # the clock went back
    recorder.insert_events(_events("b", size))
    records = _chained(opened)
    assert {r.recorded_at for r in records[size:]} == {head_time}


@pytest.mark.parametrize("size", [1, BULK])
def test_a_save_over_a_stored_event_is_refused_whole(opened: Store, size: int) -> None:
    recorder: Any = opened.ledger.recorder
    first = _events("a", size)
    recorder.insert_events(first)
    again = [*_events("b", size), first[-1]]
    with pytest.raises(IntegrityError):
        recorder.insert_events(again)
    assert len(_chained(opened)) == size
    # The connection writes on afterwards (on PostgreSQL the chained insert, deallocated
    # with the failed transaction, is prepared again).
    for n in range(3):
        recorder.insert_events(_events(f"c{n}", size))
    assert len(_chained(opened)) == size * 4


def test_one_connection_writes_through_refusals_and_lock_timeouts(pg_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL, with one pooled connection: every way a write can fail on it (a
    refusal, a lock waited on too long) leaves it writing the chain on."""
    env = StoreURL.event_store_env
    monkeypatch.setattr(StoreURL, "event_store_env", lambda self, settings: {
        **env(self, settings), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0"})
    store = Store(pg_url, settings=Settings(lock_timeout=1, lock_retries=0))
    recorder: Any = store.ledger.recorder
    try:
        recorder.insert_events(_events("a", 2))
        with pytest.raises(IntegrityError):
            recorder.insert_events(_events("a", 1))
        recorder.insert_events(_events("b", 2))
        parsed = StoreURL.parse(pg_url)
        with psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.user,
                             dbname=parsed.database) as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s::regclass::oid::bigint)",
                           [f'"{parsed.schema}"."taizhang_events"'])
            for size in (1, BULK):
                with pytest.raises(LedgerBusy):
                    recorder.insert_events(_events("c", size))
        for n, size in enumerate((1, BULK, 1)):
            recorder.insert_events(_events(f"d{n}", size))
        assert len(_chained(store)) == 2 + 2 + 1 + BULK + 1
    finally:
        store.close()
