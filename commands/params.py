"""Parameter types shared by the commands: dates, moments, months and evidence."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

import click

from domain.base import Refused
from ledger.workdays import FORMS, WorkingDays, parse_deadline


class DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


class DeadlineType(click.ParamType):
    """A deadline: a date, or working days (7工作日, 7个工作日, 7wd) that the ledger resolves
    to a date by the holiday calendar."""

    name = "DATE|N工作日"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date | WorkingDays:
        if isinstance(value, (date, WorkingDays)):
            return value
        try:
            return parse_deadline(str(value))
        except Refused as e:
            self.fail(str(e).removeprefix("deadline "), param, ctx)


class MomentType(click.ParamType):
    """A moment: a date, a date and time, or ISO 8601 with an offset. Without an offset it
    is read in the campaign's time zone (see :func:`localize`)."""

    name = "DATE[ TIME]"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is not a date or date-time (YYYY-MM-DD[ HH:MM[:SS]])",
                      param, ctx)


class MonthType(click.ParamType):
    name = "YYYY-MM"
    PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        text = str(value).strip()
        if not self.PATTERN.match(text):
            self.fail(f"{value!r} is not a month (YYYY-MM)", param, ctx)
        return text


DATE = DateType()
DEADLINE = DeadlineType()
MOMENT = MomentType()
MONTH = MonthType()


def localize(moment: datetime | None, zone: tzinfo) -> datetime | None:
    """A moment given without an offset happened in the campaign's time zone."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone)


def evidence(values: tuple[str, ...]) -> list[dict[str, str]]:
    """``FILE[:DESCRIPTION]`` references; a file that exists here is hashed (sha256)."""
    items = []
    for value in values:
        name, _, description = value.partition(":")
        path = Path(name)
        digest = ""
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        items.append({"file": name, "sha256": digest, "description": description})
    return items


def evidence_option(help_text: str = "Evidence FILE[:DESCRIPTION]; a local file is hashed. "
                    "Repeatable.") -> Any:
    return click.option("--evidence", "evidence_refs", multiple=True, metavar="FILE[:DESC]",
                        help=help_text)


def at_option() -> Any:
    return click.option("--at", "occurred_at", type=MOMENT, default=None,
                        help="When it happened (valid time); default now. Without an "
                        "offset, in the campaign's time zone.")
