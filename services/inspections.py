"""An inspection visit (巡查) as people enter it: findings written
``CATEGORY|LOCATION|DESCRIPTION[|DEADLINE[|NOTICE]]``, each becoming a task, with a
default deadline for those that give none."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.base import Refused
from ledger.app import Finding
from ledger.workdays import WorkingDays, parse_deadline

if TYPE_CHECKING:
    from services.bootstrap import Services

FINDING_FORMAT = "CATEGORY|LOCATION|DESCRIPTION[|DEADLINE[|NOTICE]]"


def parse_finding(spec: str, default_deadline: date | WorkingDays) -> Finding:
    """One finding from its text; the deadline, when it gives none, is the default."""
    parts = [p.strip() for p in spec.split("|")]
    if len(parts) < 3 or len(parts) > 5:
        raise Refused("发现的问题须写成 {form}，收到 {spec!r}", form=FINDING_FORMAT, spec=spec)
    deadline = default_deadline
    if len(parts) >= 4 and parts[3]:
        deadline = parse_deadline(parts[3], "finding deadline")
    notice = parts[4] if len(parts) == 5 and parts[4] else None
    return Finding(parts[0], parts[1], parts[2], deadline, notice)


def inspect(services: Services, *, actor: str | None, unit: str, findings: list[str],
            deadline: date | WorkingDays | None = None, days: int = 7,
            companions: list[str] | None = None, note: str = "",
            occurred_at: datetime | None = None) -> dict[str, Any]:
    """Record a visit of ``unit`` (at ``occurred_at``, default now; without an offset, in
    the campaign's time zone) with its findings; a finding without a deadline gets
    ``deadline``, or else the day ``days`` after the visit."""
    ledger = services.ledger
    when = services.localize(occurred_at) or ledger.clock()
    default_deadline = deadline or (when.astimezone(services.zone).date()
                                    + timedelta(days=days))
    return ledger.inspect(actor_id=actor, unit=unit,
                          findings=[parse_finding(f, default_deadline) for f in findings],
                          companions=list(companions or []), note=note, occurred_at=when)
