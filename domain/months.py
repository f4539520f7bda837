"""Months as the evaluation counts them: ``YYYY-MM`` text, checked, added, spanned."""

from __future__ import annotations

import re
from datetime import date

from domain.base import Refused, field_label

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
OPEN_END = "9999-12"  # the last month of a span that has not ended


def check_month(field_name: str, value: str) -> str:
    """A month as YYYY-MM."""
    if not isinstance(value, str) or not MONTH.match(value):
        raise Refused("{field}须为 YYYY-MM 格式的月份，收到 {value!r}", field=field_label(field_name),
                      value=value)
    return value


def month_add(month: str, months: int) -> str:
    """The month ``months`` after (or before, if negative) ``month``."""
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def last_day(month: str) -> date:
    return date.fromordinal(first_day(month_add(month, 1)).toordinal() - 1)


def months_between(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included."""
    found = []
    while first <= last:
        found.append(first)
        first = month_add(first, 1)
    return found
