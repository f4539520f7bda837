"""Working days (工作日): deadlines such as "7个工作日内整改到位", by the official calendar.

Weekends and public holidays do not count; the make-up working Saturdays and Sundays (调休)
do. The official arrangement — the State Council's yearly notice — comes from the
``chinesecalendar`` library (``chinese_calendar``), never from a list kept here; a campaign
records its own changes (a city's own day off, an extra working day) as events of the
campaign, which override the library for their day.

A deadline of N working days is the N-th working day after the day it counts from (the
assignment's, the notice's or the reopening's day in the campaign's time zone; for an
extension, the current deadline). The event stores the rule as given and the date it
resolved to, so a later library or a later local change never moves a recorded deadline.
A year the library does not know (the arrangement is published late in the year before) is
refused, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from typing import TYPE_CHECKING, Any

import chinese_calendar

from domain.base import Refused
from domain.registry import LOCAL_HOLIDAY, LOCAL_WORKDAY, Campaign
from i18n import N_

if TYPE_CHECKING:
    from ledger.unit_of_work import UnitOfWork

# "7工作日", "7个工作日", "7个工作日内", "7wd", "7 working days" (full-width digits too).
WORKING_DAYS = re.compile(r"^(\d{1,3})\s*(?:个\s*)?(?:工作日|wd|working\s*days?)\s*内?$",
                          re.IGNORECASE)


@dataclass(frozen=True)
class WorkingDays:
    """A deadline given as a number of working days, with the words it was given in."""

    count: int
    rule: str


def parse_working_days(text: str, field: str = "deadline") -> WorkingDays | None:
    """The working days ``text`` says (None if it is not of that form)."""
    rule = str(text).strip()
    match = WORKING_DAYS.match(unicodedata.normalize("NFKC", rule))
    if match is None:
        return None
    count = int(match[1])
    if count < 1:
        raise Refused("{field} 至少要有 1 个工作日，而不是 {value!r}", field=field, value=rule)
    return WorkingDays(count, rule)


def parse_deadline(text: str, field: str = "deadline") -> date | WorkingDays:
    """A deadline as a date (YYYY-MM-DD) or as working days."""
    working = parse_working_days(text, field)
    if working is not None:
        return working
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise Refused("{field} 必须是 YYYY-MM-DD，或工作日数：7工作日、7个工作日、7wd，而不是 {value!r}",
                      field=field, value=text) from None


def known_years() -> tuple[int, int]:
    """The first and last year whose arrangement the installed library holds."""
    return _known_years()


@lru_cache(maxsize=1)
def _known_years() -> tuple[int, int]:
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


@lru_cache(maxsize=8192)
def official(day: date) -> tuple[bool, str | None]:
    """Whether ``day`` is a working day by the State Council's arrangement, and the holiday
    it belongs to (a day off, or a make-up working day 调休), if any."""
    first, last = known_years()
    if not first <= day.year <= last:
        raise UnknownYear(day.year)
    is_off, name = chinese_calendar.get_holiday_detail(day)
    return not is_off, chinese_calendar.Holiday(name).chinese if name else None


class UnknownYear(Refused):
    """A day in a year whose official arrangement the library does not hold."""

    def __init__(self, year: int, about: str = "") -> None:
        first, last = known_years()
        self.year = year
        values = dict(about=about, year=year, version=chinese_calendar.__version__,
                      first=first, last=last)
        if year > last:
            super().__init__(N_("{about}{year} 年的法定节假日安排尚不知道（chinesecalendar "
                                "{version} 只知道 {first}–{last} 年）：请把期限写成日期"
                                "（YYYY-MM-DD），或在国务院公布 {year} 年安排后升级 "
                                "chinesecalendar"), **values)
        else:
            super().__init__(N_("{about}{year} 年的法定节假日安排尚不知道（chinesecalendar "
                                "{version} 只知道 {first}–{last} 年）：请把期限写成日期"
                                "（YYYY-MM-DD）"), **values)


class Calendar:
    """The official calendar with a campaign's own changes (day → holiday or workday)."""

    def __init__(self, local: Mapping[date, str] | None = None) -> None:
        self.local = dict(local or {})

    def is_workday(self, day: date) -> bool:
        kind = self.local.get(day)
        if kind is not None:
            return kind == LOCAL_WORKDAY
        return official(day)[0]

    def after(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start``."""
        day = start
        while count > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                count -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; negative, those after
        ``end`` up to and including ``start``, when ``end`` is earlier."""
        if end < start:
            return -self.between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1)
                   if self.is_workday(start + timedelta(days=n)))

    def resolve(self, deadline: date | WorkingDays, start: date,
                field: str = "deadline") -> tuple[date, str | None]:
        """A deadline as the date it falls on and the rule it was given as (None for a
        date). Working days count from the day after ``start``."""
        if not isinstance(deadline, WorkingDays):
            return deadline, None
        try:
            return self.after(start, deadline.count), deadline.rule
        except UnknownYear as e:
            raise UnknownYear(e.year, field + " " + deadline.rule + ": ") from None


class WorkingDayCommands:
    """The ledger's side of working days: the campaign's calendar, its local days, and
    deadlines resolved by it (mixed into :class:`ledger.app.Ledger`)."""

    campaign: Any
    actor: Any
    write: Any

    def work_calendar(self, campaign: Campaign | None = None) -> Calendar:
        """The official calendar with the campaign's own days, as recorded now."""
        return Calendar((campaign or self.campaign()).local_days)

    def resolve_deadline(self, deadline: date | WorkingDays | None, start: date,
                         campaign: Campaign | None = None) -> tuple[date | None, str | None]:
        """A deadline's date and rule; working days count from the day after ``start``."""
        if not isinstance(deadline, WorkingDays):
            return deadline, None
        return self.work_calendar(campaign).resolve(deadline, start)

    def add_local_day(self, *, actor_id: str | None, day: date, kind: str, reason: str,
                      occurred_at: Any = None) -> dict[str, Any]:
        """Record a local holiday or working day of the campaign."""
        try:
            official_workday: bool | None = official(day)[0]
        except UnknownYear:
            official_workday = None

        def add(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            campaign.add_local_day(day, kind, reason, official_workday=official_workday,
                                   actor=actor, occurred_at=work.moment(occurred_at)[0])
            work.save(campaign)
            return {"day": day.isoformat(), "kind": kind, "reason": reason.strip()}
        return self.write(add)

    def describe_calendar(self, year: int | None = None) -> list[dict[str, Any]]:
        """The campaign's local days (of ``year``, or all), each with what the official
        calendar says of it and the reason recorded, in date order."""
        reasons: dict[date, str] = {}
        for event in self.events.get(Campaign.ID):  # type: ignore[attr-defined]
            if isinstance(event, (Campaign.LocalHolidayAdded, Campaign.LocalWorkdayAdded)):
                reasons[event.day] = event.reason
        rows = []
        for day, kind in sorted(self.campaign().local_days.items()):
            if year is not None and day.year != year:
                continue
            try:
                workday, name = official(day)
                said = ("working day" if workday else "day off") + (f" ({name})" if name
                                                                    else "")
            except UnknownYear:
                said = "year not known"
            rows.append({"day": day.isoformat(), "weekday": day.strftime("%a"),
                         "local": kind, "official": said, "reason": reasons.get(day, "")})
        return rows
