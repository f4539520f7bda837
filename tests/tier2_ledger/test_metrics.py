"""The metrics as maintained equal a brute-force recomputation from the stored events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.figures import FIGURES
from ledger.store import Store
from projections.facts import Context, decode
from projections.projection import fold_in_memory
from projections.evaluation import Evaluator
from projections.metrics import MemorySource, Metrics
from projections.read import ReadSide
from tests.tier2_ledger.test_metrics_world import (
    MONTHS,
    START,
    ZONE,
    World,
    brute_force,
    change_required_inspections,
    seed_world,
    stored_events,
)

UNITS = ["JS", "JS01", "JS02", "WY1", "CGJ"]
NOW = datetime(2024, 9, 1, 9, 0, tzinfo=ZONE)


def assert_same(found: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    for name in FIGURES:
        have, want = found[name], expected[name]
        if isinstance(want, float) and have is not None:
            assert have == pytest.approx(want, abs=1e-4), f"{where} {name}"
        else:
            assert have == want, f"{where} {name}: maintained {have!r}, brute force {want!r}"


def check_everything(store: Store) -> None:
    read = ReadSide(store)
    evaluator = Evaluator(read)
    events = stored_events(store.ledger)
    maintained = evaluator.current()
    facts = (decode(r) for r in store.ledger.records())
    rows = fold_in_memory(Metrics(), facts, Context(ZONE))
    in_memory = MemorySource(rows)
    # Row for row, the tables folded incrementally equal a fold from zero.
    projection = Metrics()
    with store.engine.connect() as conn:
        for name, table in projection.tables.items():
            stored = {projection.key_of(name, dict(r)): dict(r)
                      for r in conn.execute(sa.select(table)).mappings()}
            assert stored == rows.table(name), name
    for month in MONTHS:
        rows = {r["unit"]: r for r in evaluator.figures(maintained, month)}
        folded = {r["unit"]: r for r in evaluator.figures(in_memory, month)}
        assert rows == folded
        for unit in UNITS:
            assert_same(rows[unit], brute_force(events, unit, month), f"{unit} {month}")


def build(url: str, seed: int, steps: int, split: float) -> Store:
    store = Store(url, clock=lambda: NOW)
    seed_world(store.ledger)
    rng = random.Random(seed)
    world = World(store.ledger, rng)
    world.run(int(steps * split))
    ReadSide(store).current()  # part of the log folded, the rest incrementally later
    if rng.random() < 0.5:
        change_required_inspections(store.ledger, rng.choice([1, 3]),
                                    START + timedelta(days=rng.uniform(0, 120)))
    world.run(steps - int(steps * split))
    return store


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1), steps=st.integers(5, 90),
       split=st.floats(0, 1))
def test_every_metric_as_maintained_equals_brute_force(tmp_path_factory: Any, seed: int,
                                                       steps: int, split: float) -> None:
    folder = tmp_path_factory.mktemp("metrics")
    store = build(f"sqlite:///{folder / 'ledger.db'}", seed, steps, split)
    try:
        check_everything(store)
    finally:
        store.close()


def test_metrics_equal_brute_force_on_both_backends(store_url: str) -> None:
    store = build(store_url, seed=20240601, steps=160, split=0.5)
    try:
        check_everything(store)
    finally:
        store.close()
