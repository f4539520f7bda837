"""Corrections and withdrawals: one mechanism for every record that people enter.

A record is never edited. A **correction** is a new event of the record that names the
event it corrects (its number in the record, as ``history`` shows it), the fields it
changes with their values before and after, and why. A **withdrawal** is a new event saying
that the whole record should not count at all (a survey or an inspection entered twice),
and why. The original events stay as they were; the read side shows them against their
corrections, and computes every figure from the facts as corrected ("as known now").

A record opts in by mixing :class:`Correctable` into its aggregate and declaring, once:

- ``CORRECTABLE``: per event name, the fields a correction may change (``occurred_at``,
  when it happened, always may);
- ``CORRECT_ACTION`` and ``WITHDRAW_ACTION``: the keys of the permission table
  (``domain/roles.py``) that allow it (no ``WITHDRAW_ACTION``: it cannot be withdrawn,
  and ``WITHDRAW_INSTEAD`` says what to do instead);
- ``_check_field``: how a new value of one of its fields is checked (and normalized).

The mixin gives it the ``Corrected`` and ``Withdrawn`` events (the library redefines them
per aggregate, so they are ``Survey.Corrected``, ``Unit.Corrected`` …), the ``correct``
and ``withdraw`` methods with the checks every record shares, and the log of its events
(name, valid time, author) that those checks read.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, ClassVar

from domain.base import (
    N_,
    Actor,
    Label,
    LedgerEvent,
    Refused,
    check_day,
    check_moment,
    field_label,
    require_aware,
    require_text,
)
from domain.kinds import kind_name
from domain.roles import ADMIN, authorize

OWN_EVENTS = ("Corrected", "Withdrawn")


class Correction(LedgerEvent):
    """Event ``corrects`` (its name ``corrects_event``) is corrected: ``changes`` gives the
    fields' new values, ``previous`` what they were (both as plain data: ISO text for times
    and dates), ``current`` the fields whose value the record holds now (a field a later
    event set again keeps that event's value)."""

    corrects: int
    reason: str
    changes: dict[str, Any]
    corrects_event: str
    previous: dict[str, Any]
    current: list[str]

    def apply(self, record: Any) -> None:
        record._apply_correction(self.corrects, self.changes, self.occurred_at)


class Withdrawal(LedgerEvent):
    """The record should not count at all; it stays in the ledger, withdrawn."""

    reason: str

    def apply(self, record: Any) -> None:
        record.withdrawn = self.originator_version
        if hasattr(record, "last_occurred_at"):
            record.last_occurred_at = self.occurred_at


def plain(value: Any) -> Any:
    """A field's value as a correction records it (dates and times as ISO text)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def parse_moment(field: str, value: Any) -> datetime:
    try:
        return require_aware(field, datetime.fromisoformat(str(value)))
    except ValueError:
        raise Refused("{field}须为 ISO 格式的日期时间，收到 {value!r}", field=field_label(field),
                      value=value) from None


def parse_date(field: str, value: Any) -> date:
    try:
        return check_day(field, date.fromisoformat(str(value)))
    except ValueError:
        raise Refused("{field}须为 YYYY-MM-DD 格式的日期，收到 {value!r}", field=field_label(field),
                      value=value) from None


class Correctable:
    """Mixin for a :class:`~domain.base.LedgerAggregate` whose events can be corrected and,
    if it declares a ``WITHDRAW_ACTION``, withdrawn."""

    # What refusals call the record (Chinese, the catalogue's id; in English its kind).
    LABEL: ClassVar[str] = N_("记录")
    CORRECTABLE: ClassVar[dict[str, tuple[str, ...]]] = {}
    CORRECT_ACTION: ClassVar[str] = "correct"
    WITHDRAW_ACTION: ClassVar[str | None] = None
    WITHDRAW_INSTEAD: ClassVar[str] = ""
    # Fields the record holds as dates (a correction gives them as ISO text).
    DATES: ClassVar[frozenset[str]] = frozenset()

    log: list[list[Any]]  # per event: [name, occurred_at, actor]
    values: dict[int, dict[str, Any]]  # per event: its correctable fields, as corrected
    set_by: dict[str, int]  # per field: the latest event that set it
    withdrawn: int | None  # the withdrawal's event number

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Before the library's own __init_subclass__, which redefines every event class
        # named in the class body as a subclass of this aggregate's base event.
        if "Corrected" not in cls.__dict__:
            cls.Corrected = Correction  # type: ignore[attr-defined]
        if cls.WITHDRAW_ACTION and "Withdrawn" not in cls.__dict__:
            cls.Withdrawn = Withdrawal  # type: ignore[attr-defined]
        super().__init_subclass__(**kwargs)

    # --- the log ---------------------------------------------------------------------------

    def _record(self, event: LedgerEvent) -> None:
        version = event.originator_version
        if version == 1:
            self.log, self.values, self.set_by, self.withdrawn = [], {}, {}, None
        name = type(event).__name__
        self.log.append([name, event.occurred_at, event.actor])
        fields = self.CORRECTABLE.get(name)
        if fields:
            kept = {}
            for field in fields:
                value = getattr(event, field, None)
                kept[field] = plain(value)
                if value is not None:
                    self.set_by[field] = version
            self.values[version] = kept

    def _apply_correction(self, version: int, changes: dict[str, Any],
                          occurred_at: datetime) -> None:
        if hasattr(self, "last_occurred_at"):
            self.last_occurred_at = occurred_at
        for field, value in changes.items():
            if field == "occurred_at":
                self.log[version - 1][1] = datetime.fromisoformat(value)
                continue
            self.values.setdefault(version, {})[field] = value
            if self.set_by.get(field) == version:
                self._correct_state(field, value)

    def _correct_state(self, field: str, value: Any) -> None:
        """Set the state a corrected field holds (only when the corrected event is the
        latest that set it: a later event's value stands)."""
        setattr(self, field, date.fromisoformat(value) if field in self.DATES and value
                else value)

    # --- the commands ----------------------------------------------------------------------

    def correct(self, *, corrects: int, changes: dict[str, Any], reason: str, actor: Actor,
                occurred_at: datetime, now: datetime, zone: tzinfo,
                **context: Any) -> None:
        """Record a correction of event ``corrects``; the original stays as it was.

        ``changes`` maps field names to new values (ISO text for times and dates). The
        author of the event or an administrator may correct it, if the permission table
        lets their role do ``CORRECT_ACTION``. ``context`` is what the record's own checks
        need from elsewhere (units, people, categories)."""
        authorize(actor, self.CORRECT_ACTION, self._concerns())
        self._check_when(occurred_at, now)
        self._check_not_withdrawn()
        reason = require_text("reason", reason)
        said = self._said()
        if not 1 <= corrects <= len(self.log):
            raise Refused("{kind}{name} 没有第 {event} 个事件（共 {count} 个）", **said,
                          event=corrects, count=len(self.log))
        name, _, author = self.log[corrects - 1]
        if name == "Corrected":
            raise Refused("{kind}{name} 的第 {event} 个事件本身就是一次更正；请更正原来的事件",
                          **said, event=corrects)
        if name in OWN_EVENTS:
            raise Refused("{kind}{name} 的第 {event} 个事件本身就是一次撤回；请更正原来的事件",
                          **said, event=corrects)
        if actor.id != author and actor.role != ADMIN:
            raise Refused("{kind}{name} 的第 {event} 个事件由 {author} 登记；只有登记人或管理员可以更正，"
                          "{actor} 不能", **said, event=corrects, author=author, actor=actor.id)
        if not changes:
            raise Refused("更正须至少改动一个字段")
        allowed = ("occurred_at", *self.CORRECTABLE.get(name, ()))
        checked: dict[str, Any] = {}
        previous: dict[str, Any] = {}
        for field, value in changes.items():
            if field not in allowed:
                raise Refused("第 {event} 个事件（{name}）的字段 {field!r} 不能更正（可更正：{allowed}）",
                              field=field, event=corrects, name=self._kind(name),
                              allowed=", ".join(allowed))
            if field == "occurred_at":
                new = self._check_occurred_at(corrects, value, occurred_at, zone)
            else:
                new = self._check_field(corrects, name, field, value, zone=zone,
                                        corrected_at=occurred_at, **context)
            old = self._value(corrects, field)
            if new == old or (field == "occurred_at"
                              and datetime.fromisoformat(new) == datetime.fromisoformat(old)):
                raise Refused("第 {event} 个事件（{name}）的 {field} 已是 {old!r}：无需更正",
                              field=field, event=corrects, name=self._kind(name), old=old)
            checked[field], previous[field] = new, old
        self._check_corrected(corrects, name, checked, zone=zone, **context)
        current = [f for f in checked if f != "occurred_at" and self.set_by.get(f) == corrects]
        self._stamp(self.Corrected, actor, occurred_at,  # type: ignore[attr-defined]
                    corrects=corrects, corrects_event=name, reason=reason, changes=checked,
                    previous=previous, current=current)

    def withdraw(self, *, reason: str, actor: Actor, occurred_at: datetime,
                 now: datetime) -> None:
        """Withdraw the whole record: it should not count at all (entered twice, or in
        error). Its author or an administrator, if the permission table allows."""
        if self.WITHDRAW_ACTION is None:
            raise Refused("{kind}{name} 不能撤回：{instead}", **self._said(),
                          instead=Label(self.WITHDRAW_INSTEAD))
        authorize(actor, self.WITHDRAW_ACTION, self._concerns())
        self._check_when(occurred_at, now)
        self._check_not_withdrawn()
        author = self.log[0][2]
        if actor.id != author and actor.role != ADMIN:
            raise Refused("{kind}{name} 由 {author} 登记；只有登记人或管理员可以撤回，{actor} 不能",
                          **self._said(), author=author, actor=actor.id)
        reason = require_text("reason", reason)
        self._stamp(self.Withdrawn, actor, occurred_at,  # type: ignore[attr-defined]
                    reason=reason)

    # --- what a record may refine ------------------------------------------------------------

    def _name(self) -> str:
        return self.id.split(":", 1)[-1]  # type: ignore[attr-defined]

    def _said(self) -> dict[str, Any]:
        """How refusals name the record: its kind (a word to translate) and its name after
        a space (``survey SV-000001``, ``unit JS01``) as ``{kind}{name}``."""
        return {"kind": Label(self.LABEL), "name": f" {self._name()}"}

    def _kind(self, name: str) -> Label:
        """An event of the record (``Assigned``) as a person names it: 交办 / Assigned."""
        kind = f"{type(self).__name__}.{name}"
        return Label(kind_name(kind) or name)

    def _concerns(self) -> str | None:
        """The unit the record concerns, for the permission table's own-unit rule."""
        return None

    def _value(self, version: int, field: str) -> Any:
        if field == "occurred_at":
            return self.log[version - 1][1].isoformat()
        return self.values.get(version, {}).get(field)

    def _check_when(self, occurred_at: datetime, now: datetime) -> None:
        """A new event may not lie in the future, nor before the record's latest event."""
        check_moment(occurred_at, now)
        self._check_order(occurred_at)

    def _check_order(self, occurred_at: datetime) -> None:
        """A new event is checked against the record's own earlier events: it may not
        lie before the latest of them."""
        latest = max(moment for _, moment, _ in self.log)
        if occurred_at < latest:
            raise Refused("发生时间 {moment} 早于该{kind}最近一次事件（{latest}）",
                          moment=occurred_at.isoformat(), kind=Label(self.LABEL),
                          latest=latest.isoformat())

    def _check_not_withdrawn(self) -> None:
        if self.withdrawn is not None:
            raise Refused("{kind}{name} 已被撤回（第 {event} 个事件）", **self._said(),
                          event=self.withdrawn)

    def _check_occurred_at(self, version: int, value: Any, corrected_at: datetime,
                           zone: tzinfo) -> str:
        """A corrected valid time: not after the correction itself, and in order with the
        record's other events."""
        moment = parse_moment("occurred_at", value)
        check_day("corrected occurred_at", moment)
        if moment > corrected_at:
            raise Refused("更正后的发生时间 {value} 晚于这次更正本身（{corrected}）", value=value,
                          corrected=corrected_at.isoformat())
        before = next((at for name, at, _ in reversed(self.log[:version - 1])
                       if name not in OWN_EVENTS), None)
        after = next((at for name, at, _ in self.log[version:] if name not in OWN_EVENTS),
                     None)
        if (before and moment < before) or (after and moment > after):
            raise Refused("更正后的发生时间 {value} 会使第 {event} 个事件与该{kind}的其他事件顺序错乱",
                          value=value, event=version, kind=Label(self.LABEL))
        self._check_moment_of(version, moment, zone)
        return moment.isoformat()

    def _check_moment_of(self, version: int, moment: datetime, zone: tzinfo) -> None:
        """Checks a record adds on a corrected valid time."""

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, **context: Any) -> Any:
        """A new value of a correctable field, checked and normalized."""
        return require_text(field, value)

    def _check_corrected(self, version: int, event: str, changes: dict[str, Any], *,
                         zone: tzinfo, **context: Any) -> None:
        """Checks of the corrected event as a whole (fields that go together)."""
