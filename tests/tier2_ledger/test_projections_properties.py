"""Projections are pure folds: kept up incrementally they equal a rebuild from zero, and
"as of T" equals what was maintained at T — for random valid histories, on both backends."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import Clock, new_postgres_url, seed_campaign
from domain.base import DomainError
from ledger.app import Ledger
from ledger.corrections import Corrections
from ledger.indicators import Indicators
from ledger.store import Store
from ledger.tasks import Finding
from projections.read import ReadSide

MEMBERS = {"JS01": "zhao", "JS02": "qian"}
OPS = ["assign", "assign", "inspect", "ack", "notice", "report", "report", "pass", "fail",
       "extend", "request", "approve", "refuse", "correct_request", "escalate", "evidence",
       "close", "void", "reopen", "reassign", "correct_location", "correct_time",
       "correct_deadline", "rename", "later", "survey", "correct_survey", "withdraw_survey",
       "correct_visit", "withdraw_visit", "correct_unit", "correct_person"]

commands = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 9), st.integers(0, 999)),
                    min_size=1, max_size=22)


@contextlib.contextmanager
def fresh_url(backend: str) -> Iterator[str]:
    """A new, empty store for one example."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'ledger.db'}"
        return
    urls = new_postgres_url()
    url = next(urls)
    try:
        yield url
    finally:
        next(urls, None)


def apply(ledger: Ledger, clock: Clock, tasks: list[str], op: str, i: int, r: int) -> None:
    """One command, as a person would give it; refused ones write nothing."""
    clock.advance(minutes=1 + r % 300)
    today = clock.now.astimezone(ledger.campaign().zone).date()
    task = tasks[i % len(tasks)] if tasks else None
    try:
        if op == "assign":
            unit = ["JS01", "JS02"][r % 2]
            # Some are entered days after they happened.
            result = ledger.assign(
                actor_id="admin", unit=unit, category=["环境卫生", "交通秩序"][i % 2],
                source=["complaint", "media", "decomposition"][r % 3],
                location=f"幸福路{r}号", description="乱堆乱放",
                deadline=today + timedelta(days=r % 9),
                notice_no=f"ZG-{r}" if r % 4 == 0 else None,
                occurred_at=clock.now - timedelta(days=r % 4))
            tasks.append(result["task"])
        elif op == "inspect":
            result = ledger.inspect(actor_id="li", unit=["JS01", "JS02"][r % 2], findings=[
                Finding("环境卫生", f"和平街{r}号", "牛皮癣", today + timedelta(days=3))
                for _ in range(i % 3)])
            tasks.extend(result["tasks"])
        elif op == "survey":
            Indicators(ledger).record_survey(
                actor_id="admin", unit=["JS01", "JS02"][r % 2], month=today.isoformat()[:7],
                awareness=r % 101, participation=50, satisfaction=60, sample=1 + r % 50,
                source="第三方", method="电话调查")
        elif op in ("correct_survey", "withdraw_survey", "correct_visit", "withdraw_visit"):
            ids = ledger.recorder.ids_with_prefix("SV-" if "survey" in op else "I-")
            if not ids:
                return
            record = ids[i % len(ids)]
            if op.startswith("withdraw"):
                Corrections(ledger).withdraw(actor_id="admin", record=record, reason="重复录入")
            elif op == "correct_survey":
                Corrections(ledger).correct(actor_id="admin", record=record, event=None,
                                            changes={"sample": str(1 + r % 70), "unit": "JS02"}, reason="录错")
            else:
                earlier = clock.now - timedelta(days=r % 40)
                Corrections(ledger).correct(actor_id="li", record=record, event=None,
                                            changes={"unit": ["JS01", "JS02"][r % 2],
                                             "occurred_at": earlier.isoformat()}, reason="录错")
        elif op == "correct_unit":
            Corrections(ledger).correct(actor_id="admin", record="unit:JS02", event=1, changes={
                "occurred_at": (clock.now - timedelta(days=r % 60)).isoformat(),
                "name": f"和平社区{r}"}, reason="录错")
        elif op == "correct_person":
            Corrections(ledger).correct(actor_id="admin", record="person:zhao", event=None,
                                        changes={"unit": ["JS01", "JS02"][r % 2]}, reason="录错")
        elif task is None:
            return
        elif op in ("ack", "report", "evidence"):
            member = MEMBERS[ledger.task(task).unit]
            if op == "ack":
                ledger.acknowledge(actor_id=member, task_id=task)
            elif op == "report":
                ledger.report_rectification(actor_id=member, task_id=task, description="已整改",
                                            evidence=[{"file": f"after-{r}.jpg", "description": "照片"}])
            else:
                ledger.attach_evidence(actor_id=member, task_id=task,
                                       evidence=[{"file": f"more-{r}.jpg"}])
        elif op == "notice":
            ledger.issue_notice(actor_id="li", task_id=task, notice_no=f"ZG-N{r}",
                                requirements="清除",
                                deadline=today + timedelta(days=r % 5) if r % 2 else None)
        elif op in ("pass", "fail"):
            ledger.reinspect(actor_id=["li", "zhou"][r % 2], task_id=task, passed=op == "pass",
                             note="" if op == "pass" else "仍有残留")
        elif op == "extend":
            later = ledger.task(task).deadline + timedelta(days=1 + r % 5)
            ledger.extend_deadline(actor_id="admin", task_id=task, deadline=later,
                                   reason="工程量大")
        elif op == "request":
            member = MEMBERS[ledger.task(task).unit]
            later = ledger.task(task).deadline + timedelta(days=1 + r % 5)
            ledger.request_extension(actor_id=member, task_id=task, deadline=later,
                                     reason="材料未到")
        elif op in ("approve", "refuse"):
            ledger.decide_extension(actor_id=["li", "admin"][r % 2], task_id=task,
                                    approve=op == "approve", reason="工期")
        elif op == "escalate":
            ledger.escalate(actor_id="admin", task_id=task, reason="超期未整改")
        elif op == "close":
            ledger.close_task(actor_id="li", task_id=task, closure="verified", reason="整改到位")
        elif op == "void":
            ledger.close_task(actor_id="admin", task_id=task, closure="void", reason="重复交办")
        elif op == "reopen":
            ledger.reopen(actor_id="admin", task_id=task, reason="问题反弹",
                          deadline=today + timedelta(days=r % 6))
        elif op == "reassign":
            other = "JS02" if ledger.task(task).unit == "JS01" else "JS01"
            ledger.reassign(actor_id="admin", task_id=task, unit=other, reason="属地调整")
        elif op == "correct_location":
            ledger.correct(actor_id="admin", task_id=task, event=1,
                           changes={"location": f"更正路{r}号"}, reason="地址录错")
        elif op == "correct_time":
            earlier = ledger.task(task).assigned_at - timedelta(hours=1 + r % 30)
            ledger.correct(actor_id="admin", task_id=task, event=1,
                           changes={"occurred_at": earlier.isoformat()}, reason="时间录错")
        elif op == "correct_request":
            # When the pending extension request was made, corrected to a little earlier.
            current = ledger.task(task)
            pending = current.pending_request
            if pending is None:
                return
            version = pending["version"]
            before = max(at for name, at, _ in current.log[:version - 1] if name != "Corrected")
            moment = max(before, current.log[version - 1][1] - timedelta(minutes=1 + r % 90))
            ledger.correct(actor_id="admin", task_id=task, event=version,
                           changes={"occurred_at": moment.isoformat()},
                           reason="时间录错")
        elif op == "correct_deadline":
            current = ledger.task(task)
            ledger.correct(actor_id="admin", task_id=task, event=current.deadline_set_by,
                           changes={"deadline": (current.deadline + timedelta(days=1)).isoformat()},
                           reason="期限录错")
        elif op == "rename":
            ledger.rename_unit(actor_id="admin", code="JS01", name=f"幸福社区{r}", reason="更名")
        elif op == "later":
            clock.advance(days=1 + r % 6)
    except DomainError:
        pass


def dump(read: ReadSide) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every projection table, in a stable order."""
    found = {}
    with read.engine.connect() as conn:
        for projection in read.projections.values():
            for name, table in projection.tables.items():
                rows = [tuple(row) for row in conn.execute(sa.select(table))]
                found[f"{projection.name}.{name}"] = sorted(rows, key=repr)
    return found


def without_overdue(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "days_overdue"} for row in rows]


def check_history(backend: str, script: list[tuple[str, int, int]], every: int) -> None:
    with fresh_url(backend) as url:
        clock = Clock(datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
        store = Store(url, clock=clock)
        try:
            ledger = store.ledger
            seed_campaign(ledger)
            read = ReadSide(store)
            tasks: list[str] = []
            snapshots = []
            for n, (op, i, r) in enumerate(script, 1):
                apply(ledger, clock, tasks, op, i, r)
                if n % every == 0 or n == len(script):
                    read.current()
                    snapshots.append((clock.now, dump(read),
                                      without_overdue(read.board()),
                                      read.timeline(), list(tasks)))
            maintained = dump(read)

            # As of T: exactly the events recorded by T, folded afresh.
            for moment, tables, board, timeline, known in snapshots[-3:]:
                then = read.at(moment, only=None)
                then.current()
                assert dump(then) == tables
                assert without_overdue(then.board()) == board
                assert then.timeline() == timeline
                for task in known[-2:]:
                    state = then.history(task)["state"]
                    row = next(row for row in board if row["task"] == task)
                    assert {k: v for k, v in state.items() if k != "days_overdue"} == row

            verified = read.verify()
            assert verified.equal, verified.differences
            read.rebuild()
            assert dump(read) == maintained
            # Rows kept from batch to batch and written a few batches later, as a
            # rebuild of a city's year does them: the same tables.
            read.projector.rebuild(batch=2, window=5)
            assert dump(read) == maintained
        finally:
            store.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(script=commands, every=st.integers(1, 4))
# A pending extension request whose moment is corrected, then decided.
@example(script=[("assign", 0, 3), ("ack", 0, 0), ("request", 0, 0), ("correct_request", 0, 5),
                 ("approve", 0, 1)], every=2)
def test_incremental_projections_equal_a_rebuild_and_as_of_replays_on_sqlite(
        script: list[tuple[str, int, int]], every: int) -> None:
    check_history("sqlite", script, every)


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(script=commands, every=st.integers(1, 4))
def test_incremental_projections_equal_a_rebuild_and_as_of_replays_on_postgres(
        script: list[tuple[str, int, int]], every: int) -> None:
    check_history("postgres", script, every)

