"""The one place that localises times for output: the README's time policy.

- For people (tables, messages, Markdown, HTML, Word): the campaign's time zone, to the
  minute (``2024-05-03 10:00``); a recorded time may be shown to the second.
- For machines (json, jsonl, csv, xlsx cells as text): ISO 8601 with the offset, in the
  campaign's time zone, to the second (``2024-05-03T10:00:00+08:00``), the same everywhere;
  a transaction time (``recorded_at``) to the microsecond, always six digits, so that it
  can be given back to ``--as-of`` exactly.
- Dates are local dates in the campaign's time zone (``2024-05-03``); a date given as a date
  is shown as it is.

The store keeps moments in UTC (text order is time order); nothing here changes what is
stored, only how it is shown."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

# The formats read by people; every other (json, jsonl, csv, xlsx) is read by machines.
FOR_PEOPLE = frozenset({"table", "md", "html", "docx", "text"})


def _moment(value: str | datetime, zone: tzinfo) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:  # a naive moment is already in the campaign's zone
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def _is_date(value: Any) -> bool:
    return (isinstance(value, date) and not isinstance(value, datetime)) or (
        isinstance(value, str) and len(value) == 10)


def for_people(value: str | datetime | date | None, zone: tzinfo,
               seconds: bool = False) -> str:
    """A moment in the campaign's zone, to the minute (or second); a date as it is."""
    if value is None or value == "":
        return ""
    if _is_date(value):
        return str(value)
    return _moment(value, zone).strftime("%Y-%m-%d %H:%M:%S" if seconds
                                         else "%Y-%m-%d %H:%M")


def for_machines(value: str | datetime | date | None, zone: tzinfo,
                 exact: bool = False) -> str | None:
    """A moment as ISO 8601 with the campaign's offset, to the second (``exact``: to the
    microsecond); a date as it is."""
    if value is None or value == "":
        return None
    if _is_date(value):
        return str(value)
    return _moment(value, zone).isoformat(timespec="microseconds" if exact else "seconds")


def local_date(value: str | datetime, zone: tzinfo) -> str:
    """The calendar date of a moment in the campaign's zone (YYYY-MM-DD)."""
    if _is_date(value):
        return str(value)
    return _moment(value, zone).date().isoformat()


def local_moment(value: str | datetime, zone: tzinfo) -> datetime:
    """A moment as a datetime in the campaign's zone."""
    return _moment(value, zone)


def shown(value: str | datetime | date | None, zone: tzinfo, fmt: str,
          seconds: bool = False) -> str | None:
    """A moment as the output format ``fmt`` shows it: for people or for machines."""
    if fmt in FOR_PEOPLE:
        return for_people(value, zone, seconds)
    return for_machines(value, zone, exact=seconds)


def localise_rows(rows: list[dict[str, Any]], keys: tuple[str, ...], zone: tzinfo,
                  fmt: str, seconds: bool = False) -> list[dict[str, Any]]:
    """Rows with the moments under ``keys`` shown as ``fmt`` shows them (new dicts);
    ``seconds``: transaction times (to the second for people, exactly for machines)."""
    return [{**row, **{k: shown(row.get(k), zone, fmt, seconds) for k in keys if k in row}}
            for row in rows]
