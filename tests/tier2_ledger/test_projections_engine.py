"""The projection engine: exactly once, across crashes and concurrent catch-ups, and a
verification that finds what differs."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from ledger.app import Ledger
from ledger.chain import stamp
from ledger.store import Store
from ledger.tasks import Finding
from projections.board import Board
from projections.engine import Projector
from projections.facts import Context, Fact, Key, utc_stamp
from projections.projection import Projection
from projections.rows import Rows
from projections.events import EventIndex
from projections.read import ReadSide
from projections.registry import Registry


class Crash(Exception):
    """Stands for the process dying in the middle of a fold."""


class Counting(Projection):
    """How many times each aggregate's events were folded, and the last one folded."""

    name = "counting"
    explode_at: int | None = None

    def define(self) -> None:
        self.table("seen",
                   sa.Column("originator", sa.String(64), primary_key=True),
                   sa.Column("folds", sa.Integer, nullable=False),
                   sa.Column("last", sa.Integer, nullable=False))

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        return [("seen", (fact.originator_id,))]

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        if fact.position == self.explode_at:
            raise Crash(f"died folding {fact.position}")
        row = rows.get("seen", (fact.originator_id,)) or {
            "originator": fact.originator_id, "folds": 0, "last": 0}
        rows.put("seen", (fact.originator_id,),
                 {**row, "folds": row["folds"] + 1, "last": fact.position})


def projector(store: Store, *projections: Projection) -> Projector:
    ledger = store.ledger
    return Projector(store.engine, lambda after, upto: ledger.records(after, upto),
                     lambda: ledger.campaign().zone, list(projections),
                     head=ledger.max_position)


def some_work(ledger: Ledger) -> None:
    for n in range(6):
        visit = ledger.inspect(actor_id="li", unit=["JS01", "JS02"][n % 2], findings=[
            Finding("环境卫生", f"幸福路{n}号", "牛皮癣", date(2024, 6, 9)),
            Finding("交通秩序", f"和平街{n}号", "占道经营", date(2024, 6, 9))])
        member = "zhao" if n % 2 == 0 else "qian"
        for task in visit["tasks"]:
            ledger.acknowledge(actor_id=member, task_id=task)
            ledger.issue_notice(actor_id="li", task_id=task, notice_no=f"ZG-{task}",
                                requirements="整改")
            ledger.report_rectification(actor_id=member, task_id=task, description="已整改",
                                        evidence=[])
            ledger.reinspect(actor_id="li", task_id=task, passed=n % 3 != 0,
                             note="" if n % 3 else "返工")


def folds(store: Store, counting: Counting) -> dict[str, tuple[int, int]]:
    with store.engine.connect() as conn:
        return {r.originator: (r.folds, r.last)
                for r in conn.execute(sa.select(counting.tables["seen"]))}


def expected_folds(ledger: Ledger) -> dict[str, tuple[int, int]]:
    count: Counter[str] = Counter()
    last: dict[str, int] = {}
    for record in ledger.records():
        count[record.originator_id] += 1
        last[record.originator_id] = record.position
    return {k: (count[k], last[k]) for k in count}


def test_a_catch_up_that_dies_mid_batch_resumes_without_folding_anything_twice(
        store: Store, seeded: Ledger) -> None:
    some_work(seeded)
    counting = Counting()
    kept = projector(store, Registry(), Board(), EventIndex(), counting)
    counting.explode_at = 23
    with pytest.raises(Crash):
        kept.catch_up(batch=5)
    # The batch holding fact 23 (21–25) left nothing behind; the batches before stay.
    assert set(kept.positions().values()) == {20}
    assert sum(n for n, _ in folds(store, counting).values()) == 20

    counting.explode_at = None
    kept.catch_up(batch=5)
    assert set(kept.positions().values()) == {seeded.max_position()}
    assert folds(store, counting) == expected_folds(seeded)
    scratch = [Registry("rm_s_"), Board("rm_s_"), EventIndex("rm_s_"), Counting("rm_s_")]
    assert kept.verify(scratch).equal


def test_two_processes_catching_up_at_once_fold_each_event_once(
        store_url: str, store: Store, seeded: Ledger) -> None:
    some_work(seeded)
    others = [Store(store_url) for _ in range(2)]
    countings = [Counting(), Counting()]
    projectors = [projector(s, Board(), c) for s, c in zip(others, countings, strict=True)]
    for kept in projectors:
        kept.create_tables()
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(kept: Projector) -> None:
        start.wait()
        try:
            kept.catch_up(batch=3)
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            failures.append(e)

    threads = [threading.Thread(target=run, args=(kept,)) for kept in projectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    assert failures == []
    assert folds(store, countings[0]) == expected_folds(seeded)


def test_verify_lists_each_row_that_differs_from_a_rebuild(store: Store,
                                                           seeded: Ledger) -> None:
    some_work(seeded)
    read = ReadSide(store)
    read.current()
    tasks = read.board_projection.tables["tasks"]
    events = read.projections["events"].tables["events"]
    with store.engine.begin() as conn:
        conn.execute(tasks.update().where(tasks.c.task == "T-000002").values(rework_count=7))
        conn.execute(events.delete().where(events.c.position == 15))
    found = read.verify()
    assert not found.equal
    assert found.counts["board"] == 1 and found.counts["events"] == 1
    described = {(d.table, d.key): d.describe() for d in found.differences}
    assert described[("rm_tasks", ("T-000002",))] == "rework_count: 7 maintained, 1 rebuilt"
    assert described[("rm_events", (15,))] == "missing from the maintained table"

    read.rebuild()
    assert read.verify().equal
    with store.engine.connect() as conn:
        scratch = [t for t in sa.inspect(conn).get_table_names() if t.startswith("rm_verify")]
    assert scratch == []


def test_status_shows_how_far_each_projection_lags(store: Store, seeded: Ledger) -> None:
    read = ReadSide(store)
    read.current()
    head = seeded.max_position()
    seeded.assign(actor_id="admin", unit="JS01", category="环境卫生", source="complaint",
                  location="和平街3号", description="乱堆乱放", deadline=date(2024, 6, 5))
    status = {row["projection"]: row for row in read.status()}
    assert {row["position"] for row in status.values()} == {head}
    assert {row["lag"] for row in status.values()} == {1}
    assert status["board"]["rows"] == 0
    read.current()
    status = {row["projection"]: row for row in read.status()}
    assert {row["lag"] for row in status.values()} == {0}
    assert status["board"]["rows"] == 1


def test_rebuild_reports_its_progress_and_keeps_the_indexes(store: Store,
                                                           seeded: Ledger) -> None:
    some_work(seeded)
    read = ReadSide(store)
    read.current()
    with store.engine.connect() as conn:
        before = {t: {i["name"] for i in sa.inspect(conn).get_indexes(t)}
                  for t in ("rm_events", "rm_tasks")}
    steps: list[int] = []
    assert read.rebuild(progress=steps.append) == seeded.max_position()
    assert sum(steps) == seeded.max_position()
    with store.engine.connect() as conn:
        after = {t: {i["name"] for i in sa.inspect(conn).get_indexes(t)}
                 for t in ("rm_events", "rm_tasks")}
    assert after == before and "ix_rm_events_unit" in after["rm_events"]


@given(st.datetimes(timezones=st.timezones()) | st.datetimes())
def test_the_engines_utc_stamp_is_the_ledgers(moment: datetime) -> None:
    assert utc_stamp(moment) == stamp(moment)
