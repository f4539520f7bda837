"""Excel 台账 as offices keep them: merged 责任单位 cells, title lines above a header found by
its names, 合计/signature/note rows below, cells padded with every width of space, dates in
full-width digits; units registered with a kind read from their name, under a parent."""

from __future__ import annotations

import csv
import json
import random
import shlex
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from said_support import english
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from ledger.importer import Importer, ImportReport, load_mapping, open_table
from ledger.store import Store
from projections.board import Board
from projections.facts import Context, decode
from projections.projection import fold_in_memory
from tests.cli_support import Cli
from tests.conftest import seed_campaign

ROOT = Path(__file__).resolve().parents[2]
WORKBOOK_MAPPING = ROOT / "examples" / "mappings" / "taizhang_workbook.toml"
REGISTER_MAPPING = ROOT / "examples" / "mappings" / "jiedao_register.toml"
JIANSHE = ROOT / "examples" / "workbooks" / "建设街道2024年5月问题整改台账.xlsx"
CHENGGUAN = ROOT / "examples" / "workbooks" / "城关街道2024年6月台账.xlsx"
HEADER = ["序号", "问题类别", "问题描述", "地点", "责任单位", "发现时间", "发现方式", "整改时限",
          "整改情况", "复查结果", "销号时间"]
UNITS = ["幸福社区", "和平社区", "城管局"]
SPACES = ["\u3000", "\u00a0", " ", "\u2002", "\u200b"]
FULL = str.maketrans("0123456789-", "０１２３４５６７８９－")


@pytest.fixture
def seeded_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'ledger.db'}")
    seed_campaign(store.ledger)
    yield store
    store.close()


def data_rows(blocks: list[tuple[str, int]], seed: int) -> list[list[Any]]:
    """The rows of a 台账 whose units come in blocks, written plainly."""
    rng = random.Random(seed)
    rows = []
    start = datetime(2024, 5, 2, 9)
    for unit, length in blocks:
        for _ in range(length):
            number = len(rows) + 1
            found = start + timedelta(hours=7 * number)
            closed = rng.random() < 0.5
            rows.append([number, rng.choice(["环境卫生", "交通秩序", "集贸市场"]),
                         f"问题{number}", f"幸福路{number}号", unit,
                         found.strftime("%Y-%m-%d %H:%M"), rng.choice(["巡查", "群众举报"]),
                         f"{rng.randint(1, 9)}天", "已整改" if closed else "",
                         "合格" if closed else "",
                         (found + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
                         if closed else ""])
    return rows


def write_plain(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    for cells in rows:
        book.active.append(cells)
    book.save(path)
    return path


def write_as_offices_do(path: Path, rows: list[list[Any]], blocks: list[tuple[str, int]],
                        seed: int) -> Path:
    """The same rows with a title, 填报单位 line, merged 责任单位 blocks, padding of every
    width, full-width dates, a 合计 row, a signature line and a note."""
    rng = random.Random(seed)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "五月"
    sheet.append(["建设街道文明创建问题整改台账（2024年5月）"])
    sheet.merge_cells("A1:K1")
    sheet.append(["填报单位：建设街道办事处"])
    sheet.append([f"{rng.choice(SPACES)}{h}" if i % 3 == 0 else h for i, h in enumerate(HEADER)])
    first = 0
    for unit, length in blocks:
        for offset in range(length):
            cells = list(rows[first + offset])
            cells[4] = f"{rng.choice(SPACES)}{unit}{rng.choice(SPACES)}" if offset == 0 else None
            if rng.random() < 0.5:  # 2024年5月3日 09:00 in full-width digits
                moment = datetime.strptime(cells[5], "%Y-%m-%d %H:%M")
                cells[5] = moment.strftime("%Y-%m-%d %H:%M").translate(FULL)
            cells[3] = f"{rng.choice(SPACES)}{cells[3]}{rng.choice(SPACES)}"
            cells[7] = cells[7].translate(FULL) if rng.random() < 0.5 else cells[7]
            sheet.append(cells)
        if length > 1:
            top = sheet.max_row - length + 1
            sheet.merge_cells(start_row=top, start_column=5, end_row=sheet.max_row,
                              end_column=5)
        first += length
    sheet.append(["合\u3000计", None, None, None, f"共{len(rows)}条"])
    sheet.append([])
    sheet.append(["制表人：王芳\u3000\u3000审核人：李强"])
    sheet.append(["备注：无"])
    book.save(path)
    return path


def imported(store: Store, path: Path, mapping: Path = WORKBOOK_MAPPING) -> ImportReport:
    loaded = load_mapping(mapping)
    return Importer(store.ledger, actor_id="admin", mapping=loaded,
                    table=open_table(path, loaded)).run()


def board(store: Store) -> dict[Any, dict[str, Any]]:
    facts = [decode(r) for r in store.ledger.records()]
    return fold_in_memory(Board(), facts, Context(store.ledger.campaign().zone)).table("tasks")


blocks_strategy = st.lists(st.tuples(st.sampled_from(UNITS), st.integers(1, 5)),
                           min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=blocks_strategy, seed=st.integers(0, 1000))
def test_a_workbook_kept_as_offices_do_imports_as_the_same_rows_written_plainly(
        tmp_path_factory: pytest.TempPathFactory, blocks: list[tuple[str, int]],
        seed: int) -> None:
    folder = tmp_path_factory.mktemp("workbooks")
    rows = data_rows(blocks, seed)
    boards, reports = [], []
    for name, write in (("plain", lambda p: write_plain(p, rows)),
                        ("office", lambda p: write_as_offices_do(p, rows, blocks, seed))):
        store = Store(f"sqlite:///{folder / f'{name}.db'}")
        seed_campaign(store.ledger)
        try:
            reports.append(imported(store, write(folder / f"{name}.xlsx")))
            boards.append(board(store))
        finally:
            store.close()
    plain, office = reports
    assert (plain.rejects, office.rejects) == ([], [])
    assert plain.tasks_created == office.tasks_created == len(rows)
    assert boards[0] == boards[1]
    assert office.skipped == {"total row": 1, "signature line": 1, "note line": 1,
                              "empty row": 1}
    assert plain.skipped == {}
    merged = sum(length - 1 for _, length in blocks)
    assert office.filled.get("责任单位: from a merged cell", 0) == merged


def test_a_value_from_a_merged_cell_says_so_in_the_reject_and_the_origin(
        seeded_store: Store, tmp_path: Path) -> None:
    blocks = [("幸福社区", 2), ("无名社区", 3)]
    rows = data_rows(blocks, 1)
    report = imported(seeded_store, write_as_offices_do(tmp_path / "台账.xlsx", rows, blocks, 1))
    assert report.tasks_created == 2
    assert [(r.row, r.column) for r in report.rejects] == [(6, "责任单位"), (7, "责任单位"),
                                                          (8, "责任单位")]
    assert english(report.rejects[0].said) == ("责任单位 '无名社区' is neither a unit's name nor its "
                                        "code (the mapping refuses unknown units)")
    assert english(report.rejects[1].said) == english(report.rejects[0].said) + (
        " (责任单位 from merged cell E6:E8)")
    assert report.as_dict()["rejects"][1]["filled"] == {"责任单位": "from merged cell E6:E8"}
    origins = {decode(r).data["origin"]["row"]: decode(r).data["origin"]
               for r in seeded_store.ledger.records() if r.topic.endswith("Task.Assigned")}
    assert "filled" not in origins[4]
    assert origins[5]["filled"] == {"责任单位": "from merged cell E4:E5"}


def test_a_csv_exported_from_a_merged_sheet_fills_down_as_the_mapping_says(
        seeded_store: Store, tmp_path: Path) -> None:
    blocks = [("幸福社区", 3), ("城管局", 2)]
    rows = data_rows(blocks, 2)
    path = tmp_path / "台账.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["建设街道问题整改台账"])
        writer.writerow(HEADER)
        for index, cells in enumerate(rows):
            writer.writerow([c if i != 4 or index in (0, 3) else "" for i, c in enumerate(cells)])
        writer.writerow(["小计", "", "", "", "共5条"])
        writer.writerow(["以下空白"])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(REGISTER_MAPPING.read_text(encoding="utf-8")
                       .replace('format = "xlsx"', 'format = "csv"')
                       .replace("# [fill]\n# down", "[fill]\ndown")
                       .replace('parent = "CG"', 'parent = "JS"')
                       + '\n[skip]\nnotes = ["以下空白"]\n', encoding="utf-8")
    report = imported(seeded_store, path, mapping)
    assert (report.tasks_created, report.rejects) == (5, [])
    assert report.skipped == {"total row": 1, "note line": 1}
    assert report.filled["责任单位: filled down"] == 3
    units = sorted((row["unit"], row["description"]) for row in board(seeded_store).values())
    assert units == [("CGJ", "问题4"), ("CGJ", "问题5"), ("JS01", "问题1"), ("JS01", "问题2"),
                     ("JS01", "问题3")]
    origins = [decode(r).data["origin"] for r in seeded_store.ledger.records()
               if r.topic.endswith("Task.Assigned")]
    assert {o["row"]: o.get("filled") for o in origins}[4] == {
        "责任单位": "filled down from row 3"}


def test_a_working_day_limit_in_full_width_digits_counts_working_days(
        seeded_store: Store, tmp_path: Path) -> None:
    """３个工作日 is 3个工作日: counted by the official calendar (2024's May Day holiday
    ran to 05-05), the rule kept beside the date."""
    rows = data_rows([("幸福社区", 2)], 3)
    rows[1][7] = "３个工作日"
    report = imported(seeded_store, write_plain(tmp_path / "台账.xlsx", rows))
    assert (report.tasks_created, report.rejects) == (2, [])
    (assigned,) = [decode(r).data for r in seeded_store.ledger.records()
                   if r.topic.endswith("Task.Assigned") and decode(r).data["origin"]["row"] == 3]
    assert (assigned["deadline"], assigned["deadline_rule"]) == ("2024-05-08", "３个工作日")


def test_the_header_is_found_by_its_names_and_an_unreadable_one_is_named(
        seeded_store: Store, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["没有表头的表"])
    book.active.append(["序号", "问题"])
    book.save(tmp_path / "bad.xlsx")
    cli = Cli(seeded_store.url.describe())
    cli.refused("import", str(tmp_path / "bad.xlsx"), "--mapping", str(WORKBOOK_MAPPING),
                as_="admin", message="mapping taizhang_workbook.toml: column '问题类别' is not "
                "in bad.xlsx's header (序号, 问题)")
    cli.close()


# --- the shipped example workbooks ---------------------------------------------------------

def test_the_shipped_jianshe_workbook_imports_with_the_shipped_mapping(
        seeded_store: Store) -> None:
    report = imported(seeded_store, JIANSHE)
    assert (report.rows_read, report.tasks_created, report.rejects) == (18, 18, [])
    assert report.skipped == {"total row": 1, "signature line": 1, "note line": 1,
                              "empty row": 1}
    assert report.filled["责任单位: from a merged cell"] == 15
    units = {}
    for row in board(seeded_store).values():
        units[row["unit"]] = units.get(row["unit"], 0) + 1
    assert units == {"JS01": 7, "JS02": 7, "CGJ": 4}


def test_the_shipped_chengguan_workbook_registers_its_units_under_the_jiedao(
        tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'ledger.db'}")
    cli.ok("campaign", "start", "--name", "创建", "--admin", "wang", "--admin-name", "王主任")
    cli.ok("unit", "add", "CG", "--name", "城关街道", "--kind", "街道", as_="wang")
    report = json.loads(cli.ok("import", str(CHENGGUAN), "--mapping", str(REGISTER_MAPPING),
                               "--format", "json", as_="wang"))
    assert (report["tasks_created"], report["rows_rejected"]) == (7, 0)
    assert report["rows_skipped"] == {"empty row": 1, "note line": 1, "signature line": 1,
                                      "total row": 1}
    units = {u["name"]: (u["kind"], u["parent"])
             for u in json.loads(cli.ok("unit", "list", "--format", "json"))}
    assert units == {"城关街道": ("街道", None), "东关社区": ("社区", "CG"),
                     "西关社区": ("社区", "CG"), "阳光物业服务中心": ("物业", "CG")}
    ranked = json.loads(cli.ok("rank", "--month", "2024-06", "--level", "社区", "--parent",
                               "CG", "--format", "json"))
    assert sorted(r["name"] for r in ranked) == ["东关社区", "西关社区"]
    cli.close()


def test_the_readmes_import_examples_run_as_written(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The import section's commands that name the shipped files, in a folder holding
    examples/, after the README's campaign start (wang) and the tour's units — each exits
    0."""
    from tests.tier3_cli.test_cli_tasks import tour_commands

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Importing 台账 and 311 records"):]
    opening = section.index("```sh\n") + 6
    block = section[opening:section.index("\n```", opening)]
    lines = [shlex.split(line, comments=True)
             for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    wanted = [words for words in lines if words and (
        any(w.startswith("examples/") for w in words) or words[1:3] == ["unit", "add"]
        or words[1:3] == ["export", "board"])]
    assert len(wanted) == 7
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    cli = Cli("sqlite:///taizhang.db")
    cli.ok("campaign", "start", "--name", "创建全国文明城市2024", "--admin", "wang",
           "--admin-name", "王主任")
    for words in tour_commands()[2:4]:  # the tour's 街道 and 社区, which the workbook names
        assert words[1:3] == ["unit", "add"], words
        cli.ok(*words[1:])
    for words in wanted:
        assert words[0] == "taizhang"
        result = cli.runner.invoke(main, words[1:], env={"TAIZHANG_DB": None,
                                                         "TAIZHANG_AS": "wang"})
        assert result.exit_code == 0, (words, result.output)
    assert (tmp_path / "待修正.csv").exists() and (tmp_path / "台账.xlsx").exists()
    cli.close()


def test_a_row_rejected_for_another_column_still_says_its_unit_came_from_a_merge(
        seeded_store: Store, tmp_path: Path) -> None:
    blocks = [("幸福社区", 3)]
    rows = data_rows(blocks, 4)
    rows[2][6] = "传真"  # an unknown 发现方式
    report = imported(seeded_store, write_as_offices_do(tmp_path / "台账.xlsx", rows, blocks, 4))
    (reject,) = report.rejects
    assert (reject.row, reject.column) == (6, "发现方式")
    assert english(reject.said).startswith("发现方式 '传真': source must be one of ")
    assert english(reject.said).endswith(" (责任单位 from merged cell E4:E6)")
