"""Transaction time is the ledger's clock when it runs on one of its own (a simulation, a
test), on both stores; never earlier than the event before it; and the store's own clock
for a ledger on the wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import Clock

from ledger.chain import stamp
from ledger.store import Store


def test_a_ledger_on_its_own_clock_records_by_it(store_url: str) -> None:
    clock = Clock(datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc))
    store = Store(store_url, clock=clock)
    try:
        ledger = store.ledger
        ledger.start_campaign(name="x", time_zone="Asia/Shanghai", categories=[],
                              required_inspections=1, admin_id="admin", admin_name="王")
        started = ledger.max_position()
        clock.advance(hours=2)
        ledger.register_unit(actor_id="admin", code="JS", name="建设街道", kind="街道")
        clock.now -= timedelta(days=1)  # a clock that runs back: time never does
        ledger.register_unit(actor_id="admin", code="HP", name="和平街道", kind="街道")
        times = [record.recorded_at for record in ledger.records()]
        nine, eleven = (stamp(datetime(2024, 3, 1, hour, 0, tzinfo=timezone.utc))
                        for hour in (9, 11))
        assert times == [nine] * started + [eleven] * 2
    finally:
        store.close()


def test_a_ledger_on_the_wall_clock_records_by_the_stores(store_url: str) -> None:
    before = datetime.now(timezone.utc)
    store = Store(store_url)
    try:
        ledger = store.ledger
        ledger.start_campaign(name="x", time_zone="Asia/Shanghai", categories=[],
                              required_inspections=1, admin_id="admin", admin_name="王")
        recorded = datetime.fromisoformat(next(ledger.records()).recorded_at)
        # The writing process's clock on SQLite, the server's on PostgreSQL (the same
        # machine's here, give or take a little).
        assert before - timedelta(seconds=5) <= recorded <= datetime.now(timezone.utc) \
            + timedelta(seconds=5)
    finally:
        store.close()
