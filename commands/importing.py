"""Import an existing 台账 or another system's records; export the 台账 to a spreadsheet."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from commands.import_report import emit_rejects, heading, skipped_and_rejected
from commands.output import emit, emit_record, output_options, progress
from commands.params import WITHIN, output_option
from commands.session import Session, pass_session
from commands.template import NAMES as TEMPLATE_NAMES, import_records, stopped
from i18n import N_, _, labels
from domain.base import Refused
from domain.task_states import STATES
from ledger.faults import LedgerBusy, WriteLost
from ledger.importer import Importer, ImportReport, load_mapping, open_table, write_rejects
from ledger.importer.template import TEMPLATES, check_header, task_mapping
from ledger.importer.update import UpdateReport
from ledger.workdays import WorkingDays
from projections.sheet import board_sheet, to_csv, to_xlsx
from services import board as board_service

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("import")
@click.argument("file", type=FILE)
@click.option("--mapping", "mapping_path", type=FILE, default=None,
              help="映射文件（TOML）：列、日期、状态、期限、策略。见 examples/mappings/。")
@click.option("--template", "template_name", type=click.Choice(TEMPLATE_NAMES), default=None,
              help="FILE 是 'taizhang template NAME' 填好的副本：无需映射文件。")
@click.option("--dry-run", is_flag=True, help="读取并检查每一行；不写入任何内容。")
@click.option("--strict", is_flag=True, help="只要有一行有误就不写入任何内容。")
@click.option("--update", "updating", is_flag=True,
              help="台账中已有其任务的行：追加这些行的变化所证明的事件（销号、复查、延期、改"
                   "派、更正）；列出与台账矛盾之处。")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="把有误的行写入此 CSV，含行号、列和原因，改正后可再次导入。")
@click.option("--encoding", default=None,
              help="CSV 文件的编码（utf-8，带或不带 BOM；gb18030 ……）；默认：映射文件所定。")
@click.option("--sheet", default=None, help="工作簿的工作表；默认：映射文件所定，否则为第一个。")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000,
              show_default=True, help="每个事务保存的行数。")
@output_options(("table", "json"))
@pass_session
def import_(session: Session, file: Path, mapping_path: Path | None,
            template_name: str | None, dry_run: bool, strict: bool, updating: bool,
            rejects_path: Path | None, encoding: str | None, sheet: str | None,
            batch_size: int, fmt: str) -> None:
    """按映射文件把 FILE（CSV 或 XLSX）导入为任务；操作人（--as）须为管理员。

    再次导入相同的行不会新增任何内容；中断的导入再次运行时会继续。带 --template 时，FILE 是
    填好的模板（任务、测评结果或指标任务），无需映射文件。"""
    if (mapping_path is None) == (template_name is None):
        if template_name:
            raise Refused("导入需要 --mapping FILE 或 --template NAME（二者之一），而两者都给出了")
        raise Refused("导入需要 --mapping FILE 或 --template NAME（二者之一），而两者都没有给出")
    if template_name is not None and template_name != "assign":
        if updating:
            raise Refused("--update 比较的是任务（映射文件，或 --template assign），不是 "
                          "--template {name}", name=template_name)
        return import_records(session, file, template_name, dry_run=dry_run, strict=strict,
                              rejects_path=rejects_path, encoding=encoding, sheet=sheet,
                              fmt=fmt)
    mapping = (load_mapping(mapping_path) if mapping_path is not None
               else task_mapping(TEMPLATES["assign"]))
    table = open_table(file, mapping, encoding=encoding, sheet=sheet)
    if template_name is not None:
        check_header(TEMPLATES[template_name], table)
    if not dry_run:
        session.create_if_missing()
    importer = Importer(session.store.ledger, actor_id=session.actor, mapping=mapping,
                        table=table, batch_size=batch_size, update=updating)
    done = [0]

    def taken(rows: int) -> None:
        done[0] += rows
        update(rows)

    with progress(table.count, _("正在导入 {name}").format(name=table.name)) as update:
        try:
            report = importer.run(dry_run=dry_run, strict=strict, progress=taken)
        except (LedgerBusy, WriteLost) as e:
            if strict:
                raise  # one transaction: nothing was written, as the error says
            # The batches saved before stay; the next run skips their rows.
            raise click.ClickException(_(
                "导入在 {count} 行中的第 {done} 行后停止：{what}；这一批没有写入，之前的各批已写入："
                "再次运行导入即可继续").format(done=done[0], count=table.count,
                                               what=stopped(e, row=False))) from None
    if rejects_path is not None:
        write_rejects(report, table, rejects_path)
    _summary(report, fmt, rejects_path, importer.updater.report if importer.updater else None)
    if strict and report.rejects:
        raise Refused(_("{bad}/{rows} 行有误；--strict：未写入任何内容").format(
            bad=len(report.rejects), rows=report.rows_read))


def _summary(report: ImportReport, fmt: str, rejects_path: Path | None,
             updated: UpdateReport | None = None) -> None:
    if fmt == "json":
        emit_record({**report.as_dict(), **({"update": updated.as_dict()} if updated
                                            else {})}, fmt)
        return
    head = heading(report)
    record: dict[str, Any] = {
        "file": head["file"],
        "mapping": _("{mapping}（来源 {source}）").format(mapping=report.mapping,
                                                        source=report.source),
        "outcome": head["outcome"],
        "rows read": report.rows_read,
        "tasks created": report.tasks_created,
        "events": report.events,
        "already imported": report.already_imported,
        "rows rejected": len(report.rejects),
    }
    record.update(skipped_and_rejected(report))
    if report.units_registered:
        record["units registered"] = ", ".join(f"{code} {report.unit_names[code]}"
                                               for code in report.units_registered)
    if report.categories_added:
        record["categories added"] = len(report.categories_added)
    for what, count in sorted(report.filled.items()):
        record[_("补填：{what}").format(what=what)] = count
    for status, count in sorted(report.statuses.items()):
        record[_("状态 {status}").format(status=status)] = count
    if rejects_path is not None and report.rejects:
        record["rejects written to"] = str(rejects_path)
    if updated is not None:
        record.update(update_summary(report, updated))
    emit_record(record, fmt)
    if updated is not None and updated.rows:
        click.echo()
        emit(update_lines(updated, report.dry_run), UPDATE_COLUMNS, fmt)
    emit_rejects(report, fmt)


UPDATE_COLUMNS = [("row", N_("行")), ("task", N_("任务")), ("what", N_("内容")),
                  ("at", N_("时间")), ("detail", N_("说明"))]


def update_summary(report: ImportReport, updated: UpdateReport) -> dict[str, Any]:
    """An update's counts: rows unchanged, updated (events by kind), conflicting, new,
    rejected, and the source's rows missing from the file."""
    record: dict[str, Any] = {"rows unchanged": updated.unchanged,
                              "rows updated": updated.updated}
    for kind, count in sorted(updated.events.items()):
        record[_("更新：{kind}").format(kind=labels.kind(kind, "Task"))] = count
    record["rows conflicting (not applied)"] = updated.conflicting
    record["rows new"] = report.tasks_created
    record["rows missing from the file (not closed)"] = len(updated.missing)
    if updated.missing:
        record["missing"] = ", ".join(
            (_("{task}（{file} 第 {row} 行，编号 {id}，{state}）") if m["id"] else
             _("{task}（{file} 第 {row} 行，{state}）")).format(
                task=m["task"], file=m["file"], row=m["row"], id=m["id"],
                state=labels.state(m["state"]))
            for m in updated.missing)
    return record


def update_lines(updated: UpdateReport, dry_run: bool) -> list[dict[str, Any]]:
    """Per row: the events appended (or that a dry run would append), and the conflicts."""
    lines: list[dict[str, Any]] = []
    for compared in updated.rows:
        for event in compared.events:
            lines.append({"row": compared.row, "task": compared.task,
                          "what": (_("将追加 {event}") if dry_run else _("已追加 {event}"))
                          .format(event=labels.kind(event["event"], "Task")),
                          "at": event["at"][:16].replace("T", " "), "detail": ""})
        for c in compared.conflicts:
            lines.append({"row": compared.row, "task": compared.task,
                          "what": _("冲突（未应用）"), "at": "",
                          "detail": _("{column}：文件为 {file}，台账为 {ledger}：{reason}").format(
                              column=c["column"], file=repr(c["file"]),
                              ledger=repr(c["ledger"]), reason=c["reason"])
                          if c["column"] else c["reason"]})
    return lines


@click.group()
def export() -> None:
    """把台账数据导出为电子表格。"""


@export.command("board")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv",
              show_default=True, help="CSV（未给 -o 时输出到标准输出）或 Excel 工作簿。")
@output_option("写入此文件（xlsx 必需）；默认输出到标准输出。")
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--open", "open_only", is_flag=True, help="只看尚未销号的任务。")
@click.option("--due-within", "within", type=WITHIN, default=None,
              help="只看从今天起 N 天内到期的未完成任务：3d（自然日）或 3wd、3个工作日（工作"
                   "日）。")
@pass_session
def export_board(session: Session, fmt: str, output: Path | None, unit_code: str | None,
                 state: str | None, open_only: bool,
                 within: timedelta | WorkingDays | None) -> None:
    """以电子表格形式导出台账：每项任务一行，时间按活动所在时区。"""
    if fmt == "xlsx" and output is None:
        raise Refused(_("--format xlsx 需要 --output FILE"))
    rows = board_sheet(session.read, board_service.board(
        session.services, within=within, unit=unit_code, state=state,
        open_only=open_only).rows)
    if fmt == "csv":
        text = to_csv(rows)
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8-sig")
    else:
        output.write_bytes(to_xlsx(rows))  # type: ignore[union-attr]
    if output is not None:
        click.echo(_("已写入 {n} 项任务至 {path}").format(n=len(rows), path=output))


COMMANDS = [import_, export]
