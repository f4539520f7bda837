"""Many processes entering commands at once against the same units and tasks: nothing is
lost, nothing is duplicated, the audit chain has no gap, and the read models equal a rebuild.

Each worker is a process of its own (spawned, as separate supervision groups' machines are)
with its own store on the same PostgreSQL schema — or, smaller, the same SQLite file. They
act on a handful of shared tasks and compete for new task numbers, unit codes and the
projections' catch-up. Every command a worker sees accepted must be in the ledger as exactly
its events; every refusal and conflict must have written nothing.
"""

from __future__ import annotations

import multiprocessing
import random
import traceback
from collections import Counter
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner
from cli_support import without_warning
from conftest import seed_campaign

import cli
from domain.base import NotFound, Refused
from domain.registry import Unit
from eventsourcing.persistence import IntegrityError
from ledger.chain import GENESIS, link
from ledger.store import Store
from ledger.tasks import Finding
from ledger.unit_of_work import Conflict
from projections.facts import Context, decode
from projections.projection import fold_in_memory
from projections.read import ReadSide, all_projections

WORKERS = 4
COMMANDS = {"postgresql": 200, "sqlite": 50}
SHARED = 6  # tasks assigned before the workers start: T-000001 … T-000006
FAR = date(2099, 12, 31)
MEMBERS = ("zhao", "qian")  # of JS01 and of JS02: the wrong one is refused
Expected = list[tuple[str, str]]  # (aggregate id, event kind) a command must have written


def _task(pick: random.Random) -> str:
    # Beyond the shared ones: tasks the workers' visits create, and some never created.
    return f"T-{pick.randint(1, SHARED + 12):06d}"


def _command(ledger: Any, pick: random.Random) -> tuple[Any, Any]:
    """A random command, and how to tell from its result which events it wrote."""
    task = _task(pick)
    one = {"ack": "Acknowledged", "notice": "NoticeIssued", "report": "RectificationReported",
           "escalate": "Escalated", "evidence": "EvidenceAttached", "close": "Closed",
           "extend": "DeadlineExtended", "reopen": "Reopened"}
    kind = pick.choice(["ack", "notice", "report", "reinspect", "reinspect", "escalate",
                        "evidence", "close", "extend", "reopen", "inspect", "assign",
                        "unit"])
    member = pick.choice(MEMBERS)
    later = FAR + timedelta(days=pick.randint(1, 60))
    calls = {
        "ack": lambda: ledger.acknowledge(actor_id=member, task_id=task),
        "notice": lambda: ledger.issue_notice(actor_id=pick.choice(["li", "zhou"]),
                                              task_id=task, notice_no="ZG-1"),
        "report": lambda: ledger.report_rectification(actor_id=member, task_id=task,
                                                      description="已整改"),
        "escalate": lambda: ledger.escalate(actor_id="admin", task_id=task, reason="超期未整改"),
        "evidence": lambda: ledger.attach_evidence(actor_id=member, task_id=task,
                                                   evidence=[{"file": "after.jpg"}]),
        "close": lambda: ledger.close_task(actor_id="li", task_id=task, closure="verified",
                                           reason="整改到位"),
        "extend": lambda: ledger.extend_deadline(actor_id="admin", task_id=task,
                                                 deadline=later, reason="天气原因"),
        "reopen": lambda: ledger.reopen(actor_id="zhou", task_id=task, reason="反弹",
                                        deadline=later),
    }
    if kind in calls:
        return calls[kind], lambda _: [(task, f"Task.{one[kind]}")]
    if kind == "reinspect":
        passed = pick.random() < 0.6
        return (lambda: ledger.reinspect(actor_id="zhou", task_id=task, passed=passed,
                                         note="仍有残留"),
                lambda _: [(task, "Task.ReinspectionPassed" if passed
                            else "Task.ReinspectionFailed")])
    if kind == "inspect":
        findings = [Finding("环境卫生", "幸福路12号", "电线杆牛皮癣", FAR)] * pick.randint(1, 2)
        return (lambda: ledger.inspect(actor_id="li", unit="JS01", findings=findings),
                lambda r: [(r["inspection"], "Inspection.Recorded")]
                + [(t, "Task.Assigned") for t in r["tasks"]])
    if kind == "assign":
        return (lambda: ledger.assign(actor_id="admin", unit="JS02", category="交通秩序",
                                      source="complaint", location="和平街3号",
                                      description="占道经营", deadline=FAR),
                lambda r: [(r["task"], "Task.Assigned")])
    code = f"JS0{pick.randint(3, 6)}"  # several workers register the same new 社区
    return (lambda: ledger.register_unit(actor_id="admin", code=code, name="新社区", kind="社区",
                                         parent="JS"),
            lambda _: [(Unit.key(code), "Unit.Registered")])


def worker(url: str, number: int, commands: int, start: Any, results: Any) -> None:
    """One process entering ``commands`` random commands; reports what it saw."""
    seen: dict[str, Any] = {"expected": [], "refused": 0, "conflicts": 0, "retries": 0,
                            "errors": []}
    try:
        store = Store(url)
        ledger = store.ledger
        read = ReadSide(store)
        save = ledger.save

        def counting_save(*args: Any, **kwargs: Any) -> Any:
            try:
                return save(*args, **kwargs)
            except IntegrityError:
                seen["retries"] += 1  # someone else wrote the same record first
                raise

        ledger.save = counting_save  # type: ignore[method-assign]
        pick = random.Random(number)
        start.wait()
        for i in range(commands):
            call, events = _command(ledger, pick)
            try:
                seen["expected"].extend(events(call()))
            except (Refused, NotFound):
                seen["refused"] += 1
            except Conflict:
                seen["conflicts"] += 1
            if i % 20 == 19:
                read.current()  # catch-ups from several processes at once
        store.close()
    except Exception:  # noqa: BLE001 - reported to the test, which fails on it
        seen["errors"].append(traceback.format_exc())
    results.put(seen)


def run_workers(url: str, commands: int) -> list[dict[str, Any]]:
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(WORKERS)
    results = spawn.Queue()
    processes = [spawn.Process(target=worker, args=(url, n, commands, start, results))
                 for n in range(WORKERS)]
    for process in processes:
        process.start()
    seen = [results.get(timeout=240) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return seen


def test_concurrent_writers_lose_nothing_and_duplicate_nothing(store_url: str) -> None:
    store = Store(store_url)
    ledger = store.ledger
    seed_campaign(ledger)
    for i in range(SHARED):
        ledger.assign(actor_id="admin", unit=("JS01", "JS02")[i % 2], category="环境卫生",
                      source="complaint", location=f"和平街{i}号", description="乱堆乱放",
                      deadline=FAR)
    seeded = ledger.max_position()

    seen = run_workers(store_url, COMMANDS[store.url.kind])

    errors = [e for s in seen for e in s["errors"]]
    assert not errors, errors[0]
    records = list(ledger.records())
    # The audit chain: positions 1..N with no gap, every hash recomputes.
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    previous = GENESIS
    for r in records:
        assert r.hash == link(previous, r.position, r.originator_id, r.originator_version,
                              r.topic, r.state, r.recorded_at, r.account), r.position
        previous = r.hash
    # Every accepted command is exactly its events; refusals and conflicts wrote nothing.
    written = Counter((r.originator_id, r.topic.rsplit(":", 1)[-1]) for r in records[seeded:])
    assert written == Counter(e for s in seen for e in s["expected"])
    versions: dict[str, list[int]] = {}
    for r in records:
        versions.setdefault(r.originator_id, []).append(r.originator_version)
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    # The read models the workers kept up between them equal a rebuild from the events.
    read = ReadSide(store)
    read.current()
    ctx = Context(ledger.campaign().zone)
    facts = [decode(r) for r in records]
    with store.engine.connect() as conn:
        for projection in all_projections():
            rebuilt = fold_in_memory(projection, facts, ctx)
            for name, table in projection.tables.items():
                kept = {projection.key_of(name, dict(row)): dict(row)
                        for row in conn.execute(sa.select(table)).mappings()}
                assert kept == rebuilt.table(name), (projection.name, name)
    # They did meet: on the same records, and with refusals the fresh state gave.
    assert sum(s["refused"] for s in seen) > 0
    if store.url.kind == "postgresql":
        assert sum(s["retries"] for s in seen) > 0
    store.close()


def _acknowledge(url: str, start: Any, results: Any) -> None:
    """``taizhang --on-behalf-of zhao task ack T-000001`` (entered by the administrator
    bound to the test's account) at the same moment as the others."""
    start.wait()
    result = CliRunner(env={"TAIZHANG_LANG": "en"}).invoke(cli.main, ["--db", url, "--on-behalf-of", "zhao", "task", "ack",
                                           "T-000001"])
    results.put((result.exit_code, result.stdout + without_warning(result.stderr),
                 repr(result.exception)
                 if result.exception and not isinstance(result.exception, SystemExit)
                 else ""))


def test_people_acting_on_one_task_at_once_one_wins_the_others_are_told(store_url: str
                                                                         ) -> None:
    people = 3
    store = Store(store_url)
    seed_campaign(store.ledger)
    task = store.ledger.assign(actor_id="admin", unit="JS01", category="环境卫生",
                               source="complaint",
                               location="和平街3号", description="乱堆乱放",
                               deadline=FAR)["task"]
    before = store.ledger.max_position()
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(people), spawn.Queue()
    processes = [spawn.Process(target=_acknowledge, args=(store_url, start, results))
                 for _ in range(people)]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    assert outcomes == [(0, f"{task} acknowledged · unit JS01 · deadline {FAR}\n", "")] \
        + [(1, f"Error: task {task} cannot be acknowledged: it is acknowledged and already "
               "acknowledged\n", "")] * (people - 1)
    assert store.ledger.max_position() == before + 1
    store.close()
