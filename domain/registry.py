"""The registries the office keeps: the campaign, its units and its people."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.base import Actor, LedgerAggregate, LedgerCreated, LedgerEvent, Refused, require_text
from domain.roles import ADMIN, ROLES, UNIT, authorize

# The seven managements (七项管理) every campaign starts with; a campaign adds its own.
SEVEN_MANAGEMENTS = ("社会治安", "环境卫生", "交通秩序", "集贸市场", "建筑工地", "文化环境", "大众传媒")

UNIT_KINDS = ("区", "街道", "社区", "部门", "物业")
# A unit's parent must be of one of these kinds (None: it may stand at the top).
PARENT_KINDS: dict[str, tuple[str | None, ...]] = {
    "区": (None,),
    "街道": (None, "区"),
    "社区": ("街道",),
    "部门": (None, "区"),
    "物业": (None, "街道", "社区"),
}

# A campaign's own calendar marks a day as one of these, overriding the official one.
LOCAL_HOLIDAY = "holiday"
LOCAL_WORKDAY = "workday"

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")


def check_code(field: str, code: str) -> str:
    code = require_text(field, code)
    if not CODE_PATTERN.match(code):
        raise Refused(
            f"{field} must be letters, digits, '.', '_' or '-' (at most 40), got {code!r}"
        )
    return code


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused(f"time zone {name!r} is not a known IANA zone") from None
    return name


class Campaign(LedgerAggregate):
    """The campaign a ledger serves: its name, time zone, categories and settings."""

    ID = "campaign"

    class Started(LedgerCreated):
        name: str
        time_zone: str
        categories: list[str]
        required_inspections: int
        recurrence_window_days: int
        recurrence_lookback_months: int

        def apply(self, campaign: Campaign) -> None:
            campaign.name = self.name
            campaign.time_zone = self.time_zone
            campaign.categories = list(self.categories)
            campaign.required_inspections = self.required_inspections
            campaign.recurrence_window_days = self.recurrence_window_days
            campaign.recurrence_lookback_months = self.recurrence_lookback_months
            campaign.local_days = {}

    class CategoryAdded(LedgerEvent):
        category: str

        def apply(self, campaign: Campaign) -> None:
            campaign.categories.append(self.category)

    class SettingsChanged(LedgerEvent):
        required_inspections: int
        reason: str

        def apply(self, campaign: Campaign) -> None:
            campaign.required_inspections = self.required_inspections

    class LocalHolidayAdded(LedgerEvent):
        """A day off the campaign's city takes that the official calendar does not have."""

        day: date
        reason: str

        def apply(self, campaign: Campaign) -> None:
            campaign.local_days[self.day] = LOCAL_HOLIDAY

    class LocalWorkdayAdded(LedgerEvent):
        """A working day the city keeps that the official calendar gives off."""

        day: date
        reason: str

        def apply(self, campaign: Campaign) -> None:
            campaign.local_days[self.day] = LOCAL_WORKDAY

    @classmethod
    def start(cls, *, name: str, time_zone: str, categories: list[str],
              required_inspections: int, actor: Actor, occurred_at: datetime,
              recurrence_window_days: int = 90,
              recurrence_lookback_months: int = 3) -> Campaign:
        name = require_text("campaign name", name)
        check_zone(time_zone)
        cats = [require_text("category", c) for c in categories] or list(SEVEN_MANAGEMENTS)
        duplicated = sorted({c for c in cats if cats.count(c) > 1})
        if duplicated:
            raise Refused(f"category {duplicated[0]!r} is listed twice")
        if required_inspections < 0:
            raise Refused(
                f"required inspections must be 0 or more, got {required_inspections}"
            )
        return cls._create(
            cls.Started, id=cls.ID, name=name, time_zone=time_zone, categories=cats,
            required_inspections=required_inspections,
            recurrence_window_days=recurrence_window_days,
            recurrence_lookback_months=recurrence_lookback_months,
            occurred_at=occurred_at, **actor.stamp(),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def check_category(self, category: str) -> str:
        category = require_text("category", category)
        if category not in self.categories:
            raise Refused(
                f"category {category!r} is not one of this campaign's categories "
                f"({', '.join(self.categories)})"
            )
        return category

    def add_category(self, category: str, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        category = require_text("category", category)
        if category in self.categories:
            raise Refused(f"category {category!r} already exists")
        self._stamp(self.CategoryAdded, actor, occurred_at, category=category)

    def change_required_inspections(self, required: int, reason: str, *, actor: Actor,
                                    occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        if required < 0:
            raise Refused(f"required inspections must be 0 or more, got {required}")
        self._stamp(self.SettingsChanged, actor, occurred_at, required_inspections=required,
                    reason=require_text("reason", reason))

    def add_local_day(self, day: date, kind: str, reason: str, *,
                      official_workday: bool | None, actor: Actor,
                      occurred_at: datetime) -> None:
        """Record a day of the campaign's own calendar: a ``holiday`` or a ``workday``.
        ``official_workday`` is what the official calendar says of the day (None where it
        does not know the year). Deadlines resolved later count with it; those already
        recorded keep their dates."""
        authorize(actor, "manage_registry")
        if kind not in (LOCAL_HOLIDAY, LOCAL_WORKDAY):
            raise Refused(f"a local day is a {LOCAL_HOLIDAY} or a {LOCAL_WORKDAY}, got {kind!r}")
        reason = require_text("reason", reason)
        workday = kind == LOCAL_WORKDAY
        if self.local_days.get(day) == kind:
            raise Refused(f"{day.isoformat()} is already a local {kind} of this campaign")
        if day not in self.local_days and official_workday is workday:
            said = "a working day" if workday else "a day off"
            raise Refused(f"{day.isoformat()} is already {said} in the official calendar")
        event = self.LocalWorkdayAdded if workday else self.LocalHolidayAdded
        self._stamp(event, actor, occurred_at, day=day, reason=reason)


class Unit(LedgerAggregate):
    """A responsible unit (责任单位): 社区, 街道, 部门 or 物业, with its parent."""

    class Registered(LedgerCreated):
        code: str
        name: str
        kind: str
        parent: str | None

        def apply(self, unit: Unit) -> None:
            unit.code = self.code
            unit.name = self.name
            unit.kind = self.kind
            unit.parent = self.parent
            unit.retired = False

    class Renamed(LedgerEvent):
        name: str
        reason: str

        def apply(self, unit: Unit) -> None:
            unit.name = self.name

    class Retired(LedgerEvent):
        reason: str

        def apply(self, unit: Unit) -> None:
            unit.retired = True

    @staticmethod
    def key(code: str) -> str:
        return f"unit:{code}"

    @classmethod
    def register(cls, *, code: str, name: str, kind: str, parent: Unit | None,
                 actor: Actor, occurred_at: datetime) -> Unit:
        authorize(actor, "manage_registry")
        code = check_code("unit code", code)
        name = require_text("unit name", name)
        if kind not in UNIT_KINDS:
            raise Refused(f"unit kind must be one of {', '.join(UNIT_KINDS)}, got {kind!r}")
        parent_kind = parent.kind if parent is not None else None
        if parent_kind not in PARENT_KINDS[kind]:
            allowed = [k for k in PARENT_KINDS[kind] if k is not None]
            where = f"a {' or '.join(allowed)}" if allowed else "none"
            got = f"{parent.code} ({parent.kind})" if parent is not None else "none"
            raise Refused(f"a {kind}'s parent must be {where}, got {got}")
        if parent is not None and parent.retired:
            raise Refused(f"parent unit {parent.code} is retired")
        return cls._create(
            cls.Registered, id=cls.key(code), code=code, name=name, kind=kind,
            parent=parent.code if parent is not None else None,
            occurred_at=occurred_at, **actor.stamp(),
        )

    def rename(self, name: str, reason: str, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        name = require_text("unit name", name)
        if name == self.name:
            raise Refused(f"unit {self.code} is already named {name!r}")
        self._stamp(self.Renamed, actor, occurred_at, name=name,
                    reason=require_text("reason", reason))

    def retire(self, reason: str, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        if self.retired:
            raise Refused(f"unit {self.code} is already retired")
        self._stamp(self.Retired, actor, occurred_at, reason=require_text("reason", reason))

    def check_active(self) -> Unit:
        if self.retired:
            raise Refused(f"unit {self.code} is retired")
        return self


class Person(LedgerAggregate):
    """Someone who acts in the ledger, in one role (a unit member is bound to one unit)."""

    class Registered(LedgerCreated):
        person_id: str
        name: str
        person_role: str
        unit: str | None

        def apply(self, person: Person) -> None:
            person.person_id = self.person_id
            person.name = self.name
            person.person_role = self.person_role
            person.unit = self.unit
            person.retired = False

    class Retired(LedgerEvent):
        reason: str

        def apply(self, person: Person) -> None:
            person.retired = True

    @staticmethod
    def key(person_id: str) -> str:
        return f"person:{person_id}"

    @classmethod
    def register(cls, *, person_id: str, name: str, role: str, unit: Unit | None,
                 actor: Actor, occurred_at: datetime) -> Person:
        authorize(actor, "manage_registry")
        return cls._enrol(person_id=person_id, name=name, role=role, unit=unit,
                          actor=actor, occurred_at=occurred_at)

    @classmethod
    def found(cls, *, person_id: str, name: str, occurred_at: datetime) -> Person:
        """The campaign's first administrator, who registers everyone else."""
        founder = Actor(check_code("person id", person_id), ADMIN)
        return cls._enrol(person_id=person_id, name=name, role=ADMIN, unit=None,
                          actor=founder, occurred_at=occurred_at)

    @classmethod
    def _enrol(cls, *, person_id: str, name: str, role: str, unit: Unit | None,
               actor: Actor, occurred_at: datetime) -> Person:
        person_id = check_code("person id", person_id)
        name = require_text("person name", name)
        if role not in ROLES:
            raise Refused(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if role == UNIT and unit is None:
            raise Refused(f"a unit member needs a unit (person {person_id})")
        if role != UNIT and unit is not None:
            raise Refused(f"only unit members belong to a unit: {person_id} is {role}, "
                          f"unit {unit.code} given")
        if unit is not None:
            unit.check_active()
        return cls._create(
            cls.Registered, id=cls.key(person_id), person_id=person_id, name=name,
            person_role=role, unit=unit.code if unit is not None else None,
            occurred_at=occurred_at, **actor.stamp(),
        )

    def retire(self, reason: str, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        if self.retired:
            raise Refused(f"person {self.person_id} is already retired")
        self._stamp(self.Retired, actor, occurred_at, reason=require_text("reason", reason))

    def as_actor(self) -> Actor:
        if self.retired:
            raise Refused(f"person {self.person_id} is retired and may not act")
        return Actor(self.person_id, self.person_role, self.unit)
