"""The 台账 board and the reminders as people ask for them: as of a moment, due within a
span of calendar or working days, with each unfinished task's working days left."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.task_states import CLOSED, VERIFIED
from ledger.workdays import Calendar, UnknownYear, WorkingDays

if TYPE_CHECKING:
    from services.bootstrap import Services


def due_by(today: date, within: timedelta | WorkingDays, calendar: Calendar) -> date:
    """The last day of a span from ``today``: working days by the campaign's calendar."""
    if isinstance(within, timedelta):
        return today + within
    return calendar.resolve(within, today, field="--due-within")[0]


def working_days_left(rows: list[dict[str, Any]], calendar: Calendar, today: date
                      ) -> set[int]:
    """Each unfinished row's working days left on ``today``; where the official calendar
    does not know a year the count needs, none (never guessed): those years are returned."""
    unknown: set[int] = set()
    counted: dict[str, int | None] = {}  # tasks share deadlines: each is counted once
    for row in rows:
        row["working_days_left"] = None
        if row["state"] in (VERIFIED, CLOSED):
            continue
        deadline = row["deadline"]
        if deadline not in counted:
            try:
                counted[deadline] = calendar.between(today, date.fromisoformat(deadline))
            except UnknownYear as e:
                counted[deadline] = None
                unknown.add(e.year)
        row["working_days_left"] = counted[deadline]
    return unknown


@dataclass
class Board:
    """The board's rows, the day they are counted on, and the years the official holiday
    calendar did not know (working days left are not shown for those)."""

    rows: list[dict[str, Any]]
    today: date
    unknown_years: set[int] = field(default_factory=set)


def board(services: Services, *, as_of: datetime | None = None,
          within: timedelta | WorkingDays | None = None, working_days: bool = False,
          **filters: Any) -> Board:
    """The board as the ledger knew it at ``as_of`` (transaction time; default now),
    overdue as of that day; ``within``: only unfinished tasks due from that day to the end
    of the span; ``working_days``: add each unfinished task's working days left.
    ``filters``: those of ``ReadSide.board``."""
    then = None if as_of is None else services.read.at(as_of)
    today = services.today() if then is None else then.today()
    calendar = services.ledger.work_calendar() if within is not None or working_days \
        else None
    until = None if within is None or calendar is None else due_by(today, within, calendar)
    if then is not None:
        rows = then.board(due_by=until, **filters)
    else:
        # Read models that are current: their rows as they are, without loading the read
        # side (projections.board_read); else the read side catches them up first.
        from projections import board_read

        found = board_read.board(services.store, today, due_by=until, **filters)
        rows = found if found is not None else services.read.board(due_by=until, **filters)
    unknown: set[int] = set()
    if calendar is not None and working_days:
        unknown = working_days_left(rows, calendar, today)
    return Board(rows, today, unknown)


@dataclass
class Reminders:
    """Per unit, its tasks overdue and due soon (``projections.reminders.group``)."""

    units: list[dict[str, Any]]
    today: date
    unknown_years: set[int] = field(default_factory=set)


def reminders(services: Services, *, within: timedelta | WorkingDays,
              unit: str | None = None) -> Reminders:
    """Each unit's tasks overdue and due within the span from today, with working days
    left."""
    from projections.reminders import group

    read = services.read
    calendar = services.ledger.work_calendar()
    today = read.today()
    until = due_by(today, within, calendar)
    rows = read.board(unit=unit, overdue=True) + read.board(unit=unit, due_by=until)
    unknown = working_days_left(rows, calendar, today)
    names = {u["code"]: u["name"] for u in read.units()}
    return Reminders(group(rows, names, today), today, unknown)
