"""What the ledger says of a record and of a period, as of a moment people type: a
record's history, the timeline, the work summary. A moment without an offset is read in
the campaign's time zone by the read side (``ReadSide.at``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from domain.base import Label, Refused
from domain.task import Task
from ledger.corrections import resolve

if TYPE_CHECKING:
    from projections.summary import Summary
    from services.bootstrap import Services


def history(services: Services, record: str, *, as_of: datetime | None = None,
            valid_at: date | None = None) -> dict[str, Any]:
    """A record's events as recorded by ``as_of`` (default: everything); for a task its
    state too, and with ``valid_at`` the state it was in on that day as known then."""
    read = services.read.at(as_of)
    if resolve(record)[0] is Task:
        return read.history(record, valid_at=valid_at)
    if valid_at is not None:
        raise Refused("--valid-at 给出的是任务在某一天的状态；{record} 是{kind}，不是任务",
                      record=record.strip(), kind=Label(resolve(record)[0].LABEL))
    return read.record_history(record)


def timeline(services: Services, *, as_of: datetime | None = None,
             **filters: Any) -> list[dict[str, Any]]:
    """Every event (of a unit and those below it, by an actor, happened from/to) in the
    order recorded, as recorded by ``as_of``. ``filters``: ``ReadSide.timeline``'s."""
    return services.read.at(as_of).timeline(**filters)


def summary(services: Services, start: date, end: date, unit: str | None = None,
            as_of: datetime | None = None) -> Summary:
    """The work summary of a period, for a unit and those below it (or all), from the
    events recorded by ``as_of`` (default: all)."""
    from projections.summary import Period, summary_of

    return summary_of(services.read.at(as_of, only=("registry",)), Period(start, end), unit)
