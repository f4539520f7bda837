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
    N_,
    Actor,
    LedgerAggregate,
    LedgerCreated,
    Refused,
    check_moment,
    local_date,
    optional_text,
    require_text,
)
from domain.corrections import Correctable
from domain.roles import authorize

RATES = {"awareness": "知晓率", "participation": "参与率", "satisfaction": "满意度"}
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_rate(field: str, value: Any) -> float:
    """A percentage from 0 to 100."""
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise Refused("{field}须为百分数，收到 {value!r}", field=field, value=value) from None
    if not rate.is_finite() or not 0 <= rate <= 100:
        raise Refused("{field}须为 0 到 100 之间的百分数，收到 {value!r}", field=field, value=value)
    return float(rate)


def check_month(month: Any, taken: datetime, zone: tzinfo) -> str:
    """A survey's month: YYYY-MM, not after the day the survey was taken."""
    if not isinstance(month, str) or not MONTH.match(month):
        raise Refused("调查月份须为 YYYY-MM，收到 {value!r}", value=month)
    if month > local_date(taken, zone).isoformat()[:7]:
        raise Refused("调查月份 {month} 晚于调查日期（{taken}）", month=month,
                      taken=local_date(taken, zone).isoformat())
    return month


def parse_sample(sample: Any) -> int:
    try:
        size = int(str(sample).strip())
    except ValueError:
        raise Refused("样本量须为整数人数，收到 {sample!r}", sample=sample) from None
    if size <= 0:
        raise Refused("样本量至少为 1 人，收到 {sample!r}", sample=sample)
    return size


class Survey(Correctable, LedgerAggregate):
    """One survey's results; the record itself is the fact. A survey entered with a wrong
    figure, month or unit is corrected; one entered twice is withdrawn."""

    LABEL = N_("调查")
    CORRECTABLE = {"Recorded": ("unit", "month", *RATES, "sample", "source", "method",
                                "note")}
    CORRECT_ACTION = "record_survey"
    WITHDRAW_ACTION = "record_survey"

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
        check_month(month, occurred_at, zone)
        checked = {name: parse_rate(f"{name} ({label})", rates.get(name))
                   for name, label in RATES.items()}
        size = parse_sample(sample)
        return cls._create(
            cls.Recorded, id=survey_id, survey_id=survey_id, unit=unit, month=month,
            sample=size, source=require_text("survey source", source),
            method=require_text("survey method", method), note=note.strip(),
            occurred_at=occurred_at, **actor.stamp(), **checked)

    def _concerns(self) -> str | None:
        return None  # recorded by the office for any unit

    def _check_corrected(self, version: int, event: str, changes: dict[str, Any], *,
                         zone: tzinfo, **context: Any) -> None:
        taken = changes.get("occurred_at")
        check_month(changes.get("month", self.month),
                    datetime.fromisoformat(taken) if taken else self.log[0][1], zone)

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, **context: Any) -> Any:
        if field == "unit":
            return context["active_unit"](str(value).strip())
        if field == "month":
            if not MONTH.match(str(value).strip()):
                raise Refused("调查月份须为 YYYY-MM，收到 {value!r}", value=value)
            return str(value).strip()
        if field in RATES:
            return parse_rate(f"{field} ({RATES[field]})", value)
        if field == "sample":
            return parse_sample(value)
        if field == "note":
            return optional_text("survey note", value)
        return require_text(f"survey {field}", value)
