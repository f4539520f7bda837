"""The units' month rows the metrics projection keeps (``projections.metric_aggregates``)
are a fresh tally of the tasks' items, and the figures read from them are those tallied
from the items — now and as of an earlier position — for random histories with late
entries, corrections (of times, deadlines, places, visits, surveys), reopenings and
reassignments, across months, on both backends."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import Clock, seed_campaign
from domain.months import month_add
from ledger.store import Store
from projections.evaluation import Evaluator
from projections.metric_aggregates import TABLE, apply as put_items
from projections.stored_book import StoredBook
from projections.metrics import MonthBook, Units
from projections.read import ReadSide
from projections.rows import Rows
from tests.tier2_ledger.test_projections_properties import OPS, apply, fresh_url

# Small numbers repeat places (recurrences) and pick the same tasks; "month" moves weeks.
# Weighted to make overdue spans that end months later, closures and recurrences.
# "work": acknowledged, noticed and reported; "done": passed and closed as verified.
LIFE = ["assign", "month", "work", "done"] * 4 + [
    "reopen", "fail", "extend", "escalate", "void", "reassign"]
LATE = [("assign", 0, 4), ("month", 0, 20), ("month", 0, 20), ("work", 0, 2), ("done", 0, 2),
        ("month", 0, 3), ("assign", 0, 4), ("reopen", 0, 4), ("month", 0, 20), ("done", 0, 2),
        ("month", 0, 9)]
STEPS = {"work": ("ack", "notice", "report"), "done": ("pass", "close")}
script = st.lists(st.tuples(st.sampled_from([*OPS, *LIFE]), st.integers(0, 3),
                            st.one_of(st.integers(0, 3), st.integers(0, 999))),
                  min_size=1, max_size=50)


def month_rows(source) -> dict:
    """The month rows a source gives (each part's entries in order)."""
    return {(r["unit"], r["month"]): {p: sorted(v, key=repr) for p, v in r["data"].items()}
            for r in source.month_rows("0000-01", "9999-12")}


def fresh(source) -> dict:
    """The month rows tallied afresh from every task's items."""
    rows = Rows()
    put_items(rows, [([], row["items"]) for row in source.tasks(None, "0000-01", "9999-12")])
    return {key: row["data"] for key, row in rows.table(TABLE).items()}


def same_figures(source, months: list[str]) -> None:
    units = Units(source.units())
    scope = sorted(units.rows)
    if not scope:
        return
    stored = StoredBook(source, units, scope, months)
    items = MonthBook(source, units, scope, months)
    for unit in scope:
        for month in months:
            assert stored.figures(unit, month) == items.figures(unit, month), (unit, month)
            assert stored.tally(unit, month).units == items.tally(unit, month).units


def check(backend: str, steps: list[tuple[str, int, int]]) -> None:
    with fresh_url(backend) as url:
        clock = Clock(datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
        store = Store(url, clock=clock)
        try:
            ledger = store.ledger
            seed_campaign(ledger)
            tasks: list[str] = []
            middle = None
            read = ReadSide(store)
            for n, (op, i, r) in enumerate(steps, 1):
                if op == "month":
                    clock.advance(days=12 + r % 25)
                for each in STEPS.get(op, () if op == "month" else (op,)):
                    apply(ledger, clock, tasks, each, i, r)
                if n == len(steps) // 2:
                    read.current()  # kept up in steps: the rows changed, not rebuilt
                    middle = ledger.position_as_of(clock.now)
            months = [month_add("2024-05", k) for k in range(
                (clock.now.year - 2024) * 12 + clock.now.month - 4)]
            evaluator = Evaluator(read)
            source = evaluator.current()
            assert month_rows(source) == fresh(source)
            same_figures(source, months)
            if middle is not None:
                then = Evaluator(read.at(position=middle))
                def as_of(earlier) -> None:
                    assert month_rows(earlier) == fresh(earlier)
                    same_figures(earlier, months)
                then.stable(as_of)
        finally:
            store.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=script)
# Verified two months late (an overdue span that ended), then the place's next task within
# the window (a recurrence), a reopening, and a closure in the look-back months.
@example(steps=LATE)
def test_month_rows_are_the_items_tally_on_sqlite(steps: list[tuple[str, int, int]]) -> None:
    check("sqlite", steps)


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=script)
@example(steps=LATE)
def test_month_rows_are_the_items_tally_on_postgres(steps: list[tuple[str, int, int]]) -> None:
    check("postgres", steps)
