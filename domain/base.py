"""What every ledger aggregate and event shares.

Every event says when it happened in the world (``occurred_at``, valid time), who did it
(``actor``) and in which role, and — for a proxy entry (代录) — who entered it on their behalf
(``entered_by``). When the ledger learned of it is not the domain's business: the store
records that beside the event.
"""

from __future__ import annotations

import re
from dataclasses import field
from datetime import date, datetime, tzinfo
from typing import Any

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)


class Label(str):
    """A value of a refusal that is itself a word to translate (a state, a source, a
    closure, a level): the message catalogue translates it with the message."""


class Said(Exception):
    """A refusal as words: a message in Chinese with ``{name}`` fields (the message
    catalogue's id, extracted from the raise site) and the values that fill them.

    ``str()`` is the Chinese text; the command line and the web translate ``template`` and
    the :class:`Label` values into the language in use (``i18n.refusal``). Written
    ``raise Refused("任务 {task} 已关闭", task=task_id)``, never an f-string, so that the
    catalogue can find the message.
    """

    def __init__(self, template: str, /, **values: Any) -> None:
        super().__init__(template.format(**values) if values else template)
        self.template = template
        self.values = values


class DomainError(Said):
    """A command that does not fit the ledger: refused, nothing is written."""


class NotFound(DomainError):
    """A command names a task, unit, person or event that the ledger does not know."""


class Refused(DomainError):
    """A command that the current state, the actor's role or the data does not allow."""


class LedgerEvent(CanMutateAggregate[str], metaclass=MetaDomainEvent):
    """Base of every event: valid time, actor and role; and who entered it, when that was
    someone else than the actor (a proxy entry; None when the actor entered it)."""

    originator_id: str
    originator_version: int
    timestamp: datetime
    occurred_at: datetime
    actor: str
    role: str
    entered_by: str | None = field(default=None, kw_only=True)

    def mutate(self, aggregate: Any) -> Any:
        aggregate = super().mutate(aggregate)
        aggregate._record(self)
        return aggregate


class LedgerCreated(LedgerEvent, CanInitAggregate[str]):
    originator_topic: str


class LedgerAggregate(BaseAggregate[str]):
    """An aggregate with a human-readable string id (``T-000123``, ``unit:JS01`` …)."""

    Event = LedgerEvent
    Created = LedgerCreated

    def _record(self, event: LedgerEvent) -> None:
        """Called after each event is applied (a record that can be corrected keeps its
        events' log here: see :mod:`domain.corrections`)."""

    def _stamp(self, event_class: type[LedgerEvent], actor: Actor, occurred_at: datetime,
               **kwargs: Any) -> None:
        self.trigger_event(event_class, occurred_at=occurred_at, **actor.stamp(), **kwargs)


class Actor:
    """Who is acting and in which capacity; built by the application from a Person.

    ``entered_by`` names the person who enters the actor's events on their behalf (a proxy
    entry, 代录), or is None when the actor enters them."""

    __slots__ = ("id", "role", "unit", "entered_by")

    def __init__(self, id: str, role: str, unit: str | None = None,  # noqa: A002
                 entered_by: str | None = None) -> None:
        self.id = id
        self.role = role
        self.unit = unit
        self.entered_by = entered_by

    def stamp(self) -> dict[str, Any]:
        """What every event of this actor records about who acted and who entered it."""
        return {"actor": self.id, "role": self.role, "entered_by": self.entered_by}

    def __repr__(self) -> str:
        return f"Actor({self.id!r}, {self.role!r}, {self.unit!r}, {self.entered_by!r})"


# Limits on what people enter (README, "Limits on input"). Names, places, categories and
# numbers are one line of at most SHORT_TEXT characters; descriptions, reasons and notes at
# most LONG_TEXT, and may hold line breaks and tabs. No other control character is taken
# (a bare CR or BEL breaks the CSV files and terminals the ledger's text goes to).
SHORT_TEXT = 200
LONG_TEXT = 2000
LONG_FIELDS = frozenset({"description", "reason", "note", "requirements",
                         "rectification description", "re-inspection note",
                         "reason for failing", "evidence description"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_LONG = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Valid times and deadlines lie between these days.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def check_text(field: str, value: str) -> str:
    """Refuse text past its field's length, or holding a control character (naming the
    field, and the limit or the character's position, counted from 1)."""
    long = field in LONG_FIELDS
    limit = LONG_TEXT if long else SHORT_TEXT
    if len(value) > limit:
        raise Refused(f"{field} is {len(value):,} characters long; at most {limit:,} are "
                      "accepted")
    found = (_CONTROL_IN_LONG if long else _CONTROL).search(value)
    if found:
        raise Refused(f"{field} holds a control character (U+{ord(found.group()):04X}) at "
                      f"position {found.start() + 1}")
    return value


def require_text(field: str, value: str | None) -> str:
    """Refuse an empty required field, naming it; and text past the limits above."""
    if value is None or not str(value).strip():
        raise Refused(f"{field} must not be empty (got {value!r})")
    return check_text(field, str(value).strip())


def optional_text(field: str, value: str | None) -> str:
    """An optional text field (empty is fine), within the limits above."""
    return check_text(field, (value or "").strip())


def check_day(field: str, value: date) -> date:
    """Refuse a day before 1900 or after 2099 (a typed year 99, a year 9999)."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise Refused(f"{field} {day.isoformat()} is outside the days the ledger takes "
                      f"({EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()})")
    return value


def require_aware(field: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise Refused(f"{field} must carry a time zone (got {value.isoformat()})")
    return value


def check_moment(occurred_at: datetime, now: datetime) -> None:
    """An event's valid time must carry a zone and not lie in the future."""
    require_aware("occurred_at", occurred_at)
    if occurred_at > now:
        raise Refused(f"occurred_at {occurred_at.isoformat()} is in the future")
    check_day("occurred_at", occurred_at)


def localized(moment: datetime, zone: tzinfo) -> datetime:
    """A moment given without an offset happened in ``zone`` (the campaign's time zone);
    one given with an offset stays as it is."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The calendar date of a moment in the campaign's time zone."""
    return moment.astimezone(zone).date()
