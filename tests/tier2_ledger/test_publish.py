"""Publication: a published ranking is reproduced exactly however many late and corrective
events arrive afterwards; revisions show what would change, and why."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.evaluation import Evaluations
from ledger.store import Store
from projections.facts import Context, decode
from projections.projection import fold_in_memory
from projections.evaluation import LEVELS, Evaluator, digest
from projections.metrics import MemorySource, Metrics
from projections.read import ReadSide
from tests.tier2_ledger.test_metrics_world import START, ZONE, World, change_required_inspections, seed_world

NOW = datetime(2024, 9, 1, 9, 0, tzinfo=ZONE)
MONTH = "2024-06"
END = datetime(2024, 7, 1, tzinfo=ZONE)


def folded(store: Store, position: int) -> MemorySource:
    """The metrics of the events up to ``position``, folded from the first."""
    facts = (decode(r) for r in store.ledger.records(0, position))
    return MemorySource(fold_in_memory(Metrics(), facts, Context(ZONE)))


def canonical(rankings: dict[str, Any]) -> list[Any]:
    return [rankings[level].canonical() for level in sorted(rankings)]


def publish_then_disturb(url: str, seed: int, before: int, after: int) -> None:
    store = Store(url, clock=lambda: NOW)
    try:
        seed_world(store.ledger)
        rng = random.Random(seed)
        world = World(store.ledger, rng)
        world.run(before)
        evaluations = Evaluations(store.ledger)
        evaluator = Evaluator(ReadSide(store))
        publication = evaluations.publish(actor_id="admin", month=MONTH,
                                          compute=lambda rules_for: evaluator.freeze(MONTH,
                                                                                     rules_for))
        position = publication["position"]
        then = evaluator.rankings(folded(store, position), MONTH, LEVELS,
                                  evaluations.rules_for)
        assert digest(then) == publication["digest"]

        world.run(after)  # late entries and corrections, some for June and before
        if rng.random() < 0.3:
            change_required_inspections(store.ledger, 1, START + timedelta(days=60))
        _, again = evaluator.published(publication, evaluations.rules_for)
        assert canonical(again) == canonical(then)
        assert digest(again) == publication["digest"]

        now = evaluator.rankings(evaluator.current(), MONTH, LEVELS, evaluations.rules_for)
        changes, causes = evaluator.revisions(publication, evaluations.rules_for)
        differing = []
        for level in LEVELS:
            old = {p.unit: p.placed for p in then[level].placements}
            new = {p.unit: p.placed for p in now[level].placements}
            for unit in sorted(old.keys() | new.keys()):
                a, b = old.get(unit), new.get(unit)
                if not (a and b and (a.score, a.rank, a.listed) == (b.score, b.rank, b.listed)):
                    differing.append((level, unit))
        assert [(c["level"], c["unit"]) for c in changes] == differing
        # Every event entered since that happened in or before the month is named.
        late = {r.position for r in store.ledger.records(position)
                if r.topic.rsplit(":", 1)[-1].split(".")[0] in ("Task", "Inspection")
                and not r.topic.endswith("Task.Corrected")
                and datetime.fromisoformat(decode(r).occurred_at) < END}
        assert late <= {c["position"] for c in causes}
        if differing:
            assert causes, "a change with no event to explain it"
    finally:
        store.close()


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1), before=st.integers(20, 80),
       after=st.integers(0, 60))
def test_a_publication_reproduces_after_late_and_corrective_events(
        tmp_path_factory: Any, seed: int, before: int, after: int) -> None:
    folder = tmp_path_factory.mktemp("publish")
    publish_then_disturb(f"sqlite:///{folder / 'ledger.db'}", seed, before, after)


def test_publication_reproduces_on_both_backends(store_url: str) -> None:
    publish_then_disturb(store_url, seed=7, before=120, after=80)
