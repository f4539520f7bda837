"""The follower of a city's PostgreSQL store under faults: its connections terminated
(waiting, and in the middle of a batch), a lock it needs held, the network to the server
cut, an error that waiting cannot cure. It reconnects with bounded pauses, one line per
attempt, and catches up by itself: nothing skipped, nothing folded twice.
"""

from __future__ import annotations

import json
import re
import threading
from functools import partialmethod

import pytest
from cli_support import Cli, taizhang
from conftest import new_postgres_url, seed_campaign
from fault_support import City, Link, Process, Server, settled, until
from fault_support import city  # noqa: F401 - the module's city, shared by its tests

from ledger.store import Store, StoreURL
from projections.engine import Projector
from projections.follow import follow
from projections.read import ReadSide


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
            # Refused by the (cut) network, or the pool's wait for a connection ran out
            # (TAIZHANG_CONNECT_TIMEOUT) while its own attempts were being refused.
            follower.expect(r"connection lost \(.*(Connection refused|couldn't get a "
                            r"connection after 5\.00 sec)\); reconnecting in 1 s "
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
        seeded = store.ledger.max_position()
        store.close()
        server = Server(url)
        follower = Process(url, "projections", "follow")
        try:
            follower.expect(rf"\+{seeded} events, at position {seeded}, lag 0")
            server.execute(f"ALTER TABLE {server.table} RENAME TO moved_away")
            server.execute(f"NOTIFY \"{server.url.schema}.taizhang_events\"")
            code, out, lines = follower.finish()
        finally:
            follower.kill()
            server.close()
        assert (code, out) == (1, "")
        assert lines[-1] == (f"Error: store {StoreURL.parse(url).describe()}: relation "
                             f'"{server.url.schema}.taizhang_events" does not exist'), lines


def test_a_stop_asked_during_a_long_catch_up_is_obeyed_after_the_batch(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """TERM while a night's import is being folded: the follower stops after the batch
    that committed, not at the end of the backlog (a service manager waits only so long)."""
    store = Store(sqlite_url)
    seed_campaign(store.ledger)
    monkeypatch.setattr(Projector, "catch_up", partialmethod(Projector.catch_up, batch=2))
    stop = threading.Event()
    batches: list[tuple[int, int, int]] = []

    def report(folded: int, at: int, lag: int) -> None:
        batches.append((folded, at, lag))
        stop.set()

    seeded = store.ledger.max_position()
    assert follow(ReadSide(store), stop, report=report) == 2
    assert batches == [(2, 2, seeded - 2)]
    assert set(ReadSide(store).projector.positions().values()) == {2}
    store.close()


def test_a_pause_bound_below_half_a_second_is_one_usage_error(sqlite_url: str) -> None:
    Cli(sqlite_url).usage_refused(
        "projections", "follow", "--max-backoff", "0.1",
        message="Invalid value for '--max-backoff': 0.1 is not in the range x>=0.5.")
