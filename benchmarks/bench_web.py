"""Benchmark: `taizhang serve`'s pages on a large ledger against the demo's, and 20 clients
at once.

Each ledger is served by the real command (`taizhang serve`, uvicorn, its own process) on
the loopback address; a client logs in through the printed one-time link and times, over
HTTP, the board (one 街道's units, most overdue first), a task's history, the 社区 ranking
of one 街道, and the timeline's first page as of the ledger's last moment — both ledgers
served at once, their pages timed in turn (the median of 15 each). Goal: each page on the
large ledger within 1.5× of the demo's. Then 20 clients (threads, each its own
session) loop over those four pages for a bounded time against the large ledger's server:
median and 95th-percentile latency, requests done, failures.

Run: ``python benchmarks/bench_web.py --events 1000000`` (1M is the yardstick; the default
is smaller). ``--keep DIR`` keeps and reuses the generated ledgers (those of
bench_rank.py: the same names). Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx2 as httpx  # noqa: E402

from bench_rank import MONTH, build, catch_up, large_scale  # noqa: E402
from ledger.demo import DEMO  # noqa: E402
from ledger.store import Store  # noqa: E402

RATIO = 1.5
CLIENTS = 20
ROOT = Path(__file__).resolve().parent.parent


class Served:
    """`taizhang serve` on a free loopback port, and its login links."""

    def __init__(self, url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.run()", "--db", url, "serve", "--port",
             str(self.port)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            cwd=ROOT)
        self.links: list[str] = []
        self.ready = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            found = re.search(r"(http://\S+/login\?token=\S+)", line)  # in any language
            if found:
                with self.ready:
                    self.links.append(found.group(1))
                    self.ready.notify_all()

    def client(self) -> httpx.Client:
        """A client with a session of its own (each login spends a link)."""
        with self.ready:
            self.ready.wait_for(lambda: self.links, timeout=60)
            link = self.links.pop(0)
        for _ in range(600):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.05)
        client = httpx.Client(base_url=self.base, timeout=120)
        answer = client.get(link)
        if answer.status_code != 303:
            raise SystemExit(f"login failed: {answer.status_code} {answer.text[-300:]}")
        return client

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def pages_of(url: str) -> dict[str, str]:
    """The four pages measured, with what they name taken from the ledger."""
    store = Store(url)
    try:
        ledger = store.ledger
        last = ledger.records(ledger.max_position() - 1).__next__()
        task = next(r.originator_id for r in ledger.records(ledger.max_position() // 2)
                    if r.originator_id.startswith("T-"))
    finally:
        store.close()
    moment = quote(last.recorded_at)
    return {"board": "/board?unit=JD01&sort=overdue", "task": f"/tasks/{task}",
            "ranking": f"/ranking?month={MONTH}&level=社区&parent=JD01",
            "timeline": f"/timeline?as_of={moment}"}


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code} {answer.text[-300:]}")
    return elapsed


def page_times(urls: dict[str, str], runs: int) -> tuple[
        dict[str, dict[str, float]], dict[str, dict[str, float]], dict[str, Served],
        dict[str, str]]:
    """Each page's median and best time on each ledger. The ledgers are served at once and their
    pages timed in turn (demo, large, demo, …), so that a busy moment on the machine falls
    on both alike."""
    served = {name: Served(url) for name, url in urls.items()}
    try:
        clients = {name: s.client() for name, s in served.items()}
        pages = {name: pages_of(url) for name, url in urls.items()}
        for name, client in clients.items():
            for path in pages[name].values():
                timed(client, path)  # warm: the first request opens the store
        times: dict[str, dict[str, list[float]]] = {
            name: {page: [] for page in pages[name]} for name in urls}
        for _ in range(runs):
            for page in pages[next(iter(urls))]:
                for name, client in clients.items():
                    times[name][page].append(timed(client, pages[name][page]))
        for client in clients.values():
            client.close()
    except BaseException:
        for s in served.values():
            s.stop()
        raise
    found = {name: {page: statistics.median(t) for page, t in by_page.items()}
             for name, by_page in times.items()}
    best = {name: {page: min(t) for page, t in by_page.items()}
            for name, by_page in times.items()}
    return found, best, served, pages[list(urls)[-1]]


def crowd(served: Served, pages: dict[str, str], seconds: float
          ) -> tuple[list[float], int]:
    """CLIENTS threads looping over the pages until ``seconds`` have passed."""
    clients = [served.client() for _ in range(CLIENTS)]
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    paths = list(pages.values())

    def work(n: int, client: httpx.Client) -> None:
        i = n
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                ok = client.get(path).status_code == 200
            except httpx.HTTPError:
                ok = False
            with lock:
                latencies.append(time.perf_counter() - started)
                failures[0] += not ok

    threads = [threading.Thread(target=work, args=(n, c)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    return latencies, failures[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000,
                        help="Size of the large ledger (1,000,000 is the yardstick).")
    parser.add_argument("--runs", type=int, default=15, help="Runs per page (the median).")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="How long the 20 clients run (bounded).")
    parser.add_argument("--keep", type=Path, default=None,
                        help="Keep (and reuse) the generated ledgers in this folder.")
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="bench_web_"))
    folder.mkdir(parents=True, exist_ok=True)
    demo = f"sqlite:///{folder / 'demo.db'}"
    large = f"sqlite:///{folder / f'large-{options.events}.db'}"
    scale = large_scale(options.events)
    print(f"demo ledger: {build(demo, DEMO, False)}")
    print(f"large ledger ({scale.streets} 街道 × {scale.months} months): "
          f"{build(large, scale, True)}")
    for url in (demo, large):
        catch_up(url)
    found, best, served, pages = page_times({"demo": demo, "large": large}, options.runs)
    base, big = found["demo"], found["large"]
    served["demo"].stop()
    try:
        latencies, failures = crowd(served["large"], pages, options.seconds)
    finally:
        served["large"].stop()

    store = Store(large)
    events = store.ledger.max_position()
    store.close()
    print()
    print(f"{'page':10} {'demo s':>9} {f'{events:,} events s':>18} {'ratio':>7}"
          f"   (best times: demo, large, ratio)")
    met = True
    for name in base:
        ratio = big[name] / base[name]
        met &= ratio <= RATIO
        print(f"{name:10} {base[name]:9.3f} {big[name]:18.3f} {ratio:7.2f}   "
              f"({best['demo'][name]:.4f}, {best['large'][name]:.4f}, "
              f"{best['large'][name] / best['demo'][name]:.2f})")
    print(f"\ntarget: each page within {RATIO}× the demo's: {'met' if met else 'NOT met'}")
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)] if ordered else float("nan")
    print(f"{CLIENTS} clients for {options.seconds:.0f} s on the large ledger: "
          f"{len(latencies)} requests ({len(latencies) / options.seconds:.1f}/s), median "
          f"{statistics.median(ordered) if ordered else float('nan'):.3f} s, p95 {p95:.3f} s, "
          f"{failures} failed")


if __name__ == "__main__":
    main()
