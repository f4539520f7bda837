"""Reminders (到期提醒): per unit, its tasks overdue and due soon, as a table or as one
chat message per unit."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from commands.board import note_unknown_years
from commands.output import emit
from commands.params import WITHIN
from commands.session import Session, pass_session
from i18n import N_, _
from ledger.workdays import WorkingDays
from projections.reminders import message, when_text
from services import board as board_service

COLUMNS = [("unit", N_("单位")), ("unit_name", N_("名称")), ("task", N_("任务")),
           ("category", N_("类别")), ("location", N_("地点")), ("deadline", N_("整改期限")),
           ("when", N_("提醒")), ("extension_requested", N_("申请延期至"))]


@click.command()
@click.option("--within", "within", type=WITHIN, default="3d", show_default=True,
              help="即将到期：从今天起 N 天内，3d（自然日）或 3wd、3个工作日（工作日）。")
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--signed", default="文明办", show_default=True,
              help="消息的署名。")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "md"]),
              default="table", show_default=True,
              help="table/csv：每项任务一行；md：每个单位一条消息，可贴到其工作群；json：每个"
                   "单位的任务及其消息。")
@pass_session
def reminders(session: Session, within: timedelta | WorkingDays, unit_code: str | None,
              signed: str, fmt: str) -> None:
    """各单位已超期和即将到期的任务（到期提醒），可发到其工作群。"""
    found = board_service.reminders(session.services, within=within, unit=unit_code)
    note_unknown_years(found.unknown_years)
    units, today = found.units, found.today
    if fmt in ("table", "csv"):
        listed = [{**row, "when": when_text(row, _)}
                  for unit in units for row in unit["overdue"] + unit["due"]]
        emit(listed, COLUMNS, fmt)
    elif fmt == "md":
        click.echo("\n\n".join(f"### {u['unit']} {u['unit_name']}\n\n"
                               + message(u, today, signed) for u in units)
                   or _("（无）"))
    else:
        keys = ("task", "category", "location", "description", "deadline", "days_left",
                "working_days_left", "extension_requested")
        click.echo(json.dumps([
            {"unit": u["unit"], "unit_name": u["unit_name"],
             "overdue": [{k: r[k] for k in keys} for r in u["overdue"]],
             "due": [{k: r[k] for k in keys} for r in u["due"]],
             "message": message(u, today, signed)} for u in units],
            ensure_ascii=False, indent=2))


COMMANDS = [reminders]
