"""The month's documents at N events vs at N/10: the supervision bulletin (督查通报) in every
format, the work summary (工作总结) and the published ranking, reproduced.

Each is a ``taizhang`` command run in this process, as a user would type it, on a ledger
whose projections are current: the bulletin of the published month (md, html, xlsx, docx),
the summary of that month for one 街道 and for the whole city, and ``rank --published``
of one 街道's 社区. The month is published first (``taizhang publish``) on both ledgers, if
it is not yet. Each figure is the median of a few runs' CPU seconds of the process. Goal:
each at N within 1.5× its time at N/10 (``benchmarks/run.py`` reports them beside the
other queries).

The ledger of N/10 that ``benchmarks/generate.py`` makes is a smaller city over the same
twelve months: the 街道 JD01 has the same month at both sizes, the whole city ten times
as many units. The figures of one 街道 (the summary of JD01, the ranking of its 社区) are
the ledger's history against the same month; the whole city's (the bulletin, the city's
summary) grow with the city too.

Run: ``python benchmarks/bench_bulletin.py --big sqlite:///big.db --small sqlite:///small.db``
(stores made by ``generate.py``; ``--events N`` makes them in a scratch folder instead, and
with ``--history`` the ledger of N is the city of N/10 over ten years: the same month with
ten times the history).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from click.testing import CliRunner  # noqa: E402

import cli  # noqa: E402
from benchmarks.generate import generate  # noqa: E402
from ledger.evaluation import Evaluations  # noqa: E402
from ledger.store import Store  # noqa: E402
from projections.read import ReadSide  # noqa: E402

MONTH = "2025-12"  # the generated ledgers end with this month
UNIT = "JD01"  # a 街道 that exists at every size, at the same density
FORMATS = ("md", "html", "xlsx", "docx")


def command(url: str, *args: str) -> Callable[[], None]:
    """A ``taizhang`` command run in this process, as a user would type it."""
    def run() -> None:
        result = CliRunner().invoke(cli.main, ["--db", url, "--as", "admin", *args])
        if result.exit_code != 0:
            raise SystemExit(f"taizhang {' '.join(args)} failed: {result.output}")
    return run


def median_seconds(runs: int, work: Callable[[], object]) -> float:
    """The median of ``runs`` runs' CPU seconds of this process (the command runs in it,
    SQLite too): on a machine shared with other work the wall clock measures the others."""
    def once() -> float:
        started = time.process_time()
        work()
        return time.process_time() - started
    return statistics.median(once() for _ in range(runs))


def prepared(url: str) -> None:
    """Projections current and the month published (once)."""
    store = Store(url)
    try:
        ReadSide(store).current()
        published = Evaluations(store.ledger).publication(MONTH)
    finally:
        store.close()
    if published is None:
        result = CliRunner().invoke(cli.main, ["--db", url, "--as", "admin", "publish",
                                               "--month", MONTH])
        if result.exit_code != 0:
            raise SystemExit(f"taizhang publish failed: {result.output}")
    # The first ``rank --published`` reproduces the publication whole (every level of the
    # city) and records it; the figures are those of the ones after.
    started = time.process_time()
    command(url, "rank", "--month", MONTH, "--level", "社区", "--published")()
    print(f"{url}: rank --published before the figures (a first one reproduces every level): CPU "
          f"{time.process_time() - started:.2f} s", flush=True)


def cases(folder: Path) -> dict[str, tuple[str, ...]]:
    """Each figure's command line (after ``--db URL --as admin``)."""
    last = f"{MONTH}-31"
    found = {f"bulletin --format {fmt}": ("bulletin", "--month", MONTH, "--format", fmt,
                                           "--output", str(folder / f"bulletin.{fmt}"))
             for fmt in FORMATS}
    found[f"summary --unit {UNIT}, a month"] = (
        "summary", "--from", f"{MONTH}-01", "--to", last, "--unit", UNIT, "--format", "json")
    found["summary, the whole city, a month"] = (
        "summary", "--from", f"{MONTH}-01", "--to", last, "--format", "json")
    found[f"rank --published --parent {UNIT}"] = (
        "rank", "--month", MONTH, "--level", "社区", "--parent", UNIT, "--published")
    return found


def document_times(url: str, runs: int, folder: Path, only: str | None = None
                   ) -> dict[str, float]:
    """Median CPU seconds of each case (whose name contains ``only``, if given) on the
    ledger at ``url`` (prepared first)."""
    prepared(url)
    return {name: median_seconds(runs, command(url, *args))
            for name, args in cases(folder).items() if only is None or only in name}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", help="the ledger of N events (a store URL)")
    parser.add_argument("--small", help="the ledger of N/10 events")
    parser.add_argument("--events", type=int, default=100_000,
                        help="without --big/--small: generate N and N/10 events")
    parser.add_argument("--history", action="store_true",
                        help="with --events: the ledger of N is the city of N/10 over ten "
                        "times the months (the same month, ten times the history)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--only", default=None,
                        help="only the figures whose name contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="taizhang-bench-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("XDG_STATE_HOME", str(folder / "state"))
        big, small = args.big, args.small
        if not (big and small):
            big, small = (f"sqlite:///{folder / 'big.db'}", f"sqlite:///{folder / 'small.db'}")
            print(f"generating {args.events:,} and {args.events // 10:,} events …", flush=True)
            generate(big, args.events // 10 if args.history else args.events,
                     years=10 if args.history else 1)
            generate(small, args.events // 10)
        at_small = document_times(small, args.runs, folder, args.only)
        at_big = document_times(big, args.runs, folder, args.only)
    print(f"{'figure (CPU s)':44} {'N':>9} {'N/10':>9} {'ratio':>7}  goal")
    for name, seconds in at_big.items():
        ratio = seconds / at_small[name]
        print(f"{name:44} {seconds:9.3f} {at_small[name]:9.3f} {ratio:7.2f}  <= 1.5  "
              f"{'ok' if ratio <= 1.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
