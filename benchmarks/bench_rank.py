"""Benchmark: the monthly ranking's cost must not grow with the ledger's history.

``taizhang rank --month M --level 社区 --parent JD01`` (projections current) on a large
ledger — a city whose 街道 have campaigned for years — against the same command on the demo
ledger (one 街道, seven months): the large ledger must answer within 1.5× the demo's time.
Both rank the ten 社区 of one 街道, at the demo's density of activity; the large ledger only
has far more history (and more 街道) around them.

Also measured: the same ranking when the projections are 10,000 events behind (it folds
them first), the whole city's 街道 ranking, a publication, its first reproduction (every
level) and a published ranking shown after it (only that ranking, as of the publication).

Run: ``python benchmarks/bench_rank.py --events 1000000`` (1M is the yardstick; the default
is smaller so that it runs in minutes). ``--keep DIR`` keeps the generated ledgers there
and reuses them on the next run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from click.testing import CliRunner  # noqa: E402

import cli  # noqa: E402
from ledger.demo import DEMO, Scale, Simulation  # noqa: E402
from ledger.store import Store  # noqa: E402
from projections.read import ReadSide  # noqa: E402

UNTIL = "2025-12"
MONTH = "2025-12"
BEHIND = 10_000
RATIO = 1.5
# Measured on the demo: one 街道 (10 社区, 3 物业, 3 部门) makes about 480 events a month.
EVENTS_PER_STREET_MONTH = 480
YEARS = 5


def large_scale(events: int) -> Scale:
    """A city of several 街道 over five years, at the demo's density, of about ``events``."""
    months = 12 * YEARS
    streets = max(1, round(events / (EVENTS_PER_STREET_MONTH * months)))
    return replace(DEMO, streets=streets, departments=3 * streets, properties=3 * streets,
                   inspectors=3 * streets, months=months)


def build(url: str, scale: Scale, progress: bool) -> dict[str, object]:
    store = Store(url)
    try:
        if store.ledger.max_position():
            return {"events": store.ledger.max_position(), "reused": True}
        done = [0]
        started = time.perf_counter()

        def tick(n: int) -> None:
            done[0] += n
            if progress and done[0] // 100_000 != (done[0] - n) // 100_000:
                print(f"  … {done[0]:,} events ({time.perf_counter() - started:.0f} s)",
                      flush=True)
        summary = Simulation(store.ledger, seed=7, until=UNTIL, scale=scale, batch=1000,
                             progress=tick).run()
        summary["seconds"] = time.perf_counter() - started
        return summary
    finally:
        store.close()


def catch_up(url: str, upto: int | None = None) -> float:
    store = Store(url)
    try:
        started = time.perf_counter()
        ReadSide(store).projector.catch_up(upto=upto)
        return time.perf_counter() - started
    finally:
        store.close()


def in_process(url: str, *args: str) -> Callable[[], float]:
    """One ``taizhang`` command run in this process (a fresh store each time): seconds."""
    def run() -> float:
        started = time.perf_counter()
        result = CliRunner().invoke(cli.main, ["--db", url, "--as", "admin", *args])
        elapsed = time.perf_counter() - started
        if result.exit_code != 0:
            raise SystemExit(f"taizhang {' '.join(args)} failed: {result.output}")
        return elapsed
    return run


def as_process(url: str, *args: str) -> Callable[[], float]:
    """The same command as its own process, start-up included: seconds."""
    def run() -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import cli; cli.run()", "--db", url, *args],
                       check=True, capture_output=True, cwd=Path(__file__).resolve().parent.parent)
        return time.perf_counter() - started
    return run


def median(run: Callable[[], float], runs: int) -> float:
    return statistics.median(run() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000,
                        help="Size of the large ledger (1,000,000 is the yardstick).")
    parser.add_argument("--runs", type=int, default=5, help="Runs per timing (the median).")
    parser.add_argument("--keep", type=Path, default=None,
                        help="Keep (and reuse) the generated ledgers in this folder.")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="bench_rank_"))
    folder.mkdir(parents=True, exist_ok=True)
    demo = f"sqlite:///{folder / 'demo.db'}"
    large = f"sqlite:///{folder / f'large-{options.events}.db'}"
    rank = ("rank", "--month", MONTH, "--level", "社区", "--parent", "JD01")

    scale = large_scale(options.events)
    print(f"demo ledger: {build(demo, DEMO, False)}")
    print(f"large ledger ({scale.streets} 街道 × {scale.months} months): "
          f"{build(large, scale, True)}")
    store = Store(large)
    head = store.ledger.max_position()
    store.close()
    print(f"catch-up of the large ledger's projections but the last {BEHIND:,} events: "
          f"{catch_up(large, head - BEHIND):.1f} s")
    behind = in_process(large, *rank)()
    catch_up(demo)
    base = median(in_process(demo, *rank), options.runs)
    big = median(in_process(large, *rank), options.runs)
    base_process = median(as_process(demo, *rank), options.runs)
    big_process = median(as_process(large, *rank), options.runs)
    streets = median(in_process(large, "rank", "--month", MONTH, "--level", "街道"),
                     options.runs)
    publish = in_process(large, "publish", "--month", MONTH)()
    # The first reproduces the publication whole and records it; the next show one ranking.
    reproduced = in_process(large, *rank, "--published")()
    published = median(in_process(large, *rank, "--published"), options.runs)

    print()
    print(f"{'figure':58} {'seconds':>9} {'baseline':>9} {'ratio':>7}")
    rows = [
        ("rank 社区 of JD01, demo ledger (in process)", base, base),
        (f"rank 社区 of JD01, {head:,}-event ledger (in process)", big, base),
        ("rank 社区 of JD01, demo ledger (own process)", base_process, base_process),
        (f"rank 社区 of JD01, {head:,}-event ledger (own process)", big_process,
         base_process),
        (f"rank 社区 of JD01, {BEHIND:,} events behind (folds them)", behind, base),
        (f"rank 街道, all {scale.streets} of the city", streets, base),
        ("publish (every level, the large ledger)", publish, base),
        ("rank --published, first (reproduces every level)", reproduced, base),
        ("rank --published, after (the ranking shown only)", published, base),
    ]
    for name, seconds, baseline in rows:
        print(f"{name:58} {seconds:9.3f} {baseline:9.3f} {seconds / baseline:7.2f}")
    verdict = "met" if big <= RATIO * base else "NOT met"
    print(f"\ntarget: the large ledger's rank within {RATIO}× the demo's: {verdict} "
          f"({big / base:.2f}×)")


if __name__ == "__main__":
    main()
