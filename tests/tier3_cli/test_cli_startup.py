"""A command loads only what it uses: the group lists the commands without importing their
modules, and a command on an SQLite store never loads the PostgreSQL driver, SQLAlchemy's
PostgreSQL dialect, nor signatures unless it signs. Checked in a fresh interpreter
(sys.modules), so that the start-up gain cannot silently regress. (Its speed is measured in
benchmarks/bench_startup.py, not here.)"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import click
import pytest
from conftest import Clock, new_postgres_url, seed_campaign

import cli
import commands
from commands.help import short_help
from ledger.store import Store

ROOT = Path(__file__).resolve().parents[2]
NEVER_ON_SQLITE = ("psycopg", "eventsourcing.postgres", "ledger.recorders_postgres",
                   "ledger.factories_postgres", "sqlalchemy.dialects.postgresql",
                   "cryptography")

# Runs taizhang's commands in this interpreter, then prints which of the modules asked
# about it loaded.
PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import cli
for args in {runs!r}:
    cli.main.main(args, standalone_mode=False)
print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))
"""


def loaded_after(runs: list[list[str]], modules: tuple[str, ...], cwd: Path) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after running ``runs``."""
    probe = PROBE.format(root=str(ROOT), runs=runs, modules=modules)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=cwd, timeout=120,
                          env={**os.environ, "XDG_STATE_HOME": str(cwd / "state"),
                               "TAIZHANG_DB": "", "TAIZHANG_AS": ""})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_imports_no_command_module_nor_the_store(tmp_path: Path) -> None:
    command_modules = tuple(sorted({module for module, _ in cli.COMMANDS.values()}))
    heavy = ("sqlalchemy", "importlib.metadata", "tabulate", "ledger.app", *NEVER_ON_SQLITE)
    assert loaded_after([["--help"]], command_modules + heavy, tmp_path) == []


def ledger_only_commands(url: str) -> list[list[str]]:
    """A small campaign seeded at ``url``, and commands on it that read the ledger alone
    (no read model): a campaign shown, a proxy inspection making T-000001, that task shown."""
    store = Store(url, clock=Clock(datetime(2024, 5, 1, tzinfo=timezone.utc)))
    seed_campaign(store.ledger)
    store.close()
    db = ["--db", url]
    return [[*db, "campaign", "show"],
            [*db, "--on-behalf-of", "li", "inspect", "JS01", "--at", "2024-05-03 10:00",
             "--finding", "环境卫生|幸福路12号|牛皮癣"],
            [*db, "task", "show", "T-000001", "--format", "csv"]]


def test_commands_on_sqlite_load_neither_the_postgresql_driver_nor_signatures(
        sqlite_url: str, tmp_path: Path) -> None:
    ledger_only = ledger_only_commands(sqlite_url)
    db = ["--db", sqlite_url]
    # The ledger alone: not even SQLAlchemy, which only the read models' queries need.
    assert loaded_after(ledger_only, ("sqlalchemy", *NEVER_ON_SQLITE), tmp_path) == []
    with_read_models = [*ledger_only, [*db, "history", "T-000001"],
                        [*db, "board", "--unit", "JS01"]]
    assert loaded_after(with_read_models, ("sqlalchemy", *NEVER_ON_SQLITE), tmp_path) == \
        ["sqlalchemy"]
    # A history folds the record's own events in memory: neither SQLAlchemy, nor the
    # projection engine, nor the read models it does not fold.
    unfolded = ("sqlalchemy", "projections.engine", "projections.registry",
                "projections.indicators", "projections.metrics")
    histories = [[*db, "history", "T-000001"], [*db, "history", "T-000001", "--format", "json"],
                 [*db, "history", "unit:JS01"]]
    assert loaded_after(histories, unfolded, tmp_path) == []


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from new_postgres_url()


def test_commands_on_postgresql_that_read_no_read_model_load_no_sqlalchemy(
        postgres_url: str, tmp_path: Path) -> None:
    """On PostgreSQL too a command that reads no read model loads no SQLAlchemy: the store
    is checked, and a write's account told, through the driver (on the ledger's own
    connection for the account); a history whose events cite no kept file opens no
    evidence table."""
    runs = [*ledger_only_commands(postgres_url),
            ["--db", postgres_url, "history", "T-000001"]]
    assert loaded_after(runs, ("sqlalchemy", "cryptography"), tmp_path) == []


def test_the_board_on_current_read_models_loads_no_read_side(sqlite_url: str,
                                                            tmp_path: Path) -> None:
    """Read models that are current are read with plain SQL (projections/board_read.py):
    neither SQLAlchemy, nor the read side and its engine, nor the projections, nor the
    event classes of the aggregates the board does not show; behind the log, the read side
    catches them up as before."""
    store = Store(sqlite_url, clock=Clock(datetime(2024, 5, 1, tzinfo=timezone.utc)))
    seed_campaign(store.ledger)
    store.ledger.assign(actor_id="li", unit="JS01", category="环境卫生", source="inspection",
                        location="幸福路12号", description="牛皮癣", deadline=date(2024, 5, 10))
    store.close()
    db = ["--db", sqlite_url]
    lean = ("sqlalchemy", "projections.read", "projections.engine", "projections.board",
            "projections.registry", "projections.extensions", "domain.target",
            "domain.evaluation", "domain.survey", "domain.indicators", *NEVER_ON_SQLITE)
    boards = [[*db, "board", "--unit", "JS01"], [*db, "board", "--format", "json"],
              [*db, "board", "--overdue", "--sort", "overdue", "--format", "csv"],
              [*db, "board", "--due-within", "5wd", "--working-days"]]
    # Behind the log (never caught up): the read side catches up, SQLAlchemy and all.
    assert "sqlalchemy" in loaded_after(boards[:1], lean, tmp_path)
    assert loaded_after(boards, lean, tmp_path) == []


def test_a_partial_index_is_partial_on_both_backends(store: Store) -> None:
    """The event index's index of a second unit is declared for SQLite alone (so that
    SQLite never loads SQLAlchemy's PostgreSQL dialect); PostgreSQL's read side makes it
    partial there too."""
    import sqlalchemy as sa

    from projections.read import ReadSide

    seed_campaign(store.ledger)
    ReadSide(store).current()
    name = "ix_rm_events_other_unit"
    ask = ("SELECT sql FROM sqlite_master WHERE name = :name" if store.url.kind == "sqlite"
           else "SELECT indexdef FROM pg_indexes WHERE indexname = :name "
                "AND schemaname = current_schema()")
    with store.engine.connect() as conn:
        made = conn.execute(sa.text(ask), {"name": name}).scalar_one()
    assert "WHERE other_unit IS NOT NULL" in made.replace("(", "").replace(")", "")


def test_the_group_knows_every_command_its_module_and_short_help() -> None:
    """``cli.COMMANDS`` (what ``taizhang --help`` lists without importing) names every
    command of every module under commands/, with the module and the short help the
    command itself has (its first sentence, as the command's own group lists it)."""
    found: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"commands.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            assert isinstance(command, click.Command)
            found[str(command.name)] = (module.__name__, short_help(command.help))
    assert cli.COMMANDS == found


def test_an_unknown_command_is_one_error_line(tmp_path: Path) -> None:
    for lang, said in [("zh", "没有命令 'no-such-thing'。"),
                       ("en", "No such command 'no-such-thing'.")]:
        done = subprocess.run([sys.executable, "-c", "import cli; cli.run()", "no-such-thing"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60,
                              env={**os.environ, "TAIZHANG_LANG": lang})
        assert done.returncode == 2
        assert done.stderr == f"Error: {said}\n"
