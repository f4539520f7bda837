"""The application on both backends: a task's lifecycle is stored and reloaded."""

from __future__ import annotations

from datetime import date

import pytest

from domain.base import NotFound, Refused
from ledger.app import Finding, Ledger


def test_task_lifecycle_is_stored_and_reloaded(seeded: Ledger) -> None:
    visit = seeded.inspect("li", unit="JS01", findings=[
        Finding("环境卫生", "幸福路12号", "电线杆牛皮癣", date(2024, 6, 8))])
    task_id = visit["tasks"][0]
    seeded.acknowledge("zhao", task_id)
    seeded.issue_notice("li", task_id, "ZG-001", "清除小广告")
    seeded.report_rectification("zhao", task_id, "已清除", [{"file": "after.jpg"}])
    seeded.reinspect("li", task_id, passed=True)
    closed = seeded.close_task("li", task_id, "verified", "整改到位")
    assert closed["state"] == "closed" and closed["closure"] == "verified"
    assert seeded.task(task_id).version == 6


def test_unit_cannot_close_its_own_task(seeded: Ledger) -> None:
    task = seeded.assign("admin", unit="JS01", category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放", deadline=date(2024, 6, 5))
    before = seeded.max_position()
    with pytest.raises(Refused, match="zhao .unit. may not close"):
        seeded.close_task("zhao", task["task"], "void", "不是我们的")
    assert seeded.max_position() == before


def test_unknown_task_is_refused_by_name(seeded: Ledger) -> None:
    with pytest.raises(NotFound, match="unknown task: T-999999"):
        seeded.acknowledge("zhao", "T-999999")


def test_records_carry_a_chained_hash_and_the_entering_account(seeded: Ledger) -> None:
    records = list(seeded.records())
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    assert len({r.hash for r in records}) == len(records)
    assert all(r.account for r in records)
    assert [r.recorded_at for r in records] == sorted(r.recorded_at for r in records)
