"""Stores survive an upgrade of the read side: each projection carries a version, the store
records which version built its rows, and a store whose rows another version built has
that projection rebuilt when it is first read — its tables dropped and made afresh, so a
changed table works too — with the same figures, on both backends."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.exc

from cli_support import Cli
from ledger.demo import Scale, Simulation
from ledger.store import Store
from projections.board import Board
from projections.facts import Context, Fact
from projections.positions import POSITIONS, Outdated
from projections.read import ReadSide, all_projections
from projections.rows import Rows
from tests.conftest import Clock
from tests.tier3_cli.test_access_postgres import city as access_city  # noqa: F401  (a fixture)

SMALL = Scale(streets=1, communities_per_street=2, departments=1, properties=1,
              inspectors=2, months=2, inspections_per_unit_month=2.0)


@pytest.fixture
def city(store_url: str) -> Iterator[str]:
    """A store holding a small city's two months, its read models current."""
    store = Store(store_url, clock=Clock(datetime(2024, 12, 1, 9, 0, tzinfo=timezone.utc)))
    try:
        Simulation(store.ledger, seed=3, until="2024-05", scale=SMALL).run()
        ReadSide(store).current()
    finally:
        store.close()
    yield store_url


def every_row(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every read model's rows, table by table, in key order (with what JSON holds as
    text, so that rows compare alike on both backends)."""
    found = {}
    with store.engine.connect() as conn:
        for projection in all_projections():
            for table in projection.tables.values():
                pk = list(table.primary_key.columns)
                found[table.name] = [tuple(str(v) if isinstance(v, (dict, list)) else v
                                           for v in row)
                                     for row in conn.execute(sa.select(table).order_by(*pk))]
    return found


# What opening a store kept before versions were says: the read models now at a later
# version than 1 are rebuilt.
LATER = [f"读模型 {p.name} v1 → v{p.version}：正在重建" for p in all_projections()
         if p.version > 1]
LATER_EN = [f"read model {p.name} v1 → v{p.version}: rebuilding" for p in all_projections()
            if p.version > 1]  # what the command line says of it in English


def versions(store: Store) -> dict[str, int | None]:
    with store.engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(
            sa.select(POSITIONS.c.projection, POSITIONS.c.version))}


def recording(said: list[str], counted: list[int]
              ) -> Callable[[list[Outdated], int], contextlib.AbstractContextManager[Any]]:
    @contextlib.contextmanager
    def upgrading(outdated: list[Outdated], facts: int) -> Iterator[Callable[[int], None]]:
        said.extend(o.reason() for o in outdated)
        yield counted.append
    return upgrading


def test_the_store_records_the_version_that_built_each_read_model(city: str) -> None:
    store = Store(city)
    try:
        assert versions(store) == {p.name: p.version for p in all_projections()}
    finally:
        store.close()


def test_a_read_model_another_version_built_is_rebuilt_on_opening_with_the_same_figures(
        city: str) -> None:
    store = Store(city)
    try:
        before = every_row(store)
        board = ReadSide(store).board()
        with store.engine.begin() as conn:
            conn.execute(POSITIONS.update().where(POSITIONS.c.projection.in_(
                ["board", "metrics"])).values(version=0))
            # Rows the old version built that the new one would not: they must go.
            conn.execute(sa.text("DELETE FROM rm_tasks WHERE task IN "
                                 "(SELECT task FROM rm_tasks ORDER BY task LIMIT 3)"))
    finally:
        store.close()
    store = Store(city)
    try:
        said: list[str] = []
        counted: list[int] = []
        read = ReadSide(store, upgrading=recording(said, counted))
        assert read.board() == board
        code = {p.name: p.version for p in all_projections()}
        assert said == [f"读模型 board v0 → v{code['board']}：正在重建",
                        f"读模型 metrics v0 → v{code['metrics']}：正在重建"]
        assert sum(counted) == store.ledger.max_position()
        assert every_row(store) == before
        assert versions(store) == {p.name: p.version for p in all_projections()}
        # Once rebuilt, the next opening has nothing to rebuild.
        said.clear()
        ReadSide(Store(city), upgrading=recording(said, [])).board()
        assert said == []
    finally:
        store.close()


def test_a_version_bump_makes_a_store_with_the_old_table_work(
        city: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new version of the board with a column more: ``create_all`` alone would leave the
    old table as it is, and every query of it would fail."""
    store = Store(city)
    try:
        before = every_row(store)
    finally:
        store.close()
    define, fold = Board.define, Board.fold

    def with_a_new_column(self: Board) -> None:
        define(self)
        self.tables["tasks"].append_column(sa.Column("flag", sa.Text))

    def filling_it(self: Board, rows: Rows, fact: Fact, ctx: Context) -> None:
        fold(self, rows, fact, ctx)
        row = rows.get("tasks", (fact.originator_id,))
        if row is not None:
            row["flag"] = f"flag of {fact.originator_id}"

    monkeypatch.setattr(Board, "define", with_a_new_column)
    monkeypatch.setattr(Board, "fold", filling_it)
    # Without the version bump the old table stays, and the board cannot be read.
    store = Store(city)
    try:
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            ReadSide(store).board()
    finally:
        store.close()
    monkeypatch.setattr(Board, "version", Board.version + 1)
    store = Store(city)
    try:
        said: list[str] = []
        ReadSide(store, upgrading=recording(said, [])).board()
        assert said == [f"读模型 board v{Board.version - 1} → v{Board.version}：正在重建"]
        with store.engine.connect() as conn:
            assert "flag" in {c["name"] for c in sa.inspect(conn).get_columns("rm_tasks")}
        after = every_row(store)
        assert after.pop("rm_tasks") == [row + (f"flag of {row[0]}",)
                                          for row in before.pop("rm_tasks")]
        assert after == before
        assert versions(store)["board"] == Board.version
    finally:
        store.close()


def test_positions_kept_before_versions_were_count_as_version_one(city: str) -> None:
    """A store whose positions table has no version column (kept before versions were):
    the column is added, and its rows, built by version 1, are not rebuilt (but those of a
    read model now at a later version)."""
    store = Store(city)
    try:
        with store.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE rm_positions DROP COLUMN version"))
    finally:
        store.close()
    store = Store(city)
    try:
        said: list[str] = []
        ReadSide(store, upgrading=recording(said, [])).board()
        assert said == LATER
        assert set(versions(store).values()) <= {None, *(p.version for p in all_projections())}
    finally:
        store.close()


def test_the_command_line_says_which_read_model_it_rebuilds_and_why(sqlite_url: str) -> None:
    cli = Cli(sqlite_url)
    cli.ok("demo", "--until", "2024-06", "--months", "2")
    board = cli.ok("board")
    with cli.store.engine.begin() as conn:
        conn.execute(POSITIONS.update().where(POSITIONS.c.projection == "board")
                     .values(version=0))
    cli.close()
    result = cli("board")
    assert result.exit_code == 0, result.output
    assert result.stderr == "read model board v0 → v1: rebuilding\n"
    assert result.stdout == board
    assert cli("board").stderr == ""
    cli.close()


def test_on_postgresql_only_the_owner_rebuilds_a_read_model_of_another_version(
        access_city: dict[str, Any]) -> None:
    """A login that may not alter the read models' tables is told to let the owner open the
    store (one Error line, nothing changed); once the owner has, every login reads the
    rebuilt board, the grants of the remade tables included."""
    owner: Cli = access_city["owner"]
    sun, projector = Cli(access_city["urls"]["sun"]), Cli(access_city["urls"]["projector"])
    try:
        board = owner.ok("board")
        with owner.store.engine.begin() as conn:
            conn.execute(POSITIONS.update().where(POSITIONS.c.projection == "board")
                         .values(version=0))
        owner.close()
        for login in (sun, projector):
            result = login("board")
            assert result.exit_code == 1
            assert result.output == ("Error: read model board was built by another version "
                                     "and must be rebuilt, which this login may not do: "
                                     "open the store once as its owner\n")
        result = owner("board")
        assert result.stdout == board
        assert result.stderr == "read model board v0 → v1: rebuilding\n"
        assert sun.ok("board") == board
        assert projector.ok("board") == board
    finally:
        sun.close()
        projector.close()


def test_a_login_that_may_not_add_the_version_column_reads_as_before(
        access_city: dict[str, Any]) -> None:
    """A store kept before versions were, first opened by an auditor: the column is left
    for the owner to add, and the auditor's answers are as before."""
    owner: Cli = access_city["owner"]
    sun = Cli(access_city["urls"]["sun"])
    try:
        board = owner.ok("board")
        with owner.store.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE rm_positions DROP COLUMN version"))
        owner.close()
        assert sun.ok("board") == board
        with owner.store.engine.connect() as conn:
            assert "version" not in {c["name"] for c in
                                     sa.inspect(conn).get_columns("rm_positions")}
        owner.close()
        read = owner("board")  # the owner adds the column, and rebuilds what is outdated
        assert read.exit_code == 0 and read.stdout == board, read.output
        assert read.stderr == "".join(f"{line}\n" for line in LATER_EN)
        with owner.store.engine.connect() as conn:
            assert "version" in {c["name"] for c in sa.inspect(conn).get_columns("rm_positions")}
    finally:
        sun.close()
