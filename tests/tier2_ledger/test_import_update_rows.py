"""import --update, row by row: rows matched by the mapping's key, conflicts listed with
both values and not applied, the dry run's lines, a rework, a reassignment, a dated
rectification; an update without an id or a key refused; the import steps' own checks."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from said_support import refused
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.importer import Importer, load_mapping, open_table, task_id_for
from ledger.store import Store
from tests.conftest import seed_campaign
from tests.tier3_cli.test_import_workbooks import WORKBOOK_MAPPING, data_rows, write_as_offices_do
from tests.tier3_cli.test_import_update import (FIRST, SECOND, SOURCE, d, edited, history, imported,
                                      seeded_cli, update, update_mapping, write)

def test_rows_without_an_id_are_matched_by_the_key_the_mapping_names(
        store_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(store_url)
    mapping = update_mapping(tmp_path, keyed=True)
    assert imported(cli, write(tmp_path / "v1.xlsx", FIRST), mapping)["tasks_created"] == 7
    # The office sorts the sheet anew, numbers it again, adds an item on top, closes one.
    moved = [[n, *row[1:]] for n, row in enumerate(
        [SECOND[6], *reversed(edited(FIRST, {1: {8: "已清除", 9: "合格",
                                                 11: d("2024-05-08 16:30")}}))], 1)]
    report = update(cli, write(tmp_path / "v2.xlsx", moved), mapping)
    got = report["update"]
    assert (got["rows_unchanged"], got["rows_updated"], report["tasks_created"]) == (6, 1, 1)
    (row,) = got["rows"]
    assert (row["row"], [e["event"] for e in row["events"]]) == (
        10, ["RectificationReported", "ReinspectionPassed", "Closed"])
    assert got["missing_from_file"] == []
    before = cli.max_position()
    assert update(cli, write(tmp_path / "v2.xlsx", moved), mapping)["update"][
        "rows_unchanged"] == 8
    # Two rows with the same key: neither can be matched; nothing is written.
    twice = write(tmp_path / "twice.xlsx", [*moved, [99, *moved[3][1:]]])
    message = ("[file] key (责任单位, 问题描述, 发现时间) '和平社区 / 乱堆乱放 / 2024-05-07' is "
               "not unique in twice.xlsx: rows 6 and 11; add columns to the key")
    cli.refused("import", str(twice), "--mapping", str(mapping), "--update",
                message=message, as_="admin")
    cli.refused("import", str(twice), "--mapping", str(mapping), message=message,
                as_="admin")
    assert cli.max_position() == before
    cli.close()


def test_a_row_that_contradicts_the_ledger_is_listed_with_both_values_and_not_applied(
        store_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(store_url)
    mapping = update_mapping(tmp_path)
    imported(cli, write(tmp_path / "v1.xlsx", FIRST), mapping)
    # In the ledger: a notice for item 1 on 05-09; item 2 handed to 城管局.
    cli.ok("task", "notice", task_id_for(f"{SOURCE}\n1"), "--number", "N-1", "--at",
           "2024-05-09 09:00", as_="admin")
    cli.ok("task", "reassign", task_id_for(f"{SOURCE}\n2"), "--unit", "CGJ", "--reason",
           "职责调整", "--at", "2024-05-05 09:00", as_="admin")
    contradicting = edited(FIRST, {
        1: {8: "已清除", 9: "合格", 11: d("2024-05-08 16:30")},  # before the notice
        2: {2: "占道经营（已整改）"},  # a description fixed, on a row of another unit
        3: {7: d("2024-05-11")},  # a deadline earlier than the ledger's
    })
    before = cli.max_position()
    path = write(tmp_path / "v2.xlsx", contradicting)
    shown = cli.ok("import", str(path), "--mapping", str(mapping), "--update", "--dry-run",
                   as_="admin")
    assert "conflict (not applied)" in shown and "would append" not in shown
    report = update(cli, path, mapping)
    assert cli.max_position() == before
    conflicts = {r["row"]: r["conflicts"] for r in report["update"]["rows"]}
    assert all(r["events"] == [] for r in report["update"]["rows"])
    assert [(c["column"], c["file"], c["ledger"]) for c in conflicts[3]] == [
        ("销号时间", "2024-05-08 16:30", "2024-05-09 09:00")]
    assert conflicts[3][0]["reason"] == "before the ledger's last event of the task"
    assert [(c["column"], c["file"], c["ledger"]) for c in conflicts[4]] == [
        ("责任单位", "幸福社区", "CGJ")]
    assert [(c["column"], c["file"], c["ledger"]) for c in conflicts[5]] == [
        ("整改时限", "2024-05-11", "2024-05-12")]
    assert report["update"]["rows_conflicting"] == 3
    cli.close()


def test_the_dry_run_lists_per_row_the_events_it_would_append(sqlite_url: str,
                                                              tmp_path: Path) -> None:
    cli = seeded_cli(sqlite_url)
    mapping = update_mapping(tmp_path)
    imported(cli, write(tmp_path / "v1.xlsx", FIRST), mapping)
    path = write(tmp_path / "v2.xlsx", edited(FIRST, {2: {8: "已劝离", 9: "不合格",
                                                          10: d("2024-05-09 10:00")}}))
    before = cli.max_position()
    shown = cli.ok("import", str(path), "--mapping", str(mapping), "--update", "--dry-run",
                   as_="admin")
    assert cli.max_position() == before
    task = task_id_for(f"{SOURCE}\n2")
    lines = [line.split() for line in shown.splitlines() if task in line]
    assert lines == [["4", task, "would", "append", "RectificationReported", "2024-05-09",
                      "10:00"],
                     ["4", task, "would", "append", "ReinspectionFailed", "2024-05-09",
                      "10:00"]]
    for words in (["rows", "unchanged", "6"], ["rows", "updated", "1"],
                  ["updated:", "ReinspectionFailed", "1"], ["rows", "new", "0"]):
        assert any(line.split() == words for line in shown.splitlines()), words
    cli.close()


def test_a_new_row_that_failed_its_re_inspection_is_imported_with_its_rework(
        sqlite_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(sqlite_url)
    mapping = update_mapping(tmp_path)
    rows = edited(FIRST[:2], {1: {8: "已清除", 9: "不合格", 10: d("2024-05-06 10:00")},
                              2: {9: "不合格"}})
    report = imported(cli, write(tmp_path / "v1.xlsx", rows), mapping)
    assert history(cli, 1)[1:] == [("RectificationReported", "2024-05-06T10:00"),
                                   ("ReinspectionFailed", "2024-05-06T10:00")]
    (reject,) = report["rejects"]
    assert (reject["row"], reject["column"]) == (4, "复查时间")
    assert reject["reason"].startswith("复查结果 '不合格' (rework) needs the date")
    cli.close()


def test_an_update_needs_an_id_or_a_key_and_a_key_is_not_given_beside_an_id(
        sqlite_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(sqlite_url)
    path = write(tmp_path / "v1.xlsx", FIRST)
    plain = tmp_path / "plain.toml"
    plain.write_text(update_mapping(tmp_path).read_text(encoding="utf-8").replace(
        'id = "序号"\n', ""), encoding="utf-8")
    cli.refused("import", str(path), "--mapping", str(plain), "--update", as_="admin",
                message="--update: mapping plain.toml names no [columns] id and no [file] "
                "key, so the rows of an edited file cannot be matched with their tasks (see "
                "the README: choosing a key)")
    both = tmp_path / "both.toml"
    both.write_text(update_mapping(tmp_path).read_text(encoding="utf-8").replace(
        'format = "xlsx"', 'format = "xlsx"\nkey = ["地点"]'), encoding="utf-8")
    cli.refused("import", str(path), "--mapping", str(both), "--update", as_="admin",
                message="mapping both.toml: [file] key: names the columns that identify a "
                "row where no column is its id; this mapping has [columns] id")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(update_mapping(tmp_path, keyed=True).read_text(encoding="utf-8")
                       .replace('"发现时间"]', '"发现日期"]'), encoding="utf-8")
    cli.refused("import", str(path), "--mapping", str(unknown), "--update", as_="admin",
                message="mapping unknown.toml: column '发现日期' is not in v1.xlsx's header "
                "(序号, 问题类别, 问题描述, 地点, 责任单位, 发现时间, 发现方式, 整改时限, 整改情况, "
                "复查结果, 复查时间, 销号时间)")
    cli.close()


def test_a_reassignment_in_the_file_is_entered_once(sqlite_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(sqlite_url)
    mapping = tmp_path / "reassign.toml"
    mapping.write_text(update_mapping(tmp_path).read_text(encoding="utf-8").replace(
        '"" = "open"', '"" = "open"\n"转城管局" = "reassign"') + '\n[reassign]\nto = "城管局"\n',
        encoding="utf-8")
    imported(cli, write(tmp_path / "v1.xlsx", FIRST), mapping)
    path = write(tmp_path / "v2.xlsx", edited(FIRST, {7: {9: "转城管局",
                                                          10: d("2024-05-10 09:00")}}))
    report = update(cli, path, mapping)
    assert report["update"]["events_by_kind"] == {"Reassigned": 1}
    shown = json.loads(cli.ok("task", "show", task_id_for(f"{SOURCE}\n7"), "--format",
                              "json"))
    assert (shown["unit"], shown["events"][-1]["event"]) == ("CGJ", "Reassigned")
    assert update(cli, path, mapping)["update"]["rows_unchanged"] == 7
    cli.close()


def test_a_dated_rectification_not_yet_re_inspected_is_reported_once(
        sqlite_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(sqlite_url)
    mapping = update_mapping(tmp_path)
    imported(cli, write(tmp_path / "v1.xlsx", FIRST), mapping)
    undated = write(tmp_path / "v2.xlsx", edited(FIRST, {1: {8: "已清除"}}))
    assert update(cli, undated, mapping)["update"]["rows_updated"] == 0  # no date: waits
    dated = write(tmp_path / "v3.xlsx", edited(FIRST, {1: {8: "已清除",
                                                           10: d("2024-05-07 15:00")}}))
    assert update(cli, dated, mapping)["update"]["events_by_kind"] == {
        "RectificationReported": 1}
    assert history(cli, 1)[1:] == [("RectificationReported", "2024-05-07T15:00")]
    assert update(cli, dated, mapping)["update"]["rows_updated"] == 0
    cli.close()


def test_only_an_administrator_importing_enters_a_report_or_re_inspection_from_a_record(
        ) -> None:
    from domain.base import Actor, Refused
    from domain.task_states import RECTIFYING
    from tests.tier1_domain.test_import_domain import ADMIN, LI, NOW, START, ZHAO
    from tests.tier1_domain.test_import_domain import imported as assigned

    task = assigned()
    at = START + timedelta(days=1)
    for actor in (LI, ZHAO, Actor("sun", "auditor")):
        with refused(Refused, match="may not import records"):
            task.report_imported_rectification(description="已清理", actor=actor,
                                               occurred_at=at, now=NOW)
    with refused(Refused, match="only a reported rectification is re-inspected"):
        task.reinspect_imported(passed=False, note="不合格", actor=ADMIN, occurred_at=at,
                                now=NOW)
    task.report_imported_rectification(description="已清理", actor=ADMIN, occurred_at=at,
                                       now=NOW)
    task.reinspect_imported(passed=False, note="不合格", actor=ADMIN, occurred_at=at, now=NOW)
    assert (task.state, task.rework_count) == (RECTIFYING, 1)
    with refused(Refused, match="is before the task's latest event"):
        task.report_imported_rectification(description="再次整改", actor=ADMIN,
                                           occurred_at=START, now=NOW)
    task.close(closure="void", reason="重复", actor=ADMIN, occurred_at=at, now=NOW)
    with refused(Refused, match="cannot be reported as rectified: it is closed"):
        task.report_imported_rectification(description="已清理", actor=ADMIN,
                                           occurred_at=at, now=NOW)


def test_a_strict_update_with_a_bad_row_appends_nothing(store_url: str,
                                                        tmp_path: Path) -> None:
    cli = seeded_cli(store_url)
    mapping = update_mapping(tmp_path)
    imported(cli, write(tmp_path / "v1.xlsx", FIRST), mapping)
    path = write(tmp_path / "v2.xlsx", SECOND)  # item 9's 发现时间 is not a date
    before = cli.max_position()
    result = cli("import", str(path), "--mapping", str(mapping), "--update", "--strict",
                 as_="admin")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: 1 of 8 rows are bad; --strict: nothing was written")
    assert cli.max_position() == before
    fixed = write(tmp_path / "v3.xlsx", SECOND[:-1])
    report = update(cli, fixed, mapping, "--strict")
    # items 1, 2, 3, 4 and 6 (closed as the file says: the ledger did not close it here)
    assert (report["update"]["rows_updated"], report["tasks_created"]) == (5, 1)
    assert cli.max_position() > before
    cli.close()


def test_what_the_ledgers_own_checks_refuse_is_a_conflict_over_its_column(
        sqlite_url: str, tmp_path: Path) -> None:
    cli = seeded_cli(sqlite_url)
    mapping = update_mapping(tmp_path)
    imported(cli, write(tmp_path / "v1.xlsx", FIRST), mapping)
    before = cli.max_position()
    report = update(cli, write(tmp_path / "v2.xlsx", edited(FIRST, {7: {1: "无此类别"}})),
                    mapping)
    assert cli.max_position() == before
    (row,) = report["update"]["rows"]
    (conflict,) = row["conflicts"]
    assert (row["row"], row["events"]) == (9, [])
    assert (conflict["column"], conflict["file"], conflict["ledger"]) == (
        "问题类别", "无此类别", "交通秩序")
    assert "无此类别" in conflict["reason"]
    cli.close()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(blocks=st.lists(st.tuples(st.sampled_from(["幸福社区", "和平社区", "城管局"]),
                                 st.integers(1, 4)), min_size=1, max_size=3),
       seed=st.integers(0, 1000))
def test_a_workbook_updated_with_itself_appends_nothing(
        tmp_path_factory: pytest.TempPathFactory, blocks: list[tuple[str, int]],
        seed: int) -> None:
    """Whatever the office's layout (merged 责任单位, full-width dates, 合计 rows), the file
    first imported, then given again with --update: every row unchanged."""
    folder = tmp_path_factory.mktemp("update")
    path = write_as_offices_do(folder / "台账.xlsx", data_rows(blocks, seed), blocks, seed)
    store = Store(f"sqlite:///{folder / 'ledger.db'}")
    try:
        seed_campaign(store.ledger)
        mapping = load_mapping(WORKBOOK_MAPPING)
        first = Importer(store.ledger, actor_id="admin", mapping=mapping,
                         table=open_table(path, mapping)).run()
        before = store.ledger.max_position()
        updater = Importer(store.ledger, actor_id="admin", mapping=mapping,
                           table=open_table(path, mapping), update=True)
        again = updater.run()
        assert store.ledger.max_position() == before
        assert updater.updater is not None
        got = updater.updater.report
        assert (got.unchanged, got.rows, got.missing) == (first.tasks_created, [], [])
        assert again.tasks_created == 0 and len(again.rejects) == len(first.rejects)
    finally:
        store.close()
