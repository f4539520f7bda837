"""Batch templates (批量导入模板): ``taizhang template NAME -o FILE`` writes a workbook with
the ledger's units, categories and sources as drop-down lists, an example row and 填写说明;
``taizhang import FILE --template NAME`` imports a filled copy with no mapping file, listing
each bad row (row, column, value) and importing none of them."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from ledger.importer.template import TEMPLATES
from tests.cli_support import Cli
from tests.tier3_cli.test_cli_tasks import run_section

INDICATORS = "code,parent,title,category,points,method\n" \
             "1,,公共环境,环境卫生,30,实地考察\n1.1,1,公益广告,公益广告,10,实地考察\n"


@pytest.fixture
def cli(store_url: str, tmp_path: Path) -> Iterator[Cli]:
    """A campaign with two categories, a 街道 with two 社区, an inspector, and an indicator
    system (1, 1.1)."""
    runner = Cli(store_url)
    runner.ok("campaign", "start", "--name", "创建全国文明城市", "--admin", "wang",
              "--admin-name", "王主任", "--category", "环境卫生", "--category", "交通秩序")
    runner.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道")
    for code, name in (("JS01", "幸福社区"), ("JS02", "和平社区")):
        runner.ok("unit", "add", code, "--name", name, "--kind", "社区", "--parent", "JS")
    runner.ok("person", "add", "li", "--name", "李督查", "--role", "inspector")
    system = tmp_path / "测评体系.csv"
    system.write_text(INDICATORS, encoding="utf-8")
    runner.ok("indicators", "import", str(system), "--name", "2024版")
    yield runner
    runner.close()


def written(cli: Cli, name: str, path: Path) -> openpyxl.Workbook:
    cli.ok("template", name, "-o", str(path))
    return openpyxl.load_workbook(path)


def filled(cli: Cli, name: str, path: Path, rows: list[dict[str, Any]]) -> Path:
    """The template NAME, written by the command, with ``rows`` (by heading) below its
    example row, as an office fills it."""
    book = written(cli, name, path)
    sheet = book[TEMPLATES[name].sheet]
    headings = [c.value for c in sheet[1]]
    for row in rows:
        sheet.append([row.get(h) for h in headings])
    book.save(path)
    return path


def listed(book: openpyxl.Workbook, sheet_name: str, heading: str) -> list[str]:
    """The values the data validation of column ``heading`` offers, read from the range
    its formula names."""
    sheet = book[sheet_name]
    letter = next(c.column_letter for c in sheet[1] if c.value == heading)
    (validation,) = [v for v in sheet.data_validations.dataValidation
                     if any(str(r).startswith(f"{letter}2:") for r in v.sqref.ranges)]
    assert validation.type == "list"
    where, cells = validation.formula1.rsplit("!", 1)
    lists = book[where.strip("'")]
    return [c.value for row in lists[cells.replace("$", "")] for c in row]


def board(cli: Cli) -> list[dict[str, Any]]:
    return json.loads(cli.ok("board", "--format", "json"))


def rejects(output: str) -> list[dict[str, Any]]:
    return json.loads(output)["rejects"]


def import_json(cli: Cli, path: Path, name: str, *more: str) -> dict[str, Any]:
    return json.loads(cli.ok("import", str(path), "--template", name, "--format", "json",
                             *more))


TODAY = date.today()


def task_row(number: str, unit: str, **more: Any) -> dict[str, Any]:
    return {"编号": number, "责任单位": unit, "问题类别": "环境卫生", "发现方式": "巡查发现",
            "问题描述": f"问题{number}", "地点": f"幸福路{number}号",
            "发现时间": TODAY - timedelta(days=1), "整改时限": "7天", **more}


def survey_row(unit: str, **more: Any) -> dict[str, Any]:
    month = (TODAY.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return {"责任单位": unit, "测评月份": month, "知晓率(%)": 85, "参与率(%)": 60.5,
            "满意度(%)": 90, "样本量(人)": 200, **more}


def target_row(unit: str, **more: Any) -> dict[str, Any]:
    return {"指标编码": "1.1", "责任单位": unit, "目标值": 20, "计量单位": "块",
            "完成时限": TODAY + timedelta(days=30), **more}


# --- the workbook ------------------------------------------------------------------------


def test_the_lists_hold_the_ledgers_units_categories_and_sources(cli: Cli,
                                                                 tmp_path: Path) -> None:
    cli.ok("unit", "add", "CGJ", "--name", "城管局", "--kind", "部门")
    book = written(cli, "assign", tmp_path / "交办模板.xlsx")
    assert book.sheetnames == ["交办", "填写说明", "选项"]
    assert book["选项"].sheet_state == "hidden"
    assert listed(book, "交办", "责任单位") == ["城管局", "建设街道", "幸福社区", "和平社区"]
    assert listed(book, "交办", "问题类别") == ["环境卫生", "交通秩序"]
    assert listed(book, "交办", "发现方式") == ["指标分解", "巡查发现", "群众反映", "媒体曝光",
                                             "上级暗访"]
    sheet = book["交办"]
    assert [c.value for c in sheet[1]] == TEMPLATES["assign"].headings()
    example = [c.value for c in sheet[2]]
    assert example[0].startswith("示例") and example[1] == "城管局" and example[2] == "环境卫生"
    instructions = "\n".join(str(c.value) for row in book["填写说明"] for c in row if c.value)
    assert "taizhang import 交办模板.xlsx --template assign" in instructions
    assert "整改时限" in instructions and "城管局、建设街道、幸福社区、和平社区" in instructions

    targets = written(cli, "targets", tmp_path / "指标任务.xlsx")
    assert listed(targets, "指标任务", "指标编码") == ["1", "1.1"]
    assert listed(targets, "指标任务", "计量单位") == ["期", "块", "人", "%"]
    assert listed(targets, "指标任务", "责任单位")[:2] == ["城管局", "建设街道"]
    survey = written(cli, "survey", tmp_path / "测评结果.xlsx")
    assert "幸福社区" in listed(survey, "测评结果", "责任单位")


def test_a_retired_unit_is_not_offered_and_a_shared_name_is_offered_by_code(
        cli: Cli, tmp_path: Path) -> None:
    cli.ok("unit", "add", "JS03", "--name", "幸福社区", "--kind", "社区", "--parent", "JS")
    cli.ok("unit", "retire", "JS02", "--reason", "撤并")
    book = written(cli, "survey", tmp_path / "测评结果.xlsx")
    assert listed(book, "测评结果", "责任单位") == ["建设街道", "JS01", "JS03"]


# --- importing a filled copy -------------------------------------------------------------


def test_a_filled_assign_template_imports_as_tasks(cli: Cli, tmp_path: Path) -> None:
    path = filled(cli, "assign", tmp_path / "交办模板.xlsx",
                  [task_row("2024-06-001", "幸福社区"),
                   task_row("2024-06-002", "JS02", 整改时限="5个工作日", 备注="市民来电")])
    report = import_json(cli, path, "assign")
    assert (report["tasks_created"], report["rows_skipped"]) == (2, {"note line": 1})
    tasks = sorted(board(cli), key=lambda t: t["unit"])
    assert [(t["unit"], t["category"], t["state"]) for t in tasks] == [
        ("JS01", "环境卫生", "assigned"), ("JS02", "环境卫生", "assigned")]
    again = import_json(cli, path, "assign")
    assert (again["tasks_created"], again["already_imported"]) == (0, 2)


def test_a_filled_survey_template_imports_as_surveys(cli: Cli, tmp_path: Path) -> None:
    month = (TODAY.replace(day=1) - timedelta(days=1))
    path = filled(cli, "survey", tmp_path / "测评结果.xlsx",
                  [survey_row("幸福社区", 测评机构="第三方测评机构", 测评方式="电话调查"),
                   # Excel turns a typed 2024-05 into a date: its month is meant
                   survey_row("JS02", 测评月份=month, **{"样本量(人)": "100"})])
    report = import_json(cli, path, "survey")
    assert (len(report["recorded"]), report["rows_rejected"]) == (2, 0)
    surveys = json.loads(cli.ok("survey", "list", "--format", "json"))
    assert [(s["unit"], s["month"], s["sample"], s["source"], s["method"])
            for s in surveys] == [
        ("JS01", month.strftime("%Y-%m"), 200, "第三方测评机构", "电话调查"),
        ("JS02", month.strftime("%Y-%m"), 100, "文明办", "问卷调查")]
    figures = json.loads(cli.ok("survey", "figures", month.strftime("%Y-%m"), "--format",
                                "json"))
    assert {f["unit"]: f["satisfaction"] for f in figures} == {"JS01": 90.0, "JS02": 90.0}
    again = import_json(cli, path, "survey")
    assert (again["recorded"], again["already_recorded"]) == ([], 2)


def test_a_filled_targets_template_imports_as_target_tasks(cli: Cli, tmp_path: Path) -> None:
    path = filled(cli, "targets", tmp_path / "指标任务.xlsx",
                  [target_row("幸福社区"), target_row("和平社区", 目标值=30, 计量单位="%",
                                                    备注="注册率")])
    report = import_json(cli, path, "targets")
    assert report["recorded"] == ["ZB-000001", "ZB-000002"]
    targets = json.loads(cli.ok("indicators", "targets", "--format", "json"))
    assert [(t["indicator"], t["unit"], t["target"], t["measure"], t["due"])
            for t in targets] == [
        ("1.1", "JS01", 20.0, "块", (TODAY + timedelta(days=30)).isoformat()),
        ("1.1", "JS02", 30.0, "%", (TODAY + timedelta(days=30)).isoformat())]
    again = import_json(cli, path, "targets")
    assert (again["recorded"], again["already_recorded"]) == ([], 2)


@pytest.mark.parametrize("name, good, bad", [
    ("assign", lambda: task_row("1", "幸福社区"), lambda: task_row("2", "快乐社区")),
    ("survey", lambda: survey_row("幸福社区"), lambda: survey_row("快乐社区")),
    ("targets", lambda: target_row("幸福社区"), lambda: target_row("快乐社区")),
])
def test_a_bad_unit_is_listed_and_its_row_not_imported(cli: Cli, tmp_path: Path, name: str,
                                                       good: Any, bad: Any) -> None:
    path = filled(cli, name, tmp_path / f"{name}.xlsx", [bad(), good(), bad()])
    before = cli.max_position()
    result = cli("import", str(path), "--template", name)
    assert result.exit_code == 0, result.output
    assert "快乐社区" in result.output and "unknown unit" in result.output
    found = rejects(cli.ok("import", str(path), "--template", name, "--format", "json",
                           "--dry-run"))
    assert [(r["row"], r["column"], r["value"]) for r in found] == [
        (3, "责任单位", "快乐社区"), (5, "责任单位", "快乐社区")]
    assert found[0]["reason"] == ("责任单位 '快乐社区' is neither a unit's name nor its code"
                                  + (" (the mapping refuses unknown units)"
                                     if name == "assign" else ""))
    assert cli.max_position() > before  # the good row was imported
    units = {"assign": lambda: [t["unit"] for t in board(cli)],
             "survey": lambda: [s["unit"] for s in json.loads(
                 cli.ok("survey", "list", "--format", "json"))],
             "targets": lambda: [t["unit"] for t in json.loads(
                 cli.ok("indicators", "targets", "--format", "json"))]}[name]()
    assert units == ["JS01"]


def test_bad_values_are_listed_on_their_own_column(cli: Cli, tmp_path: Path) -> None:
    path = filled(cli, "survey", tmp_path / "测评结果.xlsx",
                  [survey_row("幸福社区", **{"满意度(%)": 120}),
                   survey_row("幸福社区", 测评月份="2024-13"),
                   survey_row("和平社区", **{"样本量(人)": None}),
                   survey_row("幸福社区"), survey_row("幸福社区")])
    report = import_json(cli, path, "survey", "--rejects", str(tmp_path / "待修正.csv"))
    assert [(r["row"], r["column"], r["value"]) for r in report["rejects"]] == [
        (3, "满意度(%)", "120"), (4, "测评月份", "2024-13"), (5, "样本量(人)", ""),
        (7, "", "")]
    assert report["rejects"][0]["reason"] == ("满意度(%) '120': satisfaction (满意度) must be "
                                              "a percentage from 0 to 100, got '120'")
    assert report["rejects"][3]["reason"] == "row 7 repeats row 6"
    assert len(report["recorded"]) == 1
    with open(tmp_path / "待修正.csv", encoding="utf-8-sig", newline="") as f:
        fixed = list(csv.reader(f))
    assert fixed[0][-3:] == ["import_row", "import_column", "import_reason"]
    assert [row[-3] for row in fixed[1:]] == ["3", "4", "5", "7"]
    # Fixed, the rejects import with the same template: the repeated row is the one kept.
    month = (TODAY.replace(day=1) - timedelta(days=40)).strftime("%Y-%m")
    for row, (heading, value) in zip(fixed[1:], [("满意度(%)", "95"), ("测评月份", month),
                                                 ("样本量(人)", "150")]):
        row[fixed[0].index(heading)] = value
    with open(tmp_path / "待修正.csv", "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(fixed)
    again = import_json(cli, tmp_path / "待修正.csv", "survey")
    assert (len(again["recorded"]), again["already_recorded"], again["rejects"]) == (3, 1, [])

    targets = filled(cli, "targets", tmp_path / "指标任务.xlsx",
                     [target_row("幸福社区", 指标编码="9.9"),
                      target_row("幸福社区", 计量单位="米"),
                      target_row("幸福社区", 完成时限="下个月")])
    report = import_json(cli, targets, "targets")
    assert [(r["row"], r["column"], r["value"]) for r in report["rejects"]] == [
        (3, "指标编码", "9.9"), (4, "计量单位", "米"), (5, "完成时限", "下个月")]
    assert report["recorded"] == []


def test_strict_and_dry_run_write_nothing(cli: Cli, tmp_path: Path) -> None:
    path = filled(cli, "targets", tmp_path / "指标任务.xlsx",
                  [target_row("幸福社区"), target_row("快乐社区")])
    before = cli.max_position()
    report = import_json(cli, path, "targets", "--dry-run")
    assert (report["rows_valid"], report["recorded"], report["written"]) == (1, [], False)
    result = cli("import", str(path), "--template", "targets", "--strict")
    assert result.exit_code == 1
    assert result.output.endswith("Error: 1 of 2 rows are bad; --strict: nothing was "
                                  "written\n")
    assert cli.max_position() == before


# --- bad input: one Error: line, nothing written -------------------------------------------


def test_an_unknown_template_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli.usage_refused("template", "plan", "-o", str(tmp_path / "x.xlsx"),
                      message="Invalid value for 'NAME': 'plan' is not "
                              "one of 'assign', 'survey', 'targets'.")
    path = filled(cli, "survey", tmp_path / "测评结果.xlsx", [])
    cli.usage_refused("import", str(path), "--template", "plan",
                      message="Invalid value for '--template': 'plan' is not one of "
                              "'assign', 'survey', 'targets'.")
    assert not (tmp_path / "x.xlsx").exists()


def test_an_output_that_cannot_be_written_is_refused(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "没有这个文件夹" / "交办模板.xlsx"
    cli.usage_refused("template", "assign", "-o", str(missing),
                      message=f"Invalid value for '-o' / '--output': folder "
                              f"{str(missing.parent)!r} of {str(missing)!r} does not exist")
    cli.refused("template", "assign", "--output", str(tmp_path / "交办模板.csv"),
                message=f"--output must name an .xlsx workbook, got "
                        f"{str(tmp_path / '交办模板.csv')!r}")
    assert list(tmp_path.glob("**/交办模板.*")) == []


def test_a_workbook_that_is_not_the_template_is_refused(cli: Cli, tmp_path: Path) -> None:
    survey = filled(cli, "survey", tmp_path / "测评结果.xlsx", [survey_row("幸福社区")])
    cli.refused("import", str(survey), "--template", "targets",
                message="测评结果.xlsx is not a filled 指标任务模板 (taizhang template targets): "
                        "its header has no column '指标编码' (header: 序号, 责任单位, 测评月份, "
                        "知晓率(%), 参与率(%), 满意度(%), 样本量(人), 测评机构, 测评方式, 备注)")
    cli.refused("import", str(survey), "--template", "assign",
                message="测评结果.xlsx is not a filled 交办模板 (taizhang template assign): "
                        "its header has no column '编号' (header: 序号, 责任单位, 测评月份, "
                        "知晓率(%), 参与率(%), 满意度(%), 样本量(人), 测评机构, 测评方式, 备注)")
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook", encoding="utf-8")
    cli.refused("import", str(text), "--template", "survey",
                message="notes.xlsx is not an xlsx workbook")
    cli.refused("import", str(survey), message="import needs --mapping FILE or --template "
                                               "NAME (one of them), got neither")


def test_only_an_administrator_imports_a_template(cli: Cli, tmp_path: Path) -> None:
    path = filled(cli, "survey", tmp_path / "测评结果.xlsx", [survey_row("幸福社区")])
    cli.refused("import", str(path), "--template", "survey", as_="li",
                message="li (inspector) may not import records: that is for admin")


# --- the README ----------------------------------------------------------------------------


def test_the_readme_template_section_runs_as_written(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    said = run_section("### Batch templates", "sqlite:///templates.db")
    assert any("交办模板 (assign) written to 交办模板.xlsx" in out for out in said.values())
    assert (tmp_path / "交办模板.xlsx").exists() and (tmp_path / "测评结果模板.xlsx").exists()


def test_an_import_stopped_by_a_lost_connection_resumes(sqlite_url: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    from ledger.faults import WriteLost
    from ledger.indicators import Indicators

    cli = Cli(sqlite_url)
    cli.ok("campaign", "start", "--name", "创建", "--admin", "wang", "--admin-name", "王主任")
    cli.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道")
    path = filled(cli, "survey", tmp_path / "测评结果.xlsx",
                  [survey_row("建设街道", **{"样本量(人)": n}) for n in (100, 200, 300)])
    record = Indicators.record_survey
    calls = [0]

    def flaky(self: Indicators, **kwargs: Any) -> dict[str, Any]:
        calls[0] += 1
        if calls[0] == 2:
            raise WriteLost("server closed the connection")
        return record(self, **kwargs)

    monkeypatch.setattr(Indicators, "record_survey", flaky)
    result = cli("import", str(path), "--template", "survey")
    assert result.exit_code == 1
    assert result.output == (
        "Error: import stopped after 1 of 3 rows: the connection to the store was lost "
        "while writing a row (server closed the connection); that row was not written, the "
        "ones before it were: run the import again to record the rest (rows already "
        "recorded are skipped)\n")
    again = import_json(cli, path, "survey")
    assert (len(again["recorded"]), again["already_recorded"]) == (2, 1)
    cli.close()
