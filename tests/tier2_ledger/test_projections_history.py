"""A task's history: read from its own events, as recorded by a moment, as of a day."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from said_support import refused

from domain.base import NotFound, Refused
from ledger.app import Ledger
from ledger.store import Store
from projections.read import ReadSide
from tests.conftest import Clock
from said_support import english


def assign(ledger: Ledger, unit: str = "JS01", **kw: object) -> str:
    return ledger.assign(actor_id="admin", unit=unit, category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放",
                         deadline=date(2024, 6, 10), **kw)["task"]  # type: ignore[arg-type]


def test_history_reads_only_the_tasks_own_events(store: Store, seeded: Ledger,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    first = assign(seeded)
    for _ in range(5):
        assign(seeded, unit="JS02")
    seeded.acknowledge(actor_id="zhao", task_id=first)
    asked: list[str] = []
    original = seeded.recorder.select_aggregate_records  # type: ignore[attr-defined]

    def aggregate_records(originator_id: str):  # type: ignore[no-untyped-def]
        asked.append(originator_id)
        return original(originator_id)

    monkeypatch.setattr(seeded.recorder, "select_aggregate_records", aggregate_records)
    monkeypatch.setattr(seeded, "records", lambda *a, **k: pytest.fail("read the whole log"))
    found = ReadSide(store).history(first)
    assert asked == [first]
    assert [e["event"] for e in found["events"]] == ["Assigned", "Acknowledged"]
    assert found["state"]["state"] == "acknowledged"


def test_history_as_of_and_valid_at_together(store: Store, seeded: Ledger,
                                            clock: Clock) -> None:
    """On a day, as the ledger knew it at a moment: a correction recorded after that moment
    is not applied."""
    zone = seeded.campaign().zone
    task = assign(seeded, occurred_at=datetime(2024, 5, 31, 10, 0, tzinfo=zone))
    seeded.acknowledge(actor_id="zhao", task_id=task,
                       occurred_at=datetime(2024, 5, 31, 16, 0, tzinfo=zone))
    read = ReadSide(store)
    before_correction = datetime.fromisoformat(
        list(seeded.records())[-1].recorded_at)
    clock.advance(minutes=5)  # transaction time is the ledger's clock
    seeded.correct(actor_id="admin", task_id=task, event=1,
                   changes={"occurred_at": datetime(2024, 5, 30, 10, 0,
                                                    tzinfo=zone).isoformat()},
                   reason="录入时间有误")
    now = read.history(task, valid_at=date(2024, 5, 30))
    assert now["state"]["state"] == "assigned"
    assert [e["event"] for e in now["events"]] == ["Assigned", "Corrected"]
    with pytest.raises(NotFound, match="在 2024-05-30 尚未交办（交办于 2024-05-31）"):
        read.at(before_correction).history(task, valid_at=date(2024, 5, 30))
    then = read.at(before_correction).history(task, valid_at=date(2024, 5, 31))
    assert then["state"]["state"] == "acknowledged"


def test_history_of_something_that_is_not_a_task_is_refused(store: Store,
                                                            seeded: Ledger) -> None:
    for record in ("campaign", "unit:JS01", "T-000009"):
        with pytest.raises(NotFound) as refused:
            ReadSide(store).history(record)
        assert english(refused.value) == f"unknown task: {record.upper()}"
    with pytest.raises(Refused, match="记录必须是任务"):
        ReadSide(store).record_history("campaign")
    with pytest.raises(NotFound, match="未知的测评：SV-000001"):
        ReadSide(store).record_history("sv-000001")
    assert ReadSide(store).record_history("unit:JS01")["events"][0]["event"] == "Registered"


def test_timeline_and_last_actors_read_what_the_event_table_holds(store: Store,
                                                                  seeded: Ledger) -> None:
    """The event index keeps no copy of an event's originator, version, kind, transaction
    time or account: the timeline and each task's last actor read them from the event
    table, at the index's positions."""
    first = assign(seeded)
    second = assign(seeded, unit="JS02")
    seeded.acknowledge(actor_id="zhao", task_id=first)
    read = ReadSide(store)
    assert [(r["position"], r["originator"], r["version"], r["kind"], r["recorded_at"],
             r["account"]) for r in read.timeline()] == [
        (r.position, r.originator_id, r.originator_version, r.topic.rsplit(":", 1)[-1],
         r.recorded_at, r.account) for r in seeded.records()]
    actors = read.last_actors()
    assert set(actors) == {first, second}
    assert (actors[first]["actor"], actors[second]["actor"]) == ("zhao", "admin")
