"""The work summary read from the read models (only what the period's days can count) is
the summary its definition folds from every fact — now and "as of" any moment, for any
period and unit, for random valid histories, on both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Clock, seed_campaign
from ledger.store import Store
from projections.facts import Context, decode
from projections.read import ReadSide
from projections.summary import Period, summary_of, work_summary
from tests.tier2_ledger.test_projections_properties import apply, commands, fresh_url

SCOPES = (None, "JS", "JS01", "JS02", "CGJ")


def periods(first: date, last: date, picks: list[tuple[int, int]]) -> list[Period]:
    """The whole history, each of its months, and a few spans of days within it."""
    found = [Period(first, last)]
    month = first.replace(day=1)
    while month <= last:
        following = (month + timedelta(days=32)).replace(day=1)
        found.append(Period(month, following - timedelta(days=1)))
        month = following
    span = (last - first).days + 1
    for a, b in picks:
        start = first + timedelta(days=a % span)
        found.append(Period(start, start + timedelta(days=b % 20)))
    return found


def defined(store: Store, period: Period, unit: str | None, upto: int | None) -> dict:
    """The summary by its definition: every fact recorded up to ``upto`` folded."""
    ledger = store.ledger
    read = ReadSide(store).at(position=upto, only=("registry",))
    units = read.unit_and_descendants(unit) if unit else None
    scope = next(u["name"] for u in read.units() if u["code"] == unit) if unit else ""
    facts = (decode(record) for record in ledger.records(0, upto))
    return work_summary(facts, Context(ledger.zone()), period, units, scope).as_data()


def check(backend: str, script: list[tuple[str, int, int]], picks: list[tuple[int, int]]
          ) -> None:
    with fresh_url(backend) as url:
        clock = Clock(datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc))
        store = Store(url, clock=clock)
        try:
            ledger = store.ledger
            seed_campaign(ledger)
            tasks: list[str] = []
            middle = None
            for n, (op, i, r) in enumerate(script, 1):
                apply(ledger, clock, tasks, op, i, r)
                if n == len(script) // 2:
                    middle = clock.now
            zone = ledger.zone()
            # From before the first event (entries may be back-dated) to after the last.
            first = (datetime(2024, 6, 1, tzinfo=timezone.utc) - timedelta(days=45)
                     ).astimezone(zone).date()
            last = clock.now.astimezone(zone).date() + timedelta(days=10)
            read = ReadSide(store)
            for period in periods(first, last, picks):
                for unit in SCOPES:
                    assert summary_of(read, period, unit).as_data() == \
                        defined(store, period, unit, None), (period, unit)
            if middle is not None:
                then = read.at(middle, only=("registry",))
                upto = ledger.position_as_of(middle)
                for period in periods(first, last, picks[:1]):
                    for unit in (None, "JS01"):
                        assert summary_of(then, period, unit).as_data() == \
                            defined(store, period, unit, upto), (period, unit, upto)
        finally:
            store.close()


picks = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), max_size=3)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(script=commands, picks=picks)
def test_the_summary_read_from_the_read_models_is_its_definition_on_sqlite(
        script: list[tuple[str, int, int]], picks: list[tuple[int, int]]) -> None:
    check("sqlite", script, picks)


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(script=commands, picks=picks)
def test_the_summary_read_from_the_read_models_is_its_definition_on_postgres(
        script: list[tuple[str, int, int]], picks: list[tuple[int, int]]) -> None:
    check("postgres", script, picks)
