"""The facts the projections fold: stored events as plain data, each with the domain's
class of its kind; and the context every fold may know besides (the campaign's zone).

The fold sees plain data (the event's JSON with the library's type wrappers unwrapped), so
catching up costs little more than reading the log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from typing import Any

import orjson

from domain.base import LedgerEvent
from domain.kinds import by_kind
from ledger.chain import Record, Tampered

Key = tuple[Any, ...]


@dataclass(slots=True)
class Fact:
    """One stored event as the projections see it; no fold changes it. (Not a frozen
    dataclass: a frozen one's construction costs four times as much, and a rebuild makes
    one per event.)"""

    position: int
    originator_id: str
    version: int
    kind: str  # "Task.Assigned", "Unit.Renamed", …: the event class's name
    data: dict[str, Any]
    recorded_at: str
    account: str
    # The event's class, as the domain declares it (``domain/kinds.py``); the projections
    # dispatch on it. None for a kind the domain does not declare.
    event: type[LedgerEvent] | None = None

    @property
    def occurred_at(self) -> str:
        return self.data["occurred_at"]


# Per stored topic: its kind and the domain's class of that kind.
_KINDS: dict[str, tuple[str, type[LedgerEvent] | None]] = {}
# orjson reads an integer beyond 64 bits as a float, where json keeps it exact: text with
# a run of 19 digits or more is left to json (found by turning every digit into a 0).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def loads(text: bytes | str) -> Any:
    """``json.loads``, three times faster: orjson where it gives the same values, json for
    what orjson reads otherwise (integers beyond 64 bits) or refuses (NaN, lone
    surrogates, encodings other than UTF-8)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def decode(record: Record) -> Fact:
    """A stored event as plain data: ``{"_type_": …, "_data_": v}`` becomes ``v``. One
    that is not what the ledger writes (changed in the database) is refused."""
    state = record.state
    try:
        # :func:`loads`, its common case said here: a rebuild decodes every event.
        if state.__class__ is bytes and _LONG_NUMBER not in state.translate(_DIGITS_AS_ZERO):
            try:
                data = orjson.loads(state)
            except orjson.JSONDecodeError:
                data = json.loads(state)
        else:
            data = loads(state)
        for name, value in data.items():
            if value.__class__ is dict and "_type_" in value:
                data[name] = value["_data_"]
    except (ValueError, TypeError, AttributeError, KeyError):
        raise Tampered("位置 {position} 上存储的事件无法读取", position=record.position) from None
    known = _KINDS.get(record.topic)
    if known is None:
        kind = record.topic.rsplit(":", 1)[-1]
        known = _KINDS[record.topic] = (kind, by_kind().get(kind))
    return Fact(record.position, record.originator_id, record.originator_version, known[0],
                data, record.recorded_at, record.account, known[1])


class Context:
    """What every fold may know besides the fact: the campaign's time zone."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        # Events of one command, and of one write, share their moments: each is parsed
        # and converted once.
        self.moment = lru_cache(maxsize=16384)(self._moment)
        self.local = lru_cache(maxsize=16384)(self._local)

    def month(self, iso: str) -> str:
        """The calendar month of a moment in the campaign's zone (YYYY-MM)."""
        return self.moment(iso)[1][:7]

    def local_date(self, iso: str) -> str:
        """The calendar date of a moment in the campaign's zone (YYYY-MM-DD)."""
        return self.moment(iso)[1]

    def day_number(self, iso: str) -> int:
        """The local calendar day of a moment as a number (days apart = difference)."""
        return self.moment(iso)[2]

    def utc(self, iso: str) -> str:
        """A moment as the store stamps transaction time (UTC text: text order is time
        order)."""
        return self.moment(iso)[0]

    def _local(self, iso: str) -> datetime:
        return datetime.fromisoformat(iso).astimezone(self.zone)

    def _moment(self, iso: str) -> tuple[str, str, int]:
        moment = datetime.fromisoformat(iso)
        day = moment.astimezone(self.zone).date()
        return utc_stamp(moment), day.isoformat(), day.toordinal()


def utc_stamp(moment: datetime) -> str:
    """``ledger.chain.stamp``, twice as fast: ``isoformat`` without ``timespec`` (whose
    keyword costs more than the formatting), the microseconds added when it leaves them
    out (when they are 0)."""
    utc = moment.astimezone(timezone.utc)
    text = utc.isoformat()
    return text if utc.microsecond else text[:19] + ".000000" + text[19:]
