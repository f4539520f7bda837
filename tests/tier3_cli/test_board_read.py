"""``taizhang board`` on current read models reads them with plain SQL
(``projections.board_read``), without loading the read side: the same rows, key for key and
type for type, as the read side's own query, and the same output byte for byte, in every
format and language, on both backends; where the read models are not current it leaves the
answer to the read side, which catches them up (or refuses) as before. Also: tables are
printed by tabulate told that every column is text (``commands.output._as_text``), exactly
as tabulate's own type detection would print them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import tabulate as tabulate_module
from cli_support import Cli
from conftest import new_postgres_url
from hypothesis import given, settings
from hypothesis import strategies as st

from commands import output
from domain.task_fields import SOURCES
from domain.task_states import STATES
from projections import board_read
from projections.orders import BOARD_SORTS
from projections.read import ReadSide, all_projections

SMALL = ("demo", "--until", "2024-06", "--months", "4")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A four-month demo city, its read models caught up, with a place on the map and two
    pending extension requests written into the read models (both paths read the same
    tables: what is compared here is the reading)."""
    made: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('board') / 'demo.db'}"]) \
        if request.param == "sqlite" else new_postgres_url()
    url = next(made)
    cli = Cli(url)
    cli.ok(*SMALL)
    read = ReadSide(cli.store)
    tasks = [row["task"] for row in read.board(open_only=True, sort="deadline")]
    with cli.store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO rm_places (task, latitude, longitude) "
                             "VALUES (:task, 31.2304, 121.4737)"), {"task": tasks[0]})
        for task, day in ((tasks[0], "2024-08-01"), (tasks[-1], "2024-09-15")):
            conn.execute(sa.text(
                "INSERT INTO rm_requests (task, request, requested_deadline, deadline_rule, "
                "current_deadline, reason, requested_by, requested_at) VALUES (:task, 9, "
                ":day, NULL, '2024-07-01', '施工', 'zhao', '2024-06-20T02:00:00+00:00')"),
                {"task": task, "day": day})
    yield cli
    cli.close()
    for _ in made:
        pass  # (PostgreSQL's schema dropped)


def units(cli: Cli) -> list[str]:
    return [u["code"] for u in ReadSide(cli.store).units()]


def typed(rows: list[dict[str, Any]] | None) -> list[list[tuple[str, type, Any]]]:
    """Rows with each value's type beside it (True == 1, but a board says True)."""
    assert rows is not None
    return [[(k, type(v), v) for k, v in row.items()] for row in rows]


FILTERS = st.fixed_dictionaries({}, optional={
    "state": st.sampled_from(STATES), "source": st.sampled_from(list(SOURCES)),
    "category": st.sampled_from(["环境卫生", "交通秩序", "市容市貌", "无此类别"]),
    "overdue": st.booleans(), "open_only": st.booleans(),
    "month": st.sampled_from(["2024-03", "2024-05", "2024-06", "2025-01"]),
    "due_by": st.dates(date(2024, 5, 1), date(2027, 1, 1)),
    "extension_requested": st.booleans(), "sort": st.sampled_from(BOARD_SORTS)})


@settings(max_examples=25, deadline=None)
@given(filters=FILTERS, pick=st.integers(0, 1000), with_unit=st.booleans(),
       today=st.dates(date(2024, 3, 1), date(2027, 1, 1)))
def test_the_lean_read_gives_the_read_sides_rows(demo: Cli, filters: dict[str, Any],
                                                  pick: int, with_unit: bool,
                                                  today: date) -> None:
    read = ReadSide(demo.store)
    if with_unit:
        codes = units(demo)
        filters["unit"] = codes[pick % len(codes)]
    full = read.board(**filters)  # (catches up, and reads the day from the store's clock)
    lean = board_read.board(demo.store, read.today(), **filters)
    assert typed(lean) == typed(full)
    # And on any other day, against the read side's own count of days overdue.
    rows = board_read.board(demo.store, today, **filters)
    assert rows is not None
    assert [r["task"] for r in rows if r["days_overdue"]] == [
        r["task"] for r in rows
        if r["state"] not in ("verified", "closed") and r["deadline"] < today.isoformat()]


def test_the_rows_hold_places_and_requests(demo: Cli) -> None:
    read = ReadSide(demo.store)
    rows = board_read.board(demo.store, read.today(), extension_requested=True)
    assert rows is not None and len(rows) == 2
    assert {r["extension_requested"] for r in rows} == {"2024-08-01", "2024-09-15"}
    placed = [r for r in rows if r["latitude"] is not None]
    assert [(type(r["latitude"]), r["latitude"], r["longitude"]) for r in placed] == [
        (float, 31.2304, 121.4737)]
    assert {type(r["acknowledged"]) for r in rows} == {bool}


def outputs(cli: Cli, args: list[str], lean: bool, monkeypatch: pytest.MonkeyPatch
            ) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of ``board ARGS``, by the lean read or (``lean``
    false) with the read side answering every time."""
    with monkeypatch.context() as patch:
        if not lean:
            patch.setattr(board_read, "board", lambda *a, **k: None)
        result = cli("board", *args, env={"COLUMNS": None})
    return result.exit_code, result.stdout, result.stderr


BOARDS = [
    [], ["--unit", "JD01"], ["--unit", "JD01", "--lang", "zh"], ["--lang", "zh"],
    ["--unit", "JD01", "--format", "json"], ["--unit", "JD01", "--format", "csv"],
    ["--overdue", "--sort", "overdue"], ["--open", "--sort", "deadline", "--lang", "zh"],
    ["--state", "rectifying", "--sort", "state"], ["--extension-requested"],
    ["--extension-requested", "--format", "json", "--lang", "zh"],
    ["--due-within", "30d", "--working-days"], ["--due-within", "10wd", "--format", "csv"],
    ["--month", "2024-05", "--sort", "assigned"], ["--source", "inspection", "--sort", "unit"],
    ["--category", "无此类别"], ["--unit", "JD01", "--wide"],
    # as of a moment (the read side's fold, either way), units it does not know then or now
    ["--as-of", "2024-04-15", "--unit", "JD01"], ["--as-of", "2024-02-01", "--unit", "JD01"],
    ["--unit", "JD99"], ["--unit", "JD99", "--lang", "zh"],
]


NARROW = [["--unit", "JD01"], ["--extension-requested"], ["--due-within", "30d", "--working-days"]]


@pytest.mark.parametrize("args", BOARDS, ids=" ".join)
def test_the_board_prints_the_same_by_either_path(demo: Cli, args: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ReadSide(demo.store).current()
    lean = outputs(demo, args, True, monkeypatch)
    assert lean == outputs(demo, args, False, monkeypatch)
    assert lean[1] or lean[2]
    if args not in NARROW:
        return
    for columns in ("100", "60"):  # on a terminal that narrow: wrapped, or stacked
        narrow = demo("board", *args, env={"COLUMNS": columns}).output
        with monkeypatch.context() as patch:
            patch.setattr(board_read, "board", lambda *a, **k: None)
            assert demo("board", *args, env={"COLUMNS": columns}).output == narrow


def test_read_models_not_current_are_left_to_the_read_side(demo: Cli) -> None:
    """Behind the log, of another version, folded from events the ledger no longer holds,
    a table missing: None (the read side catches up, rebuilds or refuses)."""
    store = demo.store
    read = ReadSide(store)
    read.current()
    today = read.today()
    assert board_read.board(store, today) is not None
    assert board_read.board(store, today, unit="JD99") is None  # (refused in its words)

    def changed(sql: str, undo: str) -> list[dict[str, Any]] | None:
        with store.engine.begin() as conn:
            conn.execute(sa.text(sql))
        try:
            return board_read.board(store, today)
        finally:
            with store.engine.begin() as conn:
                conn.execute(sa.text(undo))

    position = read.projector.positions()["events"]
    assert changed(f"UPDATE rm_positions SET position = {position - 1} "
                   "WHERE projection = 'metrics'",
                   f"UPDATE rm_positions SET position = {position} "
                   "WHERE projection = 'metrics'") is None
    assert changed("UPDATE rm_positions SET version = 7 WHERE projection = 'board'",
                   "UPDATE rm_positions SET version = 1 WHERE projection = 'board'") is None
    folded = store.ledger.head()[1]
    assert changed("UPDATE rm_positions SET hash = 'beef' WHERE projection = 'extensions'",
                   f"UPDATE rm_positions SET hash = '{folded}' "
                   "WHERE projection = 'extensions'") is None
    assert changed("ALTER TABLE rm_requests RENAME TO rm_requests_away",
                   "ALTER TABLE rm_requests_away RENAME TO rm_requests") is None
    assert board_read.board(store, today) is not None


def test_what_it_reads_is_what_the_projections_declare() -> None:
    """Its versions are the projections' own, its columns the tables' (a projection that
    changes the shape of what this reads bumps its version: read this SQL again then)."""
    declared = {p.name: p for p in all_projections()}
    assert {name: declared[name].version for name in board_read.SHAPES} == board_read.SHAPES
    board = declared["board"]
    assert tuple(c.name for c in board.tables["tasks"].columns) == board_read.TASK_COLUMNS
    assert tuple(c.name for c in board.tables["places"].columns)[1:] == \
        board_read.PLACE_COLUMNS
    assert {c.name for c in board.tables["tasks"].columns
            if isinstance(c.type, sa.Boolean)} == board_read.BOOLEAN
    requests = declared["extensions"].tables["requests"].columns
    units = declared["registry"].tables["units"].columns
    assert {"task", "requested_deadline"} <= {c.name for c in requests}
    assert {"code", "parent"} <= {c.name for c in units}


CELLS = st.one_of(st.sampled_from(["", "1", "-2", "3.50", "1,000", "1e5", "True", "False",
                                   "None", "nan", "整改中", "JD01-SQ01", " 幸福路 12号 ",
                                   "a\nb", "\x1b[31m7\x1b[0m"]),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
                          max_size=8))


@settings(max_examples=100, deadline=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(0, 6)), data=st.data())
def test_tables_print_as_tabulate_would_find_them(shape: tuple[int, int],
                                                  data: st.DataObject) -> None:
    """Told that every column is text, tabulate prints exactly what its own detection of
    each cell's type makes of our cells (text, numbers not parsed)."""
    width, height = shape
    headers = data.draw(st.lists(CELLS, min_size=width, max_size=width))
    cells = data.draw(st.lists(st.lists(CELLS, min_size=width, max_size=width),
                               min_size=height, max_size=height))
    # (at least as wide as a wide character: tabulate's wrapping of one into a column of
    # one never ends; the command's tables never ask for narrower than ten)
    limits = data.draw(st.lists(st.one_of(st.none(), st.integers(4, 12)), min_size=width,
                                max_size=width))
    wrapped = {"maxcolwidths": limits, "maxheadercolwidths": limits}
    # (tabulate's own wrapping fails on a cell like "1,000", whatever it is told: it
    # parses it as an int although numbers are not to be parsed)
    thousands = any(tabulate_module._isnumber_with_thousands_separator(cell)
                    for row in [headers, *cells] for cell in row)
    for options in ({}, {} if thousands else wrapped):
        with output._as_text(tabulate_module):
            told = tabulate_module.tabulate(cells, headers=headers, disable_numparse=True,
                                            **options)
        assert told == tabulate_module.tabulate(cells, headers=headers,
                                                disable_numparse=True, **options)
    assert tabulate_module._column_type.__module__ == "tabulate"  # (put back)


def test_a_tabulate_without_its_private_type_deduction_prints_as_it_does() -> None:
    """``_as_text`` replaces a private function of tabulate's; a release without it is left
    to deduce the types itself (never an AttributeError on every table)."""
    import types

    bare = types.SimpleNamespace()
    with output._as_text(bare):
        pass
    assert vars(bare) == {}


def test_filters_combined_match_too(demo: Cli) -> None:
    """Every pair of the command's filters, on a unit and the whole city."""
    read = ReadSide(demo.store)
    today = read.today()
    some: list[tuple[str, Any]] = [
        ("state", "rectifying"), ("overdue", True), ("open_only", True),
        ("month", "2024-05"), ("due_by", today + timedelta(days=400)),
        ("extension_requested", True), ("source", "inspection"), ("sort", "overdue")]
    for unit, (one, two) in itertools.product(("JD01", None),
                                              itertools.combinations(some, 2)):
        filters = dict([one, two], unit=unit)
        assert typed(board_read.board(demo.store, today, **filters)) == \
            typed(read.board(**filters))
