"""Generate a realistic city ledger of about N events, deterministically.

A city of up to 60 街道 × 10 社区, 50 部门 and a property company per 街道, a year (or more) of
inspections, complaints, media exposures and unannounced checks, with late, reworked and
recurring problems in realistic proportions — the same simulation as ``taizhang demo``
(``ledger.demo.Simulation``), through the domain's commands and the application's bulk path.

Run: ``python benchmarks/generate.py --events 100000 --db sqlite:///city.db``
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.demo import Scale, Simulation  # noqa: E402
from ledger.store import Store  # noqa: E402

# Measured: one 街道 (10 社区 and a property company), visited 16 times per unit a month,
# with its share of departments, complaints and exposures, yields about 16,900 events a
# year; so the whole city (60 街道) makes about a million — the "city's year". A
# smaller N is a smaller city at the same density, a larger N more years of the whole city.
EVENTS_PER_STREET_YEAR = 16_900
CITY_STREETS = 60
VISITS_PER_UNIT_MONTH = 16.0


def city_scale(events: int) -> Scale:
    """The city (or the part of it), and the months, whose history gives about ``events``."""
    streets = max(1, min(CITY_STREETS, round(events / EVENTS_PER_STREET_YEAR)))
    # A year at every size from one 街道's year to the whole city's; below, fewer months;
    # beyond, more years.
    months = max(1, round(12 * events / (streets * EVENTS_PER_STREET_YEAR)))
    if EVENTS_PER_STREET_YEAR <= events <= CITY_STREETS * EVENTS_PER_STREET_YEAR:
        months = 12
    return Scale(streets=streets, communities_per_street=10,
                 departments=max(3, round(50 * streets / CITY_STREETS)), properties=streets,
                 inspectors=max(3, streets * 2), months=months,
                 inspections_per_unit_month=VISITS_PER_UNIT_MONTH)


def generate(url: str, events: int, seed: int = 1, until: str = "2025-12",
             progress: Any = None, years: int = 1) -> dict[str, Any]:
    """Write a city ledger of about ``events`` events into the empty store at ``url``; with
    ``years``, the city of ``events`` over that many times its months (the same months at
    the end, ``years`` times the history: about ``years × events`` events)."""
    scale = city_scale(events)
    if years != 1:
        scale = replace(scale, months=scale.months * years)
    store = Store(url)
    try:
        return Simulation(store.ledger, seed=seed, until=until, scale=scale,
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
