"""What every ledger aggregate and event shares.

Every event says when it happened in the world (``occurred_at``, valid time), who did it
(``actor``) and in which role, and — for a proxy entry (代录) — who entered it on their behalf
(``entered_by``). When the ledger learned of it is not the domain's business: the store
records that beside the event.
"""

from __future__ import annotations

import re
from dataclasses import field
from datetime import date, datetime, tzinfo
from typing import Any

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)


class Label(str):
    """A value of a refusal that is itself a word to translate (a state, a source, a
    closure, a level): the message catalogue translates it with the message."""


class Said(Exception):
    """A refusal as words: a message in Chinese with ``{name}`` fields (the message
    catalogue's id, extracted from the raise site) and the values that fill them.

    ``str()`` is the Chinese text; the command line and the web translate ``template`` and
    the :class:`Label` values into the language in use (``i18n.refusal``). Written
    ``raise Refused("任务 {task} 已关闭", task=task_id)``, never an f-string, so that the
    catalogue can find the message.
    """

    def __init__(self, template: str, /, **values: Any) -> None:
        super().__init__(template.format(**values) if values else template)
        self.template = template
        self.values = values


class DomainError(Said):
    """A command that does not fit the ledger: refused, nothing is written."""


class NotFound(DomainError):
    """A command names a task, unit, person or event that the ledger does not know."""


class Refused(DomainError):
    """A command that the current state, the actor's role or the data does not allow."""


class LedgerEvent(CanMutateAggregate[str], metaclass=MetaDomainEvent):
    """Base of every event: valid time, actor and role; and who entered it, when that was
    someone else than the actor (a proxy entry; None when the actor entered it)."""

    originator_id: str
    originator_version: int
    timestamp: datetime
    occurred_at: datetime
    actor: str
    role: str
    entered_by: str | None = field(default=None, kw_only=True)

    def mutate(self, aggregate: Any) -> Any:
        aggregate = super().mutate(aggregate)
        aggregate._record(self)
        return aggregate


class LedgerCreated(LedgerEvent, CanInitAggregate[str]):
    originator_topic: str


class LedgerAggregate(BaseAggregate[str]):
    """An aggregate with a human-readable string id (``T-000123``, ``unit:JS01`` …)."""

    Event = LedgerEvent
    Created = LedgerCreated

    def _record(self, event: LedgerEvent) -> None:
        """Called after each event is applied (a record that can be corrected keeps its
        events' log here: see :mod:`domain.corrections`)."""

    def _stamp(self, event_class: type[LedgerEvent], actor: Actor, occurred_at: datetime,
               **kwargs: Any) -> None:
        self.trigger_event(event_class, occurred_at=occurred_at, **actor.stamp(), **kwargs)


class Actor:
    """Who is acting and in which capacity; built by the application from a Person.

    ``entered_by`` names the person who enters the actor's events on their behalf (a proxy
    entry, 代录), or is None when the actor enters them."""

    __slots__ = ("id", "role", "unit", "entered_by")

    def __init__(self, id: str, role: str, unit: str | None = None,  # noqa: A002
                 entered_by: str | None = None) -> None:
        self.id = id
        self.role = role
        self.unit = unit
        self.entered_by = entered_by

    def stamp(self) -> dict[str, Any]:
        """What every event of this actor records about who acted and who entered it."""
        return {"actor": self.id, "role": self.role, "entered_by": self.entered_by}

    def __repr__(self) -> str:
        return f"Actor({self.id!r}, {self.role!r}, {self.unit!r}, {self.entered_by!r})"


# Limits on what people enter (README, "Limits on input"). Names, places, categories and
# numbers are one line of at most SHORT_TEXT characters; descriptions, reasons and notes at
# most LONG_TEXT, and may hold line breaks and tabs. No other control character is taken
# (a bare CR or BEL breaks the CSV files and terminals the ledger's text goes to).
SHORT_TEXT = 200
LONG_TEXT = 2000
LONG_FIELDS = frozenset({"description", "reason", "note", "requirements",
                         "rectification description", "re-inspection note",
                         "reason for failing", "evidence description"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_LONG = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Valid times and deadlines lie between these days.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def N_(message: str) -> str:
    """Marks a word for the message catalogue (the domain may not import i18n)."""
    return message


# The fields people enter, as a refusal names them: the code's name, and the word (Chinese,
# the catalogue's id, quoted 「」 as a field's name is in a sentence) that the message shows.
FIELD_WORDS = {
    "reason": N_("「理由」"), "note": N_("「备注」"), "deadline": N_("「整改期限」"),
    "unit name": N_("「单位名称」"), "person name": N_("「人员姓名」"),
    "rectification description": N_("「整改情况说明」"), "category": N_("「管理类别」"),
    "occurred_at": N_("「发生时间」"), "corrected occurred_at": N_("「更正后的发生时间」"),
    "deadline rule": N_("「期限规则」"), "reason for failing": N_("「复查不通过的理由」"),
    "re-inspection note": N_("「复查备注」"), "requirements": N_("「整改要求」"),
    "notice number": N_("「整改通知书编号」"), "location": N_("「地点」"),
    "description": N_("「问题描述」"), "title": N_("「标题」"), "campaign name": N_("「创建活动名称」"),
    "account": N_("「账号」"), "evidence file": N_("「证据文件」"),
    "evidence description": N_("「证据说明」"), "due date": N_("「到期日」"),
    "survey source": N_("「调查来源」"), "survey note": N_("「调查备注」"),
    "survey method": N_("「调查方式」"), "status": N_("「状态」"), "status_date": N_("「状态日期」"),
    "closed": N_("「销号」"), "rectification": N_("「整改」"), "reinspection": N_("「复查」"),
    "id": N_("「编号」"), "file": N_("「文件」"), "latitude": N_("「纬度」"),
    "longitude": N_("「经度」"), "month": N_("「月份」"), "from month": N_("「起始月份」"),
    "unit code": N_("「单位代码」"), "person id": N_("「人员编号」"),
    "target": N_("「目标值」"), "progress value": N_("「进展数值」"),
}


def field_label(field: str) -> Label:
    """A field's name as a refusal shows it (translated with the message)."""
    return Label(FIELD_WORDS.get(field, field))


def check_text(field: str, value: str) -> str:
    """Refuse text past its field's length, or holding a control character (naming the
    field, and the limit or the character's position, counted from 1)."""
    long = field in LONG_FIELDS
    limit = LONG_TEXT if long else SHORT_TEXT
    if len(value) > limit:
        raise Refused("{field}长 {length:,} 个字符，最多接受 {limit:,} 个",
                      field=field_label(field), length=len(value), limit=limit)
    found = (_CONTROL_IN_LONG if long else _CONTROL).search(value)
    if found:
        raise Refused("{field}第 {position} 个字符是控制字符（U+{code:04X}），不能接受",
                      field=field_label(field), code=ord(found.group()),
                      position=found.start() + 1)
    return value


def require_text(field: str, value: str | None) -> str:
    """Refuse an empty required field, naming it; and text past the limits above."""
    if value is None or not str(value).strip():
        raise Refused("{field}不能为空（收到 {value!r}）", field=field_label(field), value=value)
    return check_text(field, str(value).strip())


def optional_text(field: str, value: str | None) -> str:
    """An optional text field (empty is fine), within the limits above."""
    return check_text(field, (value or "").strip())


def check_day(field: str, value: date) -> date:
    """Refuse a day before 1900 or after 2099 (a typed year 99, a year 9999)."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise Refused("{field}为 {day}，超出台账接受的日期范围（{earliest} 至 {latest}）",
                      field=field_label(field), day=day.isoformat(),
                      earliest=EARLIEST_DAY.isoformat(), latest=LATEST_DAY.isoformat())
    return value


def require_aware(field: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise Refused("{field}须带时区（收到 {value}）", field=field_label(field),
                      value=value.isoformat())
    return value


def check_moment(occurred_at: datetime, now: datetime) -> None:
    """An event's valid time must carry a zone and not lie in the future."""
    require_aware("occurred_at", occurred_at)
    if occurred_at > now:
        raise Refused("发生时间 {moment} 晚于现在，不能登记未来的事", moment=occurred_at.isoformat())
    check_day("occurred_at", occurred_at)


def localized(moment: datetime, zone: tzinfo) -> datetime:
    """A moment given without an offset happened in ``zone`` (the campaign's time zone);
    one given with an offset stays as it is."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The calendar date of a moment in the campaign's time zone."""
    return moment.astimezone(zone).date()
