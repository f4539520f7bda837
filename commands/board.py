"""The 台账 board."""

from __future__ import annotations

from datetime import datetime, timedelta

import click

from commands.output import emit, output_options
from commands.params import MOMENT, MONTH, WITHIN
from commands.session import Session, pass_session
from domain.task import SOURCES, STATE_LABELS, STATES
from ledger.workdays import WorkingDays
from projections.read import ReadSide
from services import board as board_service

BOARD_COLUMNS = [
    ("task", "task"), ("unit", "unit"), ("category", "category"), ("source", "source"),
    ("location", "location"), ("state", "state"), ("deadline", "deadline"),
    ("days_overdue", "overdue days"), ("working_days_left", "working days left"),
    ("rework_count", "rework"), ("extension_requested", "extension asked"),
    ("last_action", "last action"), ("last_action_at", "at"),
]
# Where the problem is on the map (when its record says): in json (export board has it too).
PLACE_COLUMNS = [("latitude", "latitude"), ("longitude", "longitude")]


@click.command()
@click.option("--unit", "unit_code", default=None, help="A unit, with all units below it.")
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--category", default=None)
@click.option("--source", type=click.Choice(list(SOURCES)), default=None)
@click.option("--overdue", is_flag=True, help="Only tasks past their deadline.")
@click.option("--open", "open_only", is_flag=True, help="Only tasks not yet closed.")
@click.option("--due-within", "within", type=WITHIN, default=None,
              help="Only unfinished tasks due from today to N days ahead: 3d (calendar days) "
              "or 3wd, 3个工作日 (working days).")
@click.option("--extension-requested", "extension_requested", is_flag=True,
              help="Only tasks with an extension request awaiting a decision.")
@click.option("--month", type=MONTH, default=None, help="Only tasks assigned in this month.")
@click.option("--sort", type=click.Choice(ReadSide.SORTS), default="task", show_default=True)
@click.option("--as-of", "as_of", type=MOMENT, default=None,
              help="The board as the ledger knew it then (transaction time), overdue as of "
              "that day. Without an offset, in the campaign's time zone.")
@click.option("--working-days", "working_days", is_flag=True,
              help="Add each unfinished task's working days left: those after today up to "
              "its deadline (0: due today; negative: working days past it).")
@output_options()
@pass_session
def board(session: Session, unit_code: str | None, state: str | None, category: str | None,
          source: str | None, overdue: bool, open_only: bool,
          within: timedelta | WorkingDays | None, extension_requested: bool,
          month: str | None, sort: str, as_of: datetime | None, working_days: bool,
          fmt: str) -> None:
    """The 台账: one row per task, with its state, deadline, days overdue and the deadline
    a pending extension request asks for."""
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
        for row in rows:
            row["state"] = f"{row['state']} {STATE_LABELS[row['state']]}"
            row["last_action_at"] = datetime.fromisoformat(row["last_action_at"]).astimezone(
                session.services.zone).strftime("%Y-%m-%d %H:%M")
    if fmt == "json":
        columns = [*columns, *PLACE_COLUMNS]
    emit(rows, columns, fmt)


def note_unknown_years(unknown: set[int]) -> None:
    """One note for the years the official holiday calendar does not know (working days
    left needing them are not shown: never guessed)."""
    if unknown:
        years = ", ".join(str(y) for y in sorted(unknown))
        click.echo(f"note: working days left are not shown for deadlines needing {years}: "
                   "the official holiday calendar for it is not known", err=True)


COMMANDS = [board]
