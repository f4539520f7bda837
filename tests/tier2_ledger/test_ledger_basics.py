"""The application on both backends: a task's lifecycle is stored and reloaded."""

from __future__ import annotations

from datetime import date

import pytest
from said_support import refused

from domain.base import NotFound, Refused
from ledger.app import Ledger
from ledger.store import Store
from ledger.tasks import Finding


def test_task_lifecycle_is_stored_and_reloaded(seeded: Ledger) -> None:
    visit = seeded.inspect(actor_id="li", unit="JS01", findings=[
        Finding("环境卫生", "幸福路12号", "电线杆牛皮癣", date(2024, 6, 8))])
    task_id = visit["tasks"][0]
    seeded.acknowledge(actor_id="zhao", task_id=task_id)
    seeded.issue_notice(actor_id="li", task_id=task_id, notice_no="ZG-001",
                        requirements="清除小广告")
    seeded.report_rectification(actor_id="zhao", task_id=task_id, description="已清除",
                                evidence=[{"file": "after.jpg"}])
    seeded.reinspect(actor_id="li", task_id=task_id, passed=True)
    closed = seeded.close_task(actor_id="li", task_id=task_id, closure="verified",
                               reason="整改到位")
    assert closed["state"] == "closed" and closed["closure"] == "verified"
    assert seeded.task(task_id).version == 6


def test_unit_cannot_close_its_own_task(seeded: Ledger) -> None:
    task = seeded.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放", deadline=date(2024, 6, 5))
    before = seeded.max_position()
    with refused(Refused, match="zhao .unit. may not close"):
        seeded.close_task(actor_id="zhao", task_id=task["task"], closure="void", reason="不是我们的")
    assert seeded.max_position() == before


def test_unknown_task_is_refused_by_name(seeded: Ledger) -> None:
    with pytest.raises(NotFound, match="未知的任务：T-999999"):
        seeded.acknowledge(actor_id="zhao", task_id="T-999999")


def test_records_carry_a_chained_hash_and_the_entering_account(seeded: Ledger) -> None:
    records = list(seeded.records())
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    assert len({r.hash for r in records}) == len(records)
    assert all(r.account for r in records)
    assert [r.recorded_at for r in records] == sorted(r.recorded_at for r in records)


def test_a_command_sees_what_another_process_wrote_since_it_last_looked(
        seeded: Ledger, store_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    task = seeded.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放", deadline=date(2024, 6, 5))
    seeded.acknowledge(actor_id="zhao", task_id=task["task"])  # both now cached here
    seeded.issue_notice(actor_id="li", task_id=task["task"], notice_no="ZG-001")
    other = Store(store_url, clock=clock)
    try:
        other.ledger.report_rectification(actor_id="zhao", task_id=task["task"],
                                          description="已清理")
        other.ledger.retire_person(actor_id="admin", person_id="li", reason="调离督查组")
    finally:
        other.close()
    with refused(Refused, match="retired"):
        seeded.reinspect(actor_id="li", task_id=task["task"], passed=True)
    passed = seeded.reinspect(actor_id="zhou", task_id=task["task"], passed=True)
    assert passed["version"] == 5 and passed["state"] == "verified"


def test_an_unknown_actor_or_task_is_named_and_nothing_is_written(seeded: Ledger) -> None:
    before = seeded.max_position()
    with pytest.raises(NotFound, match="未知的人员：nobody"):
        seeded.escalate(actor_id="nobody", task_id="T-000001", reason="督办")
    with pytest.raises(NotFound, match="未知的任务：T-000001"):
        seeded.escalate(actor_id="", task_id="T-000001",
                        reason="督办")  # no one named: the account's own person
    with pytest.raises(Refused, match="任务编号不能为空"):
        seeded.escalate(actor_id="admin", task_id="  ", reason="督办")
    assert seeded.max_position() == before


def test_events_of_several_aggregates_are_read_after_the_versions_given(
        seeded: Ledger) -> None:
    found = seeded.recorder.select_events_after(  # type: ignore[attr-defined]
        {"person:admin": 0, "unit:JS01": 1, "person:nobody": 0})
    assert [e.originator_version for e in found["person:admin"]] == [1]
    assert "unit:JS01" not in found and "person:nobody" not in found
    assert all(isinstance(e.state, bytes) for e in found["person:admin"])
    assert seeded.recorder.select_events_after({}) == {}  # type: ignore[attr-defined]
