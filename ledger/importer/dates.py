"""Dates as a mapping writes them: strptime, made faster for numeric formats."""

from __future__ import annotations

import _strptime
import re
from collections.abc import Callable
from datetime import datetime

# Formats of numbers only (and AM/PM) are read here with strptime's own pattern, without
# strptime's per-call locale checks and general assembly (nine tenths of its time); any
# other format, and any text the pattern refuses, goes to strptime itself.
_QUICK_DIRECTIVES = frozenset("YymdHIMSp")
_PARSERS: dict[str, Callable[[str], datetime]] = {}


def strptime(text: str, fmt: str) -> datetime:
    """``datetime.strptime(text, fmt)``, faster for the common formats."""
    parser = _PARSERS.get(fmt)
    if parser is None:
        parser = _PARSERS[fmt] = _quick_parser(fmt) or (
            lambda text: datetime.strptime(text, fmt))
    return parser(text)


def _quick_parser(fmt: str) -> Callable[[str], datetime] | None:
    """A reader of ``fmt`` that gives what strptime gives, if ``fmt`` has only numeric
    directives (with a year, month and day, and AM/PM only with a 12-hour hour)."""
    directives = re.findall(r"%(.)", fmt)
    found = set(directives)
    if (not found <= _QUICK_DIRECTIVES or len(found) != len(directives)
            or not ({"Y", "y"} & found and {"m", "d"} <= found) or {"Y", "y"} <= found
            or {"H", "I"} <= found or ("p" in found and "I" not in found)):
        return None
    try:
        # The locale's AM/PM are those strptime reads now; the ledger never changes locale.
        pattern = re.compile(_strptime._TimeRE_cache.pattern(fmt), re.IGNORECASE)
        am, pm = _strptime._TimeRE_cache.locale_time.am_pm
    except Exception:  # a future Python's strptime, made otherwise
        return None

    def parse(text: str) -> datetime:
        match = pattern.match(text)
        if match is None or match.end() != len(text):
            return datetime.strptime(text, fmt)  # refused as strptime refuses it
        value = match.groupdict()
        if "Y" in value:
            year = int(value["Y"])
        else:
            year = int(value["y"])
            year += 2000 if year <= 68 else 1900
        if "I" in value:
            hour = int(value["I"])
            ampm = value.get("p", "").lower()
            if ampm in ("", am):
                if hour == 12:
                    hour = 0
            elif ampm == pm and hour != 12:
                hour += 12
        else:
            hour = int(value.get("H", 0))
        try:
            return datetime(year, int(value["m"]), int(value["d"]), hour,
                            int(value.get("M", 0)), int(value.get("S", 0)))
        except ValueError:
            return datetime.strptime(text, fmt)
    return parse
