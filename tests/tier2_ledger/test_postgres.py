"""PostgreSQL as a city's store: the URL, `init`, every kind of command through the command
line, storage failures as one line, and the projections following the ledger live.

Tests that take ``store_url`` run on SQLite as well: PostgreSQL must behave exactly like the
embedded store the README's tour uses.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_support import Cli
from conftest import REQUIRE_POSTGRES, new_postgres_url, postgres_problem, seed_campaign

from eventsourcing.persistence import StoredEvent
from ledger.chain import GENESIS, fits
from ledger.faults import LedgerBusy
from ledger.settings import Settings
from ledger.store import Store, StoreURL, StoreURLError
from projections.follow import follow
from projections.read import ReadSide
from said_support import english

ROOT = Path(__file__).resolve().parents[2]
# The console entry point in a process of its own, as a person at a terminal runs it.
TAIZHANG = [sys.executable, "-c", "import cli; cli.run()"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (not yet created), dropped afterwards."""
    yield from new_postgres_url()


def _clean_env() -> dict[str, str]:
    import os

    return {**{k: v for k, v in os.environ.items() if k not in ("TAIZHANG_DB", "TAIZHANG_AS")},
            "TAIZHANG_LANG": "en"}


# --- the URL --------------------------------------------------------------------------------


def test_a_postgresql_url_names_user_host_port_database_and_schema() -> None:
    typed = "postgresql://wenming@db.city.example:5433/taizhang?schema=district_a"
    url = StoreURL.parse(typed)
    assert (url.kind, url.user, url.host, url.port, url.database, url.schema) == (
        "postgresql", "wenming", "db.city.example", 5433, "taizhang", "district_a")
    assert url.describe() == typed
    assert StoreURL.parse(url.describe()) == url
    env = url.event_store_env()
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_USER"],
            env["POSTGRES_DBNAME"], env["POSTGRES_SCHEMA"]) == (
        "db.city.example", "5433", "wenming", "taizhang", "district_a")


def test_a_postgresql_url_defaults_to_port_5432_and_schema_public() -> None:
    url = StoreURL.parse("postgres://wenming@db/taizhang")
    assert (url.kind, url.port, url.schema) == ("postgresql", 5432, "public")
    assert url.describe() == "postgresql://wenming@db:5432/taizhang"


def test_a_password_in_the_url_is_decoded_and_never_shown() -> None:
    url = StoreURL.parse("postgresql://wenming:p%40ss%2Fword@db:5432/taizhang")
    assert url.password == "p@ss/word"
    assert "p@ss" not in url.describe() and "%40" not in url.describe()


@pytest.mark.parametrize(("url", "message"), [
    ("postgresql://wenming@db:5432/", "store URL 'postgresql://wenming@db:5432/' names no "
                                       "database"),
    ("postgresql://wenming@db:99999/taizhang", "store URL "
     "'postgresql://wenming@db:99999/taizhang' has a bad port"),
    ("postgresql://wenming@db/taizhang?schema=District_A", "store URL schema 'District_A' "
     "must be lower-case letters, digits and _ (at most 63, not starting with a digit)"),
    ("postgresql://wenming@db/taizhang?schema=a%22b", "store URL schema 'a\"b' must be "
     "lower-case letters, digits and _ (at most 63, not starting with a digit)"),
    ("mysql://wenming@db/taizhang", "store URL 'mysql://wenming@db/taizhang' is neither "
                                    "sqlite:///FILE nor postgresql://USER@HOST/DB"),
])
def test_a_bad_url_is_refused_by_name(url: str, message: str) -> None:
    with pytest.raises(StoreURLError) as refused:
        StoreURL.parse(url)
    assert english(refused.value) == message
    result = Cli(url)("board")
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")


# --- init -----------------------------------------------------------------------------------


def _tables(url: str) -> set[str]:
    store = Store(url)
    try:
        parsed = store.url
        schema = parsed.schema if parsed.kind == "postgresql" else None
        return set(sa.inspect(store.engine).get_table_names(schema=schema))
    finally:
        store.engine.dispose()


def test_init_creates_the_store_and_is_safe_to_run_twice(store_url: str) -> None:
    cli = Cli(store_url)
    described = StoreURL.parse(store_url).describe()
    assert cli.ok("init") == f"ledger ready at {described}\n"
    made = _tables(store_url)
    events = "taizhang_events" if "postgresql" in store_url else "stored_events"
    assert {events, "rm_positions", "rm_tasks", "rm_units"} <= made
    assert cli.ok("init") == f"ledger ready at {described}\n"
    assert _tables(store_url) == made
    assert cli.max_position() == 0
    assert cli.ok("campaign", "start", "--name", "创建全国文明城市2024", "--admin", "wang",
                  "--admin-name", "王主任") == (
        "campaign 创建全国文明城市2024 started (Asia/Shanghai); administrator wang, bound to "
        f"account {cli.store.ledger.account}\n")
    assert cli.ok("init") == f"ledger ready at {described}\n"
    assert cli.max_position() == 3  # the administrator, the campaign, the account's binding
    cli.close()


def test_init_on_an_empty_database_from_several_processes_at_once(store_url: str) -> None:
    """Several supervision groups' machines set up at the same moment: each succeeds."""
    starts = [subprocess.Popen([*TAIZHANG, "--db", store_url, "init"], cwd=ROOT, text=True,
                               env=_clean_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE) for _ in range(3)]
    outcomes = [(p.wait(timeout=60), *p.communicate()) for p in starts]
    described = StoreURL.parse(store_url).describe()
    assert outcomes == [(0, f"ledger ready at {described}\n", "")] * 3
    assert Cli(store_url).ok("init") == f"ledger ready at {described}\n"


# --- commands through the command line ------------------------------------------------------


def test_a_task_through_its_lifecycle_on_the_command_line(store_url: str) -> None:
    cli = Cli(store_url)
    cli.ok("init")
    cli.ok("campaign", "start", "--name", "创建全国文明城市2024", "--admin", "wang",
           "--admin-name", "王主任")
    for args in (["unit", "add", "JS", "--name", "建设街道", "--kind", "街道"],
                 ["unit", "add", "JS01", "--name", "幸福社区", "--kind", "社区", "--parent", "JS"],
                 ["person", "add", "li", "--name", "李督查", "--role", "inspector"],
                 ["person", "add", "zhao", "--name", "赵社区", "--role", "unit",
                  "--unit", "JS01"]):
        cli.ok(*args, as_="wang")
    steps = [
        ("li", ["inspect", "JS01", "--at", "2024-05-03 10:00",
                "--finding", "环境卫生|幸福路12号|电线杆牛皮癣|2024-05-10"],
         "I-000001 JS01 inspected by li: T-000001"),
        ("zhao", ["task", "ack", "T-000001", "--at", "2024-05-03 15:00"],
         "T-000001 acknowledged · unit JS01 · deadline 2024-05-10 · OVERDUE"),
        ("li", ["task", "notice", "T-000001", "--number", "ZG-2024-018", "--requirements",
                "清除小广告", "--at", "2024-05-04 09:00"],
         "T-000001 rectifying · unit JS01 · deadline 2024-05-10 · OVERDUE"),
        ("zhao", ["task", "report", "T-000001", "--description", "已清除", "--at",
                  "2024-05-06 09:00"],
         "T-000001 reported · unit JS01 · deadline 2024-05-10 · OVERDUE"),
        ("li", ["task", "reinspect", "T-000001", "--pass", "--at", "2024-05-07 09:00"],
         "T-000001 verified · unit JS01 · deadline 2024-05-10"),
        ("li", ["task", "close", "T-000001", "--reason", "整改到位", "--at", "2024-05-07 10:00"],
         "T-000001 closed (verified) · unit JS01 · deadline 2024-05-10"),
    ]
    for actor, args, said in steps:
        assert cli.ok(*args, as_=actor) == said + "\n"
    cli.refused("task", "close", "T-000001", "--reason", "再次", as_="li",
                message="task T-000001 cannot be closed: it is closed (verified)")
    assert cli.ok("board", "--format", "csv") == (
        "task,unit,category,source,location,state,deadline,days_overdue,rework_count,"
        "extension_requested,last_action,last_action_at\n"
        "T-000001,JS01,环境卫生,inspection,幸福路12号,closed,2024-05-10,0,0,,Closed,"
        "2024-05-07T10:00:00+08:00\n")
    assert stdout(cli, "projections", "verify") == "".join(
        f"{name}: position 14, equal to its rebuild\n"
        for name in ("registry", "board", "events", "indicators", "metrics", "extensions"))
    assert cli.ok("audit", "verify").startswith(
        "chain verified: 14 events, unbroken from position 1\nhead: 14 ")
    cli.close()


HASH = re.compile(r"\b[0-9a-f]{64}\b")


def stdout(cli: Cli, *args: str) -> str:
    """What a successful command prints on stdout (a progress bar may go to stderr)."""
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_demo_reads_the_same_on_postgresql_as_on_sqlite(
        pg_url: str, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events, projections, metrics, rankings and the bulletin: the same figures from the
    same events on either store (only the chain's hashes differ: they cover the moment and
    the account each event was stored by; and the demo writes its checkpoint statement
    beside a SQLite file, in the current folder for PostgreSQL)."""
    monkeypatch.chdir(tmp_path)
    reads = [["board", "--format", "csv"],
             ["rank", "--month", "2024-08", "--level", "社区", "--format", "csv"],
             ["rank", "--month", "2024-08", "--level", "部门", "--format", "csv"],
             ["metrics", "--month", "2024-08", "--format", "csv"],
             ["bulletin", "--month", "2024-08"],
             ["projections", "verify"]]
    seen = []
    for url in (sqlite_url, pg_url):
        cli = Cli(url)
        demo = cli.ok("demo", "--until", "2024-08", "--months", "3")
        demo = demo.replace(shlex.quote(url), "<store>").replace(
            StoreURL.parse(url).describe(), "<store>")
        demo = re.sub(r"\S*-checkpoint\.json", "<statement>",
                      re.sub(r"\S*-auditor\.pub", "<key>", demo))
        seen.append([demo] + [HASH.sub("<hash>", stdout(cli, *args)) for args in reads])
        assert re.match(r"chain verified: (\d+) events, unbroken from position 1\n",
                        cli.ok("audit", "verify"))
        cli.close()
    assert seen[0] == seen[1]
    assert "JD01-SQ" in seen[1][2]  # the 社区 ranking is not empty


# --- storage failures -----------------------------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), [
    ("postgresql://postgres:s3cr%40t@127.0.0.1:1/test", "Connection refused"),
    ("postgresql://no_such_role_here@127.0.0.1:5432/test",
     'role "no_such_role_here" does not exist')])
def test_a_store_that_cannot_be_reached_is_one_error_line(url: str, reason: str) -> None:
    if "5432" in url and postgres_problem():
        if REQUIRE_POSTGRES:
            pytest.fail(postgres_problem())
        pytest.skip(postgres_problem())
    result = Cli(url)("task", "show", "T-000001")
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: store {StoreURL.parse(url).describe()}: connection failed: ")
    assert result.output.endswith(f"{reason}\n") and result.output.count("\n") == 1, \
        result.output
    assert "s3cr" not in result.output


def test_after_a_lock_timeout_the_connection_still_writes(pg_url: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """A writer that gave up waiting for the write lock leaves its connection fit for the
    next command: its transaction ended, and no statement remembered that the server never
    made (psycopg prepares a statement on its sixth run; inside a pipeline that a lock
    timeout aborted it could remember one, and every later write on the connection
    failed)."""
    env = StoreURL.event_store_env
    monkeypatch.setattr(StoreURL, "event_store_env", lambda self, settings: {
        **env(self, settings), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0"})
    store = Store(pg_url, settings=Settings(lock_timeout=1, lock_retries=0))
    ledger = store.ledger
    ledger.start_campaign(name="创建全国文明城市2024", time_zone="Asia/Shanghai",
                          categories=[], required_inspections=2, admin_id="admin",
                          admin_name="王主任")
    ledger.register_unit(actor_id="admin", code="CGJ", name="城管局", kind="部门")
    ledger.register_person(actor_id="admin", person_id="li", name="李督查", role="inspector")
    task = ledger.assign(actor_id="admin", unit="CGJ", category="环境卫生", source="complaint",
                         location="和平街3号", description="乱堆乱放",
                         deadline=date(2099, 1, 1))["task"]
    ledger.escalate(actor_id="li", task_id=task, reason="超期未整改")
    before = ledger.max_position()  # five writes on the one connection: the sixth follows
    holder = sa.create_engine(store.url.sqlalchemy_url())
    with holder.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(CAST(CAST(:t AS regclass) AS oid)"
                             "::bigint)"), {"t": f'"{store.url.schema}"."taizhang_events"'})
        # One attempt (no retries set): the lock times out.
        with pytest.raises(LedgerBusy, match="账本正忙"):
            ledger.recorder.insert_events([StoredEvent(task, 99, "x", b"{}")])
        conn.rollback()
    holder.dispose()
    assert ledger.max_position() == before
    for escalations in range(2, 8):
        assert ledger.escalate(actor_id="li", task_id=task,
                               reason="仍未整改")["escalations"] == escalations
    assert ledger.max_position() == before + 6
    # Whether the aborted run's statement reached the server is a matter of timing; that the
    # write path leaves NOTIFY unprepared, however often it runs, is not.
    with ledger.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        prepared = [r["statement"] for r in conn.execute(
            "SELECT statement FROM pg_prepared_statements", prepare=False)]
    assert prepared and not [s for s in prepared if s.startswith("NOTIFY")], prepared
    store.close()


def test_the_server_extends_the_chain_as_ledger_chain_computes_it(pg_url: str) -> None:
    """PostgreSQL computes each new link itself, under the write lock; auditors recompute
    it with ledger.chain: the same bytes, whatever the ids and topics hold."""
    store = Store(pg_url)
    recorder = store.ledger.recorder
    odd = ['T-"引号"', "a\\b", "tab\there", "ctl\x01", "中文/路径", "x" * 300]
    recorder.insert_events([StoredEvent(o, 1, f"topic:{o}", o.encode()) for o in odd])
    recorder.insert_events([StoredEvent("T-000001", 1, "domain.task:Task.Assigned", b"{}")])
    records = list(store.ledger.records())
    assert [r.originator_id for r in records] == [*odd, "T-000001"]
    previous = GENESIS
    for position, record in enumerate(records, 1):
        assert fits(record, position, previous), position
        previous = record.hash
    store.close()


# --- following the ledger live --------------------------------------------------------------


def _positions(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.text("SELECT position FROM rm_positions"))}


def _until(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_follow_keeps_the_projections_current_until_stopped(store_url: str) -> None:
    store = Store(store_url)
    seed_campaign(store.ledger)
    read = ReadSide(store)
    reports: list[tuple[int, int, int]] = []
    stop = threading.Event()
    follower = threading.Thread(target=follow, args=(read, stop),
                                kwargs={"interval": 0.1, "report": lambda n, at, lag:
                                        reports.append((n, at, lag))})
    follower.start()
    try:
        assert _until(lambda: reports == [(12, 12, 0)]), reports
        # Another process's store writes; nobody here catches up but the follower.
        writer = Store(store_url)
        for i in range(3):
            writer.ledger.assign(actor_id="admin", unit="JS01", category="环境卫生",
                                 source="complaint",
                                 location=f"和平街{i}号", description="乱堆乱放",
                                 deadline=date(2099, 1, 1))
        writer.close()
        assert _until(lambda: _positions(store) == {15}), _positions(store)
        # The follower reports after its catch-up has committed (and read the position
        # reached): the report may come a moment after the positions show it.
        assert _until(lambda: sum(n for n, _, _ in reports) == 15), reports
        assert reports[-1][1:] == (15, 0)
    finally:
        stop.set()
        follower.join(timeout=10)
    assert not follower.is_alive()
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM rm_tasks")).scalar_one() == 3
    store.close()


def test_follow_on_postgresql_stops_cleanly_on_ctrl_c(pg_url: str) -> None:
    store = Store(pg_url)
    seed_campaign(store.ledger)
    following = subprocess.Popen([*TAIZHANG, "--db", pg_url, "projections", "follow"],
                                 cwd=ROOT, text=True, env=_clean_env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert following.stderr is not None
    try:
        first = following.stderr.readline()
        assert first == (f"following {store.url.describe()} (on the database's "
                         "notifications); Ctrl-C stops\n")
        assert following.stderr.readline() == "connected: at position 0\n"
        assert following.stderr.readline() == "+12 events, at position 12, lag 0\n"
        store.ledger.assign(actor_id="admin", unit="JS02", category="环境卫生", source="complaint",
                            location="和平街3号", description="乱堆乱放",
                            deadline=date(2099, 1, 1))
        assert following.stderr.readline() == "+1 event, at position 13, lag 0\n"
        following.send_signal(signal.SIGINT)
        out, err = following.communicate(timeout=20)
    finally:
        following.kill()
    assert (following.returncode, out, err) == (0, "", "stopped at position 13\n")
    store.close()


def test_follow_on_sqlite_says_it_polls(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    seed_campaign(store.ledger)
    store.close()
    following = subprocess.Popen([*TAIZHANG, "--db", sqlite_url, "projections", "follow",
                                  "--interval", "0.2"], cwd=ROOT, text=True,
                                 env=_clean_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
    assert following.stderr is not None
    try:
        assert following.stderr.readline() == (
            f"following {StoreURL.parse(sqlite_url).describe()} (polling every 0.2 s); "
            "Ctrl-C stops\n")
        assert following.stderr.readline() == "connected: at position 0\n"
        assert following.stderr.readline() == "+12 events, at position 12, lag 0\n"
        following.terminate()
        out, err = following.communicate(timeout=20)
    finally:
        following.kill()
    assert (following.returncode, out, err) == (0, "", "stopped at position 12\n")
