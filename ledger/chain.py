"""The audit chain: each stored event's hash covers the previous hash and this event.

The encoding is fixed here, once, so that the recorders that write the chain and the
auditors' verification compute exactly the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from collections.abc import Iterable
from typing import Any, NamedTuple

from domain.base import DomainError, Label, Said
from i18n import N_

GENESIS = "0" * 64
# JSON's own string escaping (what json.dumps uses with ensure_ascii=False).
_string = json.encoder.encode_basestring


class Record(NamedTuple):
    """One stored event as the ledger holds it: position, event, and the store's stamp."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    recorded_at: str
    account: str
    hash: str


# A stored value of the wrong type is read into a Record with this in place of its hash
# (which no link can equal): verification then reports the position as changed, saying why.
ODD = "!"
_TYPES = ((int, "position"), (str, "originator_id"), (int, "originator_version"),
          (str, "topic"), (bytes, "state"), (str, "recorded_at"), (str, "account"),
          (str, "hash"))
_TYPE_NAMES = {int: "an integer", str: "text", bytes: "bytes"}
_KINDS = tuple(kind for kind, _ in _TYPES)


class Tampered(DomainError):
    """What the ledger holds is not what it wrote: a figure must not be computed from it."""

    def __init__(self, template: str, /, **values: Any) -> None:
        super().__init__(N_("{problem}：请运行 `taizhang audit verify`"),
                         problem=Said(template, **values))


def stored_record(*row: Any) -> Record:
    """A stored event's columns as a Record, each checked to be of its type. A value that
    is not (a NULL, text where bytes belong: what SQLite's ``replace()`` makes of a blob)
    gives a Record whose hash says what is wrong, so it never fits the chain."""
    if tuple(map(type, row)) == _KINDS:
        return Record(*row)
    odd = next(f"its {name} is {described_type(value)}, not {_TYPE_NAMES[kind]}"
               for value, (kind, name) in zip(row, _TYPES, strict=True)
               if type(value) is not kind)
    position = row[0] if type(row[0]) is int else -1
    return Record(position, *(value if type(value) is kind else kind()
                              for value, (kind, _) in zip(row[1:-1], _TYPES[1:-1],
                                                           strict=True)), ODD + odd)


def stored_records(rows: Iterable[tuple[Any, ...]]) -> list[Record]:
    """:func:`stored_record` of each row (a rebuild reads every stored event: the check of
    the types is one comparison a row)."""
    kinds, make = _KINDS, Record._make
    return [make(row) if tuple(map(type, row)) == kinds else stored_record(*row)
            for row in rows]


def described_type(value: Any) -> str:
    return "NULL" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)


def odd_detail(record: Record) -> str | None:
    """What is wrong with the types of a record read by :func:`stored_record` (or None)."""
    return record.hash[len(ODD):] if record.hash.startswith(ODD) else None


def canonical(position: int, originator_id: str, originator_version: int, topic: str,
              state: bytes, recorded_at: str, account: str) -> bytes:
    """The canonical bytes of one stored event (the state enters by its SHA-256): the
    compact JSON array ``[position, originator_id, originator_version, topic, state_sha256,
    recorded_at, account]``, UTF-8 — spelled out by hand, which is three times faster than
    the json module and gives the same bytes."""
    return (f"[{int(position)}{event_part(originator_id, originator_version, topic, state)}"
            f"{_string(recorded_at)},{_string(account)}]").encode("utf-8")


def event_part(originator_id: str, originator_version: int, topic: str, state: bytes) -> str:
    """The middle of the canonical text, which the event alone decides:
    ``,originator_id,originator_version,topic,state_sha256,`` (a store that stamps events
    itself puts the position before it and the transaction time and account after it)."""
    return (f",{_string(originator_id)},{int(originator_version)},{_string(topic)},"
            f"\"{hashlib.sha256(state).hexdigest()}\",")


def link(previous: str, position: int, originator_id: str, originator_version: int,
         topic: str, state: bytes, recorded_at: str, account: str) -> str:
    """The hash of one event, chained to the previous event's hash."""
    return hashlib.sha256(
        previous.encode("ascii") + b"\n"
        + canonical(position, originator_id, originator_version, topic, state,
                    recorded_at, account)
    ).hexdigest()


def extend(previous: str, position: int,
           events: Iterable[tuple[str, int, str, bytes]], recorded_at: str,
           account: str) -> list[str]:
    """The hashes of events appended after ``previous`` (the hash at ``position``), all
    with one transaction time and account: :func:`link` for each, with what the events
    share encoded once (a bulk write chains thousands of events at a time)."""
    return [row[-1] for row in chained_rows(previous, position, events, recorded_at,
                                            account)]


def chained_rows(previous: str, position: int,
                 events: Iterable[tuple[str, int, str, bytes]], recorded_at: str,
                 account: str) -> list[tuple[int, str, int, str, bytes, str, str, str]]:
    """The stored rows of events appended after ``previous`` (the hash at ``position``):
    ``(position, originator_id, originator_version, topic, state, recorded_at, account,
    hash)``, each hash the event's :func:`link` (what :func:`extend` gives), in one pass."""
    tail = f"{_string(recorded_at)},{_string(account)}]"
    topics: dict[str, str] = {}
    sha256, string = hashlib.sha256, _string
    rows = []
    append = rows.append
    for originator_id, originator_version, topic, state in events:
        position += 1
        originator_id = str(originator_id)
        quoted = topics.get(topic)
        if quoted is None:
            quoted = topics[topic] = string(topic)
        previous = sha256(
            f"{previous}\n[{position},{string(originator_id)},{int(originator_version)},"
            f"{quoted},\"{sha256(state).hexdigest()}\",{tail}".encode()).hexdigest()
        append((position, originator_id, originator_version, topic, state, recorded_at,
                account, previous))
    return rows


def fits(record: Record, position: int, previous: str) -> bool:
    """Whether ``record``'s stored hash is its link at ``position`` after ``previous``."""
    return link(previous, position, record.originator_id, record.originator_version,
                record.topic, record.state, record.recorded_at, record.account) == record.hash


# What happened at a break, as a person reads it (``ChainBroken.kind`` stays the key).
BREAKS = {"changed": N_("被改动"), "missing": N_("缺失"), "inserted": N_("被插入"),
          "out of order": N_("顺序错乱")}


class ChainBroken(Said):
    """Stored or imported events that do not form an unbroken chain.

    ``kind`` is one of ``changed``, ``missing``, ``inserted``, ``out of order``; ``position``
    is the first position where the chain is broken; ``said`` what is wrong there, in
    words (``detail`` says it in the language in use)."""

    def __init__(self, position: int, kind: str, said: Said) -> None:
        super().__init__(N_("位置 {position}：{kind}：{detail}"), position=position,
                         kind=Label(BREAKS.get(kind, kind)), detail=said)
        self.position = position
        self.kind = kind
        self.said = said

    @property
    def detail(self) -> str:
        from i18n import refusal

        return refusal(self.said)


def check_next(record: Record, position: int, previous: str, last_time: str) -> None:
    """Refuse ``record`` unless it is the chain's next event after ``previous``, at
    ``position`` and not recorded before ``last_time`` (the import path's check)."""
    if record.position != position:
        kind = "missing" if record.position > position else "out of order"
        raise ChainBroken(position, kind, Said("应为位置 {position}，实为 {found}",
                                               position=position, found=record.position))
    if record.recorded_at != canonical_time(record.recorded_at):
        raise ChainBroken(position, "changed", Said(
            "recorded_at {recorded_at!r} 不是存储写入的事务时间",
            recorded_at=record.recorded_at))
    if record.recorded_at < last_time:
        raise ChainBroken(position, "out of order", Said(
            "recorded_at {recorded_at} 早于上一事件的 {last}",
            recorded_at=record.recorded_at, last=last_time))
    if not fits(record, position, previous):
        raise ChainBroken(position, "changed", Said(
            "该事件与其哈希不符（或不接续前一事件）"))


def canonical_time(text: str) -> str:
    """A transaction time in its stored form, or '' if ``text`` is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return ""
    return stamp(moment) if moment.tzinfo is not None else ""


def stamp(moment: datetime) -> str:
    """Transaction time as stored: UTC, microseconds, so that text order is time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
