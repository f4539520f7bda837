"""What every ledger aggregate and event shares.

Every event says when it happened in the world (``occurred_at``, valid time), who did it
(``actor``) and in which role, and — for a proxy entry (代录) — who entered it on their behalf
(``entered_by``). When the ledger learned of it is not the domain's business: the store
records that beside the event.
"""

from __future__ import annotations

from dataclasses import field
from datetime import date, datetime, tzinfo
from typing import Any

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)


class DomainError(Exception):
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


class LedgerCreated(LedgerEvent, CanInitAggregate[str]):
    originator_topic: str


class LedgerAggregate(BaseAggregate[str]):
    """An aggregate with a human-readable string id (``T-000123``, ``unit:JS01`` …)."""

    Event = LedgerEvent
    Created = LedgerCreated

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


def require_text(field: str, value: str | None) -> str:
    """Refuse an empty required field, naming it."""
    if value is None or not str(value).strip():
        raise Refused(f"{field} must not be empty (got {value!r})")
    return str(value).strip()


def require_aware(field: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise Refused(f"{field} must carry a time zone (got {value.isoformat()})")
    return value


def check_moment(occurred_at: datetime, now: datetime) -> None:
    """An event's valid time must carry a zone and not lie in the future."""
    require_aware("occurred_at", occurred_at)
    if occurred_at > now:
        raise Refused(f"occurred_at {occurred_at.isoformat()} is in the future")


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The calendar date of a moment in the campaign's time zone."""
    return moment.astimezone(zone).date()
