"""A public survey (群众满意度测评) of one unit for one month.

Residents are asked whether they know of the campaign (知晓率), take part in it (参与率)
and are satisfied with it (满意度). Each survey is recorded with its source (who ran it:
第三方测评机构, 文明办 …) and method (入户问卷, 电话调查 …) and its sample size, so that the
figures the evaluation uses can be traced to where they came from. Several surveys of one
unit and month combine, weighted by their samples.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.base import (
    Actor,
    LedgerAggregate,
    LedgerCreated,
    Refused,
    check_moment,
    local_date,
    require_text,
)
from domain.roles import authorize

RATES = {"awareness": "知晓率", "participation": "参与率", "satisfaction": "满意度"}
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_rate(field: str, value: Any) -> float:
    """A percentage from 0 to 100."""
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise Refused(f"{field} must be a percentage, got {value!r}") from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise Refused(f"{field} must be a percentage from 0 to 100, got {value!r}")
    return float(rate)


class Survey(LedgerAggregate):
    """One survey's results; the record itself is the fact."""

    class Recorded(LedgerCreated):
        survey_id: str
        unit: str
        month: str
        awareness: float
        participation: float
        satisfaction: float
        sample: int
        source: str
        method: str
        note: str

        def apply(self, survey: Survey) -> None:
            for name in ("survey_id", "unit", "month", "awareness", "participation",
                         "satisfaction", "sample", "source", "method", "note"):
                setattr(survey, name, getattr(self, name))

    @classmethod
    def record(cls, *, survey_id: str, unit: str, month: str, rates: dict[str, Any],
               sample: Any, source: str, method: str, note: str, actor: Actor,
               occurred_at: datetime, now: datetime, zone: tzinfo) -> Survey:
        """Record a survey of ``unit`` for ``month`` (YYYY-MM, not after the survey)."""
        authorize(actor, "record_survey")
        check_moment(occurred_at, now)
        if not isinstance(month, str) or not MONTH.match(month):
            raise Refused(f"survey month must be YYYY-MM, got {month!r}")
        if month > local_date(occurred_at, zone).isoformat()[:7]:
            raise Refused(f"survey month {month} is after the survey was taken "
                          f"({local_date(occurred_at, zone).isoformat()})")
        checked = {name: parse_rate(f"{name} ({label})", rates.get(name))
                   for name, label in RATES.items()}
        try:
            size = int(str(sample).strip())
        except ValueError:
            raise Refused(f"sample must be a whole number of people, got {sample!r}") from None
        if size <= 0:
            raise Refused(f"sample must be at least 1 person, got {sample!r}")
        return cls._create(
            cls.Recorded, id=survey_id, survey_id=survey_id, unit=unit, month=month,
            sample=size, source=require_text("survey source", source),
            method=require_text("survey method", method), note=note.strip(),
            occurred_at=occurred_at, **actor.stamp(), **checked)
