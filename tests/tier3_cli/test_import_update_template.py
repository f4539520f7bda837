"""import --template assign --update: a filled assign template edited and imported again
appends what its changes prove (a correction, an extension); --update refuses the templates
that are not tasks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import openpyxl

from ledger.importer.template import TEMPLATES
from tests.cli_support import Cli
from tests.tier3_cli.test_templates import TODAY, cli, filled, import_json, task_row  # noqa: F401


def test_an_edited_assign_template_updates_its_tasks(cli: Cli, tmp_path: Path) -> None:
    path = filled(cli, "assign", tmp_path / "交办模板.xlsx",
                  [task_row("1", "幸福社区"), task_row("2", "和平社区")])
    assert import_json(cli, path, "assign")["tasks_created"] == 2
    book = openpyxl.load_workbook(path)
    sheet = book[TEMPLATES["assign"].sheet]
    headings = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[headings.index("编号")].value == "1":
            row[headings.index("地点")].value = "幸福路1号院"
            row[headings.index("整改时限")].value = TODAY + timedelta(days=20)
    book.save(path)
    report = import_json(cli, path, "assign", "--update")
    assert report["update"]["events_by_kind"] == {"Corrected": 1, "DeadlineExtended": 1}
    assert (report["update"]["rows_unchanged"], report["tasks_created"]) == (1, 0)
    before = cli.max_position()
    assert import_json(cli, path, "assign", "--update")["update"]["rows_unchanged"] == 2
    assert cli.max_position() == before
    survey = filled(cli, "survey", tmp_path / "测评结果模板.xlsx", [])
    cli.refused("import", str(survey), "--template", "survey", "--update",
                message="--update compares tasks (a mapping, or --template assign), not "
                "--template survey")
