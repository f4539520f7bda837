"""Indicator commands: the indicator system, its decomposition into targets, and progress.

``indicators import|show|versions|assign|targets|status``, and on the ``task`` group the
target tasks' ``progress``, ``verify-progress`` and ``reject-progress`` (attached here, so
the problem tasks' command module stays as it is).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from commands.output import emit, output_options
from commands.params import DATE, at_option, evidence, evidence_option
from commands.session import Session, pass_session
from commands.tasks import task as task_group
from i18n import N_, _
from domain.target import MEASURES
from ledger.indicators import read_indicator_file
from projections.indicators import tree_order
from projections.times import localise_rows


def _when(session: Session, occurred_at: datetime | None) -> datetime | None:
    return session.localize(occurred_at)


def _said(result: dict[str, Any]) -> None:
    """One line on a target task: where it stands after the command."""
    pending = _(" · 待核验的上报：{amount}").format(amount=_n(result["pending"])) \
        if result["pending"] is not None else ""
    click.echo(_("{target} {state} · 指标 {indicator} · 单位 {unit} · 已核验 {verified}/{of} "
                 "{measure} · 期限 {due}").format(
        target=result["target_task"], state=result["state"], indicator=result["indicator"],
        unit=result["unit"], verified=_n(result["verified"]), of=_n(result["target"]),
        measure=result["measure"], due=result["due"])
        + (_(" · 已超期") if result["overdue"] else "") + pending)


def _n(value: float) -> str:
    return f"{value:g}"


def _indent(title: str, depth: int) -> str:
    # The table strips leading blanks, so the depth is drawn.
    return "· " * depth + title


@click.group()
def indicators() -> None:
    """测评体系及其指标分解（指标任务）。"""


@indicators.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default="", help="版本名称，例如 2024年版测评体系。")
@click.option("--note", default="", help="测评体系变更的原因。")
@at_option()
@pass_session
def indicators_import(session: Session, file: Path, name: str, note: str,
                      occurred_at: datetime | None) -> None:
    """把 FILE（.csv、.xlsx 或 .toml）采用为测评体系的下一个版本。

    列：code、parent、title、category、points、method（如何测评）；也识别中文表头（编码、
    上级编码、指标名称、类别、分值、测评方法）。"""
    rows = read_indicator_file(file)
    adopted = session.services.indicators.import_system(
        actor_id=session.actor, rows=rows, name=name, source=file.name, note=note,
        occurred_at=_when(session, occurred_at))
    click.echo(_("指标体系第 {version} 版（{name}）已采用：{file} 中的 {count} 项指标").format(
        version=adopted["version"], name=adopted["name"], count=adopted["count"],
        file=file.name))


SHOW_COLUMNS = [("code", N_("编号")), ("title", N_("指标")), ("category", N_("类别")),
                ("points", N_("分值")), ("method", N_("考核方式")), ("parent", N_("上级"))]


@indicators.command("show")
@click.option("--version", "number", type=click.IntRange(min=1), default=None,
              help="按编号指定版本；默认最新版本。")
@output_options()
@pass_session
def indicators_show(session: Session, number: int | None, fmt: str) -> None:
    """以树形显示测评体系。"""
    version, rows = session.services.indicator_queries.indicators(number)
    shown = []
    for indicator, depth in tree_order(rows):
        row = dict(indicator, points=_n(indicator["points"]))
        if fmt == "table":
            row["title"] = _indent(row["title"], depth)
        shown.append(row)
    if fmt == "table":
        click.echo(_("指标体系第 {version} 版").format(version=version))
    emit(shown, SHOW_COLUMNS, fmt)


@indicators.command("versions")
@output_options()
@pass_session
def indicators_versions(session: Session, fmt: str) -> None:
    """测评体系的所有已采用版本。"""
    emit(localise_rows(session.services.indicators.versions(), ("adopted_at",),
                       session.services.zone, fmt),
         [("version", N_("版本")), ("name", N_("名称")), ("count", N_("指标数")),
          ("source", N_("来源")), ("adopted_at", N_("采用时间")), ("adopted_by", N_("采用人")),
          ("note", N_("备注"))], fmt)


@indicators.command("assign")
@click.argument("code")
@click.option("--unit", "unit_code", required=True)
@click.option("--target", required=True, help="要达到的数量（大于 0）。")
@click.option("--unit-of-measure", "measure", required=True, metavar="|".join(MEASURES),
              help="期、块、人 或 %（比率）。")
@click.option("--due", type=DATE, required=True)
@click.option("--note", default="")
@at_option()
@pass_session
def indicators_assign(session: Session, code: str, unit_code: str, target: str,
                      measure: str, due: date, note: str,
                      occurred_at: datetime | None) -> None:
    """把指标 CODE 分解为某单位的量化指标任务。"""
    _said(session.services.indicators.assign_target(
        actor_id=session.actor, code=code, unit=unit_code, target=target, measure=measure,
        due=due,
        note=note, occurred_at=_when(session, occurred_at)))


@indicators.command("reassign")
@click.argument("target_id", metavar="TARGET")
@click.option("--unit", "unit_code", required=True, help="接手的单位。")
@click.option("--reason", required=True)
@at_option()
@pass_session
def indicators_reassign(session: Session, target_id: str, unit_code: str, reason: str,
                        occurred_at: datetime | None) -> None:
    """把指标任务 TARGET（ZB-…）改派给另一个单位。"""
    _said(session.services.indicators.reassign_target(
        actor_id=session.actor, target_id=target_id, unit=unit_code, reason=reason,
        occurred_at=_when(session, occurred_at)))


@indicators.command("extend")
@click.argument("target_id", metavar="TARGET")
@click.option("--due", type=DATE, required=True, help="新的、更晚的完成期限。")
@click.option("--reason", required=True)
@click.option("--approver", default=None, metavar="PERSON",
              help="批准延期的人（默认：操作人）。")
@at_option()
@pass_session
def indicators_extend(session: Session, target_id: str, due: date, reason: str,
                      approver: str | None, occurred_at: datetime | None) -> None:
    """延长指标任务 TARGET（ZB-…）的完成期限，注明批准人和原因。"""
    _said(session.services.indicators.extend_target(
        actor_id=session.actor, target_id=target_id, due=due, reason=reason, approver=approver,
        occurred_at=_when(session, occurred_at)))


TARGET_COLUMNS = [("target_task", N_("指标任务")), ("indicator", N_("指标编号")),
                  ("unit", N_("单位")), ("target", N_("目标")), ("verified", N_("已核验")),
                  ("measure", N_("计量")), ("pending", N_("待核验")), ("due", N_("期限")),
                  ("state", N_("状态")), ("overdue", N_("超期")),
                  ("completed_on", N_("完成日期"))]


@indicators.command("targets")
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--code", default=None, help="一个指标，连同其下所有指标。")
@click.option("--overdue", is_flag=True, help="只看已过完成期限的指标任务。")
@output_options()
@pass_session
def indicators_targets(session: Session, unit_code: str | None, code: str | None,
                       overdue: bool, fmt: str) -> None:
    """指标任务，含已核验的进度及是否超期。"""
    rows = session.services.indicator_queries.targets(unit=unit_code, code=code, overdue=overdue)
    if fmt != "json":
        for row in rows:
            row.update({k: _n(row[k]) for k in ("target", "verified")},
                       pending=None if row["pending"] is None else _n(row["pending"]))
    emit(rows, TARGET_COLUMNS, fmt)


@indicators.command("status")
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--code", default=None, help="一个指标，连同其下所有指标。")
@click.option("--by", type=click.Choice(["indicator", "unit"]), default="indicator",
              show_default=True, help="按指标树汇总，或按单位汇总。")
@click.option("--version", "number", type=click.IntRange(min=1), default=None,
              help="指标树的版本；默认最新版本。")
@output_options()
@pass_session
def indicators_status(session: Session, unit_code: str | None, code: str | None, by: str,
                      number: int | None, fmt: str) -> None:
    """指标任务的完成情况：按指标（每项计入其上所有指标）或按单位汇总：任务数、已完成、已超
    期、平均完成百分比。"""
    rows = session.services.indicator_queries.status(unit=unit_code, code=code, version=number,
                                                 by=by)
    if fmt == "table" and by == "indicator":
        for row in rows:
            row["title"] = _indent(row["title"], row["depth"])
    key = [("code", N_("编号")), ("title", N_("指标"))] if by == "indicator" else [("unit", N_("单位"))]
    emit(rows, key + [("targets", N_("任务数")), ("met", N_("已完成")), ("overdue", N_("超期")),
                      ("percent", N_("完成率 %")), ("amount", N_("核验/目标"))], fmt)


@task_group.command("progress")
@click.argument("target_id", metavar="ID")
@click.option("--value", required=True, help="目前达到的水平（不是增量）。")
@click.option("--note", default="")
@evidence_option()
@at_option()
@pass_session
def task_progress(session: Session, target_id: str, value: str, note: str,
                  evidence_refs: tuple[str, ...], evidence_elsewhere: tuple[str, ...],
                  occurred_at: datetime | None) -> None:
    """责任单位上报指标任务的进度，附证据。"""
    _said(session.services.indicators.report_progress(
        actor_id=session.actor, target_id=target_id, value=value,
        evidence=evidence(evidence_refs, evidence_elsewhere), note=note,
        occurred_at=_when(session, occurred_at)))


@task_group.command("verify-progress")
@click.argument("target_id", metavar="ID")
@click.option("--note", default="")
@at_option()
@pass_session
def task_verify_progress(session: Session, target_id: str, note: str,
                         occurred_at: datetime | None) -> None:
    """巡查员核验指标任务待核验的进度报告。"""
    _said(session.services.indicators.verify_progress(
        actor_id=session.actor, target_id=target_id, note=note,
        occurred_at=_when(session, occurred_at)))


@task_group.command("reject-progress")
@click.argument("target_id", metavar="ID")
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_reject_progress(session: Session, target_id: str, reason: str,
                         occurred_at: datetime | None) -> None:
    """巡查员驳回指标任务待核验的进度报告，并说明原因。"""
    _said(session.services.indicators.reject_progress(
        actor_id=session.actor, target_id=target_id, reason=reason,
        occurred_at=_when(session, occurred_at)))


COMMANDS = [indicators]
