"""The 台账 board."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from commands.output import OPTIONAL, TEXT, Column, emit, output_options
from commands.params import MOMENT, MONTH, WITHIN
from commands.session import Session, pass_session
from domain.task_fields import SOURCES
from domain.task_states import STATES
from i18n import N_, _, labels
from ledger.workdays import WorkingDays
from projections.orders import BOARD_SORTS
from projections.times import for_people, localise_rows
from services import board as board_service

BOARD_COLUMNS: list[Column] = [
    ("task", N_("任务")), ("unit", N_("责任单位")), ("category", N_("类别"), TEXT),
    ("source", N_("来源"), OPTIONAL), ("location", N_("地点"), TEXT), ("state", N_("状态")),
    ("deadline", N_("整改期限")), ("days_overdue", N_("超期天数")),
    ("working_days_left", N_("剩余工作日")), ("rework_count", N_("返工"), OPTIONAL),
    ("extension_requested", N_("申请延期至")), ("last_action", N_("最后操作"), OPTIONAL),
    ("last_action_at", N_("时间"), OPTIONAL),
]
# Where the problem is on the map (when its record says): in json (export board has it too).
PLACE_COLUMNS = [("latitude", "latitude"), ("longitude", "longitude")]


@click.command()
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--category", default=None)
@click.option("--source", type=click.Choice(list(SOURCES)), default=None)
@click.option("--overdue", is_flag=True, help="只看已超期的任务。")
@click.option("--open", "open_only", is_flag=True, help="只看尚未销号的任务。")
@click.option("--due-within", "within", type=WITHIN, default=None,
              help="只看从今天起 N 天内到期的未完成任务：3d（自然日）或 3wd、3个工作日（工作"
                   "日）。")
@click.option("--extension-requested", "extension_requested", is_flag=True,
              help="只看有待批延期申请的任务。")
@click.option("--month", type=MONTH, default=None, help="只看在此月交办的任务。")
@click.option("--sort", type=click.Choice(BOARD_SORTS), default="task", show_default=True)
@click.option("--as-of", "as_of", type=MOMENT, default=None,
              help="按台账当时所知的情况显示（记录时间），超期按当天计算。未带时区偏移时按活动"
                   "所在时区。")
@click.option("--working-days", "working_days", is_flag=True,
              help="为每项未完成任务加上剩余工作日：今天之后到期限为止的工作日（0：今天到期；"
                   "负数：已超过的工作日）。")
@output_options()
@pass_session
def board(session: Session, unit_code: str | None, state: str | None, category: str | None,
          source: str | None, overdue: bool, open_only: bool,
          within: timedelta | WorkingDays | None, extension_requested: bool,
          month: str | None, sort: str, as_of: datetime | None, working_days: bool,
          fmt: str) -> None:
    """台账：每项任务一行，含状态、整改期限、超期天数，以及待批延期申请所请求的期限。"""
    found = board_service.board(
        session.services, as_of=as_of, within=within, working_days=working_days,
        unit=unit_code, state=state, category=category, source=source, overdue=overdue,
        open_only=open_only, month=month, sort=sort, extension_requested=extension_requested)
    rows = found.rows
    note_unknown_years(found.unknown_years)
    columns = BOARD_COLUMNS
    if not working_days:
        columns = [c for c in BOARD_COLUMNS if c[0] != "working_days_left"]
    if fmt == "table":
        # For people, the column only when some task has a request awaiting a decision.
        if not any(row["extension_requested"] for row in rows):
            columns = [c for c in columns if c[0] != "extension_requested"]
        zone = session.services.zone
        # Each state, source and kind said once (a board has thousands of rows, and few).
        said: dict[tuple[str, str], str] = {}
        for row in rows:
            for key, say in (("state", labels.state), ("source", labels.source),
                             ("last_action", _last_action)):
                value = row[key]
                if (key, value) not in said:
                    said[key, value] = say(value)
                row[key] = said[key, value]
            row["last_action_at"] = for_people(row["last_action_at"], zone)
    else:
        rows = localise_rows(rows, ("assigned_at", "last_action_at"), session.services.zone,
                             fmt)
    if fmt == "json":
        columns = [*columns, *PLACE_COLUMNS]
    emit(rows, columns, fmt)


def _last_action(kind: str) -> str:
    return labels.kind(kind, "Task")


def note_unknown_years(unknown: set[int]) -> None:
    """One note for the years the official holiday calendar does not know (working days
    left needing them are not shown: never guessed)."""
    if unknown:
        years = ", ".join(str(y) for y in sorted(unknown))
        click.echo(_("注意：期限在 {years} 年的任务不显示剩余工作日：尚无该年的官方节假日安排")
                   .format(years=years), err=True)


COMMANDS = [board]
