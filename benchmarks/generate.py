"""Generate a realistic city ledger of about N events, deterministically.

A city of up to 60 街道 × 10 社区, 50 部门 and a property company per 街道, a year of
inspections, complaints, media exposures and unannounced checks, with late, reworked and
recurring problems in realistic proportions — the same simulation as ``taizhang demo``
(``ledger.demo.Simulation``), through the domain's commands and the application's bulk path.

Run: ``python benchmarks/generate.py --events 100000 --db sqlite:///city.db``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.demo import Scale, Simulation  # noqa: E402
from ledger.store import Store  # noqa: E402

# Measured: a 街道 (10 社区 and a property company) at 4 visits per unit-month yields about
# 5,300 events a year; the full city (60 街道) about 320,000, so beyond that the visits
# per unit-month grow instead of the city.
EVENTS_PER_STREET_YEAR = 5_300
CITY_STREETS = 60


def city_scale(events: int) -> Scale:
    """The city (or the part of it) whose year gives about ``events`` events."""
    streets = max(1, min(CITY_STREETS, round(events / EVENTS_PER_STREET_YEAR)))
    visits = 4.0 * max(1.0, events / (CITY_STREETS * EVENTS_PER_STREET_YEAR))
    return Scale(streets=streets, communities_per_street=10,
                 departments=max(3, round(50 * streets / CITY_STREETS)), properties=streets,
                 inspectors=max(3, streets * 2), months=12,
                 inspections_per_unit_month=visits)


def generate(url: str, events: int, seed: int = 1, until: str = "2025-12",
             progress: Any = None) -> dict[str, Any]:
    """Write a city ledger of about ``events`` events into the empty store at ``url``."""
    store = Store(url)
    try:
        return Simulation(store.ledger, seed=seed, until=until, scale=city_scale(events),
                          batch=1000, progress=progress).run()
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--db", required=True, help="an empty store, e.g. sqlite:///city.db")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--until", default="2025-12", help="the last month simulated")
    args = parser.parse_args()
    started = time.perf_counter()
    summary = generate(args.db, args.events, args.seed, args.until)
    seconds = time.perf_counter() - started
    print(f"{summary['events']:,} events ({summary['tasks']:,} tasks, "
          f"{summary['inspections']:,} inspections, {summary['units']} units) in "
          f"{seconds:.1f} s = {summary['events'] / seconds:,.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
