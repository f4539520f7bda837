"""Tables for people fit the terminal: on an 80-column terminal (COLUMNS=80) no line of the
board, the ranking, a history or a task is wider than 80 display columns (Chinese counts
two), in either language; --wide and output into a file keep every row on one line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from cli_support import Cli
from wcwidth import wcswidth

from ledger.store import Store
from web_support import World, build_world

LONG = "市场秩序混乱：农贸市场摊位出店经营，占道堆放杂物，油污遍地，群众多次反映仍未整改到位"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The web's small world, and a task with a long place and description (LONG_TASK)."""
    world = build_world(f"sqlite:///{tmp_path_factory.mktemp('narrow') / 'ledger.db'}")
    store = Store(world.url, clock=world.clock)
    try:
        task = store.ledger.assign(actor_id="admin", unit="JS01", category="环境卫生", source="media",
                                   location=PLACE, description=LONG,
                                   deadline=date(2024, 6, 30))["task"]
    finally:
        store.close()
    assert task == LONG_TASK
    yield world


PLACE = "幸福街道和平社区人民路与建设路交叉口东北角农贸市场门前"
LONG_TASK = "T-000010"
COMMANDS = [("board",), ("rank", "--month", "2024-05", "--level", "社区"),
            ("history", "T-000001"), ("history", LONG_TASK), ("task", "show", "T-000001"),
            ("timeline",), ("task", "show", LONG_TASK)]


def widest(text: str) -> int:
    return max(wcswidth(line) for line in text.splitlines())


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_on_an_80_column_terminal_no_line_is_wider(world: World, lang: str,
                                                    command: tuple[str, ...]) -> None:
    cli = Cli(world.url)
    try:
        narrow = cli.ok(*command, env={"COLUMNS": "80", "TAIZHANG_LANG": lang})
        wide = cli.ok(*command, env={"TAIZHANG_LANG": lang})
    finally:
        cli.close()
    assert widest(narrow) <= 80, narrow
    if command[0] != "task":
        assert widest(wide) > 80  # what there was to fit
    # Nothing is lost but what the last line names (--wide shows it).
    for word in ("T-000001", "JS01"):
        assert (word in narrow) == (word in wide)


def test_wide_keeps_each_row_on_one_line(world: World) -> None:
    cli = Cli(world.url)
    try:
        narrow = cli.ok("board", env={"COLUMNS": "80"})
        wide = cli.ok("board", "--wide", env={"COLUMNS": "80"})
        piped = cli.ok("board")
    finally:
        cli.close()
    assert wide == piped and widest(wide) > 80
    assert PLACE in wide and PLACE not in narrow
    assert len(wide.splitlines()) == 2 + 10  # the header, its rule, a line a task
    # On the narrow terminal the board wraps its text and leaves out what it must, naming it.
    assert narrow.splitlines()[-1] == \
        "(not shown: Source, Rework, Last action, At; --wide shows all)"
    assert "幸福街道和平社区" in narrow


def test_the_narrow_board_in_chinese(world: World) -> None:
    cli = Cli(world.url)
    try:
        narrow = cli.ok("board", env={"COLUMNS": "80", "TAIZHANG_LANG": "zh"})
    finally:
        cli.close()
    head = narrow.splitlines()[:2]
    assert "".join(head[0].split()[:2]) == "任务责任" and head[1].split()[0] == "单位"
    assert narrow.splitlines()[-1].startswith("（未显示：")
    assert narrow.splitlines()[-1].endswith("最后操作、时间；--wide 显示全部）")
