"""The registries the office keeps: the campaign, its units and its people."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.base import (N_, Actor, Label, LedgerAggregate, LedgerCreated, LedgerEvent, Refused,
                         field_label, require_text)
from domain.corrections import Correctable
from domain.roles import ADMIN, ROLE_NAMES, ROLES, UNIT, authorize

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
        raise Refused("{field}须为字母、数字、'.'、'_' 或 '-'（至多 40 个），收到 {code!r}",
                      field=field_label(field), code=code)
    return code


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused("时区 {zone!r} 不是已知的 IANA 时区", zone=name) from None
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
            raise Refused("管理类别 {category!r} 列了两次", category=duplicated[0])
        if required_inspections < 0:
            raise Refused("每月应巡查次数须为 0 或以上，收到 {required}",
                          required=required_inspections)
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
            raise Refused("管理类别 {category!r} 不在本次创建活动的类别之中（{categories}）",
                          category=category, categories=", ".join(self.categories))
        return category

    def add_category(self, category: str, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        category = require_text("category", category)
        if category in self.categories:
            raise Refused("管理类别 {category!r} 已经存在", category=category)
        self._stamp(self.CategoryAdded, actor, occurred_at, category=category)

    def change_required_inspections(self, required: int, reason: str, *, actor: Actor,
                                    occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        if required < 0:
            raise Refused("每月应巡查次数须为 0 或以上，收到 {required}", required=required)
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
            raise Refused("本地日期须为 {holiday} 或 {workday}，收到 {kind!r}",
                          holiday=LOCAL_HOLIDAY, workday=LOCAL_WORKDAY, kind=kind)
        reason = require_text("reason", reason)
        workday = kind == LOCAL_WORKDAY
        if self.local_days.get(day) == kind and workday:
            raise Refused("{day} 已是本创建活动的本地工作日", day=day.isoformat())
        if self.local_days.get(day) == kind:
            raise Refused("{day} 已是本创建活动的本地休息日", day=day.isoformat())
        if day not in self.local_days and official_workday is workday and workday:
            raise Refused("{day} 在法定日历中已是工作日", day=day.isoformat())
        if day not in self.local_days and official_workday is workday:
            raise Refused("{day} 在法定日历中已是休息日", day=day.isoformat())
        event = self.LocalWorkdayAdded if workday else self.LocalHolidayAdded
        self._stamp(event, actor, occurred_at, day=day, reason=reason)


def check_parent(kind: str, parent: Unit | None) -> None:
    """A unit of ``kind`` may stand under ``parent`` (None: at the top)."""
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in PARENT_KINDS[kind]:
        allowed = "/".join(k for k in PARENT_KINDS[kind] if k is not None)
        if not allowed:
            raise Refused("{kind}不能有上级，收到 {parent}（{parent_kind}）", kind=kind,
                          parent=parent.code, parent_kind=parent.kind)
        if parent is None:
            raise Refused("{kind}的上级须为{allowed}，但没有给出上级", kind=kind, allowed=allowed)
        raise Refused("{kind}的上级须为{allowed}，收到 {parent}（{parent_kind}）", kind=kind,
                      allowed=allowed, parent=parent.code, parent_kind=parent.kind)


def check_kind(kind: str) -> str:
    if kind not in UNIT_KINDS:
        raise Refused("单位类型须为以下之一：{kinds}，收到 {kind!r}", kinds=", ".join(UNIT_KINDS),
                      kind=kind)
    return kind


class Unit(Correctable, LedgerAggregate):
    """A responsible unit (责任单位): 社区, 街道, 部门 or 物业, with its parent. A unit
    registered with a wrong name, kind or parent is corrected; one that ends is retired."""

    LABEL = N_("名录单位")
    CORRECTABLE = {"Registered": ("name", "kind", "parent"), "Renamed": ("name",)}
    CORRECT_ACTION = "manage_registry"
    WITHDRAW_INSTEAD = N_("请改为撤销该单位")

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
        check_parent(check_kind(kind), parent)
        if parent is not None and parent.retired:
            raise Refused("上级单位 {unit} 已撤销", unit=parent.code)
        return cls._create(
            cls.Registered, id=cls.key(code), code=code, name=name, kind=kind,
            parent=parent.code if parent is not None else None,
            occurred_at=occurred_at, **actor.stamp(),
        )

    def rename(self, name: str, reason: str, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        self.check_active()
        self._check_order(occurred_at)
        name = require_text("unit name", name)
        if name == self.name:
            raise Refused("单位 {unit} 的名称已是 {name!r}", unit=self.code, name=name)
        self._stamp(self.Renamed, actor, occurred_at, name=name,
                    reason=require_text("reason", reason))

    def retire(self, reason: str, *, actor: Actor, occurred_at: datetime) -> None:
        authorize(actor, "manage_registry")
        if self.retired:
            raise Refused("单位 {unit} 已经撤销", unit=self.code)
        self._check_order(occurred_at)
        self._stamp(self.Retired, actor, occurred_at, reason=require_text("reason", reason))

    def check_active(self) -> Unit:
        if self.retired:
            raise Refused("单位 {unit} 已撤销", unit=self.code)
        return self

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, **context: Any) -> Any:
        if field == "kind":
            return check_kind(str(value).strip())
        if field == "parent":
            code = str(value or "").strip()
            if code.lower() in ("", "none", "-"):
                return None
            if code == self.code:
                raise Refused("单位 {unit} 不能是自己的上级", unit=self.code)
            context["unit"](code).check_active()
            return code
        return require_text("unit name", value)

    def _check_corrected(self, version: int, event: str, changes: dict[str, Any], *,
                         zone: tzinfo, **context: Any) -> None:
        if event != "Registered" or not {"kind", "parent"} & set(changes):
            return
        kind = changes.get("kind", self.kind)
        parent = changes.get("parent", self.parent)
        check_parent(kind, context["unit"](parent) if parent else None)
        for child in context["children"](self.code):
            if kind not in PARENT_KINDS[child.kind]:
                raise Refused("单位 {child}（{child_kind}）隶属于 {unit}：{child_kind}的上级不能是{kind}",
                              child=child.code, child_kind=child.kind, unit=self.code, kind=kind)


def check_membership(person_id: str, role: str, unit: str | None) -> None:
    if role not in ROLES:
        raise Refused("角色须为以下之一：{roles}，收到 {role!r}", roles=", ".join(ROLES), role=role)
    if role == UNIT and unit is None:
        raise Refused("责任单位人员须属于一个单位（人员 {person}）", person=person_id)
    if role != UNIT and unit is not None:
        raise Refused("只有责任单位人员才属于单位：{person} 是{role}，却给出了单位 {unit}",
                      person=person_id, role=Label(ROLE_NAMES.get(role, role)), unit=unit)


def check_not_last_admin(person_id: str, admins: Collection[str], refusal: str) -> None:
    """Refuse, with ``refusal`` (a template naming {person}), to leave the ledger without
    an active administrator."""
    if not set(admins) - {person_id}:
        raise Refused(refusal, person=person_id)


class Person(Correctable, LedgerAggregate):
    """Someone who acts in the ledger, in one role (a unit member is bound to one unit).
    A person registered with a wrong name, role or unit is corrected."""

    LABEL = N_("人员")
    CORRECTABLE = {"Registered": ("name", "person_role", "unit")}
    CORRECT_ACTION = "manage_registry"
    WITHDRAW_INSTEAD = N_("请改为让该人员离任")

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
        check_membership(person_id, role, unit.code if unit is not None else None)
        if unit is not None:
            unit.check_active()
        return cls._create(
            cls.Registered, id=cls.key(person_id), person_id=person_id, name=name,
            person_role=role, unit=unit.code if unit is not None else None,
            occurred_at=occurred_at, **actor.stamp(),
        )

    def retire(self, reason: str, *, actor: Actor, occurred_at: datetime,
               admins: Collection[str] = ()) -> None:
        """Retire the person; ``admins`` are the ledger's active administrators (the last
        one is not retired)."""
        authorize(actor, "manage_registry")
        if self.retired:
            raise Refused("人员 {person} 已经离任", person=self.person_id)
        self._check_order(occurred_at)
        if self.person_role == ADMIN:
            check_not_last_admin(self.person_id, admins,
                                 N_("人员 {person} 是最后一名在任管理员，不能离任：请先登记另一名管理员"))
        self._stamp(self.Retired, actor, occurred_at, reason=require_text("reason", reason))

    def _check_field(self, version: int, event: str, field: str, value: Any, *,
                     zone: tzinfo, corrected_at: datetime, **context: Any) -> Any:
        if field == "unit":
            code = str(value or "").strip()
            if code.lower() in ("", "none", "-"):
                return None
            context["unit"](code).check_active()
            return code
        if field == "person_role":
            role = str(value).strip()
            if role not in ROLES:
                raise Refused("角色须为以下之一：{roles}，收到 {role!r}", roles=", ".join(ROLES),
                              role=role)
            return role
        return require_text("person name", value)

    def _check_corrected(self, version: int, event: str, changes: dict[str, Any], *,
                         zone: tzinfo, **context: Any) -> None:
        role = changes.get("person_role", self.person_role)
        check_membership(self.person_id, role, changes.get("unit", self.unit))
        if self.person_role == ADMIN and role != ADMIN and not self.retired:
            check_not_last_admin(self.person_id, context["admins"](),
                                 N_("人员 {person} 是最后一名在任管理员，不能降为其他角色：请先登记另一名管理员"))

    def as_actor(self) -> Actor:
        if self.retired:
            raise Refused("人员 {person} 已离任，不能再办理", person=self.person_id)
        return Actor(self.person_id, self.person_role, self.unit)
