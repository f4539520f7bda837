"""The 台账 board."""

from __future__ import annotations

from datetime import datetime

import click

from commands.output import emit, output_options
from commands.params import MOMENT, MONTH, localize
from commands.session import Session, pass_session
from domain.task import SOURCES, STATE_LABELS, STATES
from projections.read import ReadSide

BOARD_COLUMNS = [
    ("task", "task"), ("unit", "unit"), ("category", "category"), ("source", "source"),
    ("location", "location"), ("state", "state"), ("deadline", "deadline"),
    ("days_overdue", "overdue days"), ("rework_count", "rework"),
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
@click.option("--month", type=MONTH, default=None, help="Only tasks assigned in this month.")
@click.option("--sort", type=click.Choice(ReadSide.SORTS), default="task", show_default=True)
@click.option("--as-of", "as_of", type=MOMENT, default=None,
              help="The board as the ledger knew it then (transaction time), overdue as of "
              "that day. Without an offset, in the campaign's time zone.")
@output_options()
@pass_session
def board(session: Session, unit_code: str | None, state: str | None, category: str | None,
          source: str | None, overdue: bool, open_only: bool, month: str | None, sort: str,
          as_of: datetime | None, fmt: str) -> None:
    """The 台账: one row per task, with its state, deadline and days overdue."""
    zone = session.store.ledger.campaign().zone
    moment = localize(as_of, zone)
    read = session.read.at(moment) if moment is not None else session.read
    rows = read.board(unit=unit_code, state=state, category=category, source=source,
                      overdue=overdue, open_only=open_only, month=month, sort=sort)
    if fmt == "table":
        for row in rows:
            row["state"] = f"{row['state']} {STATE_LABELS[row['state']]}"
            row["last_action_at"] = datetime.fromisoformat(row["last_action_at"]).astimezone(
                zone).strftime("%Y-%m-%d %H:%M")
    emit(rows, BOARD_COLUMNS + PLACE_COLUMNS if fmt == "json" else BOARD_COLUMNS, fmt)


COMMANDS = [board]
