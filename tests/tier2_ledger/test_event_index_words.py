"""The event index (version 5) keeps no summary, reason or evidence: the timeline says them
from each event as it reads it. What it says is what the record's own history says of the
same event (``projections/history.py``, which folds the record's events apart), in either
language, and a changed state is refused rather than said."""

from __future__ import annotations

from datetime import date

import pytest

from i18n import speaking
from ledger.app import Ledger
from ledger.chain import Tampered
from ledger.store import Store
from projections.read import ReadSide


def test_the_timeline_says_each_event_as_its_records_history_does(store: Store,
                                                                  seeded: Ledger) -> None:
    task = seeded.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放",
                         deadline=date(2024, 6, 10))["task"]
    seeded.acknowledge(actor_id="zhao", task_id=task)
    seeded.escalate(actor_id="admin", task_id=task, reason="群众再次投诉")
    seeded.issue_notice(actor_id="admin", task_id=task, notice_no="ZG-1",
                        requirements="限期清理")
    seeded.report_rectification(
        actor_id="zhao", task_id=task, description="已清理",
        evidence=[{"file": "after.jpg", "description": "整改后", "sha256": "ab" * 32},
                  {"file": "video.mp4", "elsewhere": True}])
    seeded.reinspect(actor_id="li", task_id=task, passed=False, note="仍有堆放")
    read = ReadSide(store)
    for lang in ("zh", "en"):
        with speaking(lang):
            said = {r["position"]: (r["summary"], r["reason"], r["evidence"])
                    for r in read.timeline()}
            history = read.record_history(task)["events"]
        assert history and all(
            said[e["position"]] == (e["summary"], e["reason"], e["evidence_text"])
            for e in history), lang
    reported = next(e["position"] for e in history if e["event"] == "RectificationReported")
    with speaking("zh"):
        chinese = {r["position"]: r["evidence"] for r in read.timeline()}[reported]
    with speaking("en"):
        english = {r["position"]: r["evidence"] for r in read.timeline()}[reported]
    assert chinese.startswith("after.jpg (整改后) [abababababab]; video.mp4 ［另处保存］")
    assert english.startswith("after.jpg (整改后) [abababababab]; video.mp4 ")
    assert "［另处保存］" not in english


def test_a_state_changed_in_the_database_is_refused_not_said(store: Store,
                                                            seeded: Ledger) -> None:
    seeded.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                  location="和平街3号", description="乱堆乱放", deadline=date(2024, 6, 10))
    read = ReadSide(store)
    last = read.timeline()[-1]["position"]
    name = store.ledger.recorder.events_table_name  # type: ignore[attr-defined]
    with store.engine.begin() as conn:  # (the event table's guards dropped, as an intruder would)
        if store.url.kind == "sqlite":
            conn.exec_driver_sql(f"DROP TRIGGER {name}_no_update")
            conn.exec_driver_sql(f"UPDATE {name} SET state = CAST('{{}}' AS BLOB) "
                                 f"WHERE notification_id = {last}")
        else:
            table = f'"{store.url.schema}".{name}'
            conn.exec_driver_sql(f"DROP TRIGGER {name}_no_change ON {table}")
            conn.exec_driver_sql(f"UPDATE {table} SET state = convert_to('{{}}', 'UTF8') "
                                 f"WHERE notification_id = {last}")
    with pytest.raises(Tampered, match=f"位置 {last} 上存储的事件无法读取"):
        read.timeline()
