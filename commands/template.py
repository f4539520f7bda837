"""Batch templates: ``taizhang template NAME -o FILE`` writes the Excel workbook an office
fills; ``taizhang import FILE --template NAME`` reads it back (survey and targets here)."""

from __future__ import annotations

from pathlib import Path

import click

from commands.import_report import emit_rejects, heading, skipped_and_rejected
from commands.output import emit_record, progress
from commands.params import output_option
from commands.session import Session, pass_session
from domain.base import NotFound, Refused
from i18n import _
from ledger.faults import LedgerBusy, WriteLost
from ledger.importer import open_table, write_rejects
from ledger.importer.records import RecordsImporter, RecordsReport
from ledger.importer.template import (TEMPLATES, Choices, table_mapping, template_named,
                                      unit_choices)
from ledger.importer.template_book import template_workbook
from services.bootstrap import Services

NAMES = list(TEMPLATES)


@click.command("template")
@click.argument("name", metavar="NAME", type=click.Choice(NAMES))
@output_option("把工作簿写入此文件（.xlsx）。", required=True)
@pass_session
def template(session: Session, name: str, output: Path) -> None:
    """生成一个可填写并导入的 Excel 模板：assign、survey 或 targets。

    NAME 为 assign（交办：交给各单位的任务）、survey（测评结果）或 targets（指标任务）；工
    作簿以下拉列表提供台账中的单位、问题类别和指标编码，附一行示例和填写说明。填好的副本用
    ``taizhang import FILE --template NAME`` 导入。"""
    chosen = template_named(name)
    if output.suffix.lower() != ".xlsx":
        raise Refused("--output 须为 .xlsx 工作簿，而给出的是 {path}", path=repr(str(output)))
    services = session.services
    read = services.read
    choices = Choices(units=unit_choices(read.units()),
                      categories=services.ledger.describe_campaign()["categories"],
                      indicators=_indicator_codes(services) if name == "targets" else [])
    data = template_workbook(chosen, choices, read.today(),
                             f"taizhang import {output.name} --template {name}")
    try:
        output.write_bytes(data)
    except OSError as e:
        raise Refused("--output {path}：无法写入：{why}", path=repr(str(output)),
                      why=e.strerror or type(e).__name__) from None
    lists = [_("{n} 个单位").format(n=len(choices.units))]
    if name == "assign":
        lists += [_("{n} 个问题类别").format(n=len(choices.categories)),
                  _("{n} 个来源").format(n=len(choices.sources))]
    if name == "targets":
        lists += [_("{n} 个指标编码").format(n=len(choices.indicators))]
    click.echo(_("{title}（{name}）已写入 {path}：{lists}").format(
        title=chosen.title, name=name, path=output, lists=_("，").join(lists)))


def stopped(e: LedgerBusy | WriteLost, row: bool) -> str:
    """Why an import stopped: the ledger busy, or the connection lost while writing a row
    (a template's import) or a batch (a mapping's)."""
    if isinstance(e, LedgerBusy):
        return f"{e.detail} ({e.advice})"
    if row:
        return _("写入一行时与存储的连接中断（{reason}）").format(reason=e.reason)
    return _("写入一批时与存储的连接中断（{reason}）").format(reason=e.reason)


def _indicator_codes(services: Services) -> list[str]:
    try:
        return [i["code"] for i in services.indicator_queries.indicators()[1]]
    except NotFound:
        return []  # no indicator system yet: the code column has no list


def import_records(session: Session, file: Path, name: str, *, dry_run: bool,
                   strict: bool, rejects_path: Path | None, encoding: str | None,
                   sheet: str | None, fmt: str) -> None:
    """``import FILE --template survey|targets``: each row checked, the good ones
    recorded, the bad ones listed (and written to ``--rejects``)."""
    chosen = template_named(name)
    table = open_table(file, table_mapping(chosen), encoding=encoding, sheet=sheet)
    services = session.services
    queries = services.indicator_queries
    recorded = queries.surveys() if name == "survey" else queries.targets()
    importer = RecordsImporter(services.indicators, actor_id=session.actor, template=chosen,
                               table=table, units=services.read.units(), recorded=recorded)
    done = [0]
    with progress(table.count, _("正在导入 {name}").format(name=table.name)) as update:
        def taken(rows: int) -> None:
            done[0] += rows
            update(rows)

        try:
            report = importer.run(dry_run=dry_run, strict=strict, progress=taken)
        except (LedgerBusy, WriteLost) as e:
            raise click.ClickException(_(
                "导入在 {count} 行中的第 {done} 行后停止：{what}；这一行没有写入，之前的各行已写入："
                "再次运行导入即可录入其余各行（已录入的行会跳过）").format(
                    done=done[0], count=table.count,
                    what=stopped(e, row=True))) from None
    if rejects_path is not None:
        write_rejects(report, table, rejects_path)  # type: ignore[arg-type]
    _summary(report, fmt, rejects_path)
    if strict and report.rejects:
        raise Refused(_("{bad}/{rows} 行有误；--strict：未写入任何内容").format(
            bad=len(report.rejects), rows=report.rows_read))


def _summary(report: RecordsReport, fmt: str, rejects_path: Path | None) -> None:
    if fmt == "json":
        emit_record(report.as_dict(), fmt)
        return
    head = heading(report)
    what = "surveys recorded" if report.template.startswith("survey") else "targets assigned"
    record = {
        "file": head["file"],
        "template": report.template,
        "outcome": head["outcome"],
        "rows read": report.rows_read,
        what: _("{n}（试运行）").format(n=report.valid) if report.dry_run
        else _ids(report.recorded),
        "already recorded": report.already_recorded,
        "rows rejected": len(report.rejects),
    }
    record.update(skipped_and_rejected(report))
    if rejects_path is not None and report.rejects:
        record["rejects written to"] = str(rejects_path)
    emit_record(record, fmt)
    emit_rejects(report, fmt)


def _ids(ids: list[str]) -> str:
    if len(ids) <= 3:
        return f"{len(ids)}" + (f" ({', '.join(ids)})" if ids else "")
    return f"{len(ids)} ({ids[0]} … {ids[-1]})"


COMMANDS = [template]
