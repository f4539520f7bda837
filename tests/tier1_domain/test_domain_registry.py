"""The registries in the pure domain: the campaign, units with their parents, people with
their roles, and the inspection visit. No store."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from said_support import refused

from domain.base import Actor, Refused
from domain.inspection import Inspection
from domain.registry import SEVEN_MANAGEMENTS, Campaign, Person, Unit
from domain.roles import ROLES

ZONE = ZoneInfo("Asia/Shanghai")
AT = datetime(2024, 5, 1, 9, 0, tzinfo=ZONE)
NOW = datetime(2024, 6, 1, 9, 0, tzinfo=ZONE)
ADMIN = Actor("wang", "admin")
LI = Actor("li", "inspector")
ZHAO = Actor("zhao", "unit", "JS01")
SUN = Actor("sun", "auditor")


def start(**overrides: object) -> Campaign:
    kwargs: dict[str, object] = dict(name="创建全国文明城市 2024", time_zone="Asia/Shanghai",
                                     categories=[], required_inspections=4, actor=ADMIN,
                                     occurred_at=AT)
    kwargs.update(overrides)
    return Campaign.start(**kwargs)  # type: ignore[arg-type]


def unit(code: str, kind: str, parent: Unit | None = None, actor: Actor = ADMIN) -> Unit:
    return Unit.register(code=code, name=f"{code} 名称", kind=kind, parent=parent,
                         actor=actor, occurred_at=AT)


# --- the campaign ----------------------------------------------------------------------


def test_a_campaign_starts_with_the_seven_managements_by_default() -> None:
    campaign = start()
    assert campaign.id == "campaign"
    assert campaign.categories == list(SEVEN_MANAGEMENTS)
    assert (campaign.required_inspections, campaign.recurrence_window_days,
            campaign.recurrence_lookback_months) == (4, 90, 3)
    assert campaign.zone == ZONE


def test_a_campaign_may_bring_its_own_categories() -> None:
    assert start(categories=["公益广告", "志愿服务"]).categories == ["公益广告", "志愿服务"]


def test_a_category_listed_twice_is_refused() -> None:
    with refused(Refused, match="category '公益广告' is listed twice"):
        start(categories=["公益广告", "志愿服务", "公益广告"])


def test_an_unknown_time_zone_is_refused_naming_it() -> None:
    with refused(Refused, match="time zone 'Mars/Olympus' is not a known IANA zone"):
        start(time_zone="Mars/Olympus")


def test_a_campaign_needs_a_name() -> None:
    with refused(Refused, match="campaign name must not be empty"):
        start(name=" ")


def test_required_inspections_cannot_be_negative() -> None:
    with refused(Refused, match="required inspections must be 0 or more, got -1"):
        start(required_inspections=-1)


def test_the_office_adds_a_category() -> None:
    campaign = start()
    campaign.add_category(" 公益广告 ", actor=ADMIN, occurred_at=AT)
    assert campaign.categories[-1] == "公益广告"
    assert campaign.check_category("公益广告") == "公益广告"


def test_an_existing_category_is_not_added_again() -> None:
    campaign = start()
    with refused(Refused, match="category '环境卫生' already exists"):
        campaign.add_category("环境卫生", actor=ADMIN, occurred_at=AT)


@pytest.mark.parametrize("actor", [LI, ZHAO, SUN], ids=["inspector", "unit", "auditor"])
def test_only_the_office_adds_categories(actor: Actor) -> None:
    campaign = start()
    with refused(Refused, match=f"{actor.id} \\({actor.role}\\) may not manage the "
                                      "registries: that is for admin"):
        campaign.add_category("公益广告", actor=actor, occurred_at=AT)
    assert not campaign.pending_events[1:]


def test_an_unknown_category_is_refused_naming_it() -> None:
    with refused(Refused, match="category '卫生' is not one of this campaign's "
                                      "categories \\(社会治安, 环境卫生"):
        start().check_category("卫生")


def test_the_required_inspections_are_changed_with_a_reason() -> None:
    campaign = start()
    campaign.change_required_inspections(6, "加密巡查", actor=ADMIN, occurred_at=AT)
    assert campaign.required_inspections == 6
    with refused(Refused, match="reason must not be empty"):
        campaign.change_required_inspections(8, "", actor=ADMIN, occurred_at=AT)
    with refused(Refused, match="got -2"):
        campaign.change_required_inspections(-2, "x", actor=ADMIN, occurred_at=AT)
    assert campaign.required_inspections == 6


# --- units -----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "parent_kind"), [
    ("区", None), ("街道", None), ("街道", "区"), ("社区", "街道"), ("部门", None),
    ("部门", "区"), ("物业", None), ("物业", "街道"), ("物业", "社区"),
])
def test_a_unit_is_registered_under_a_parent_of_an_allowed_kind(kind: str,
                                                                 parent_kind: str | None
                                                                 ) -> None:
    parent = None
    if parent_kind == "社区":
        parent = unit("C1", "社区", unit("S1", "街道"))
    elif parent_kind is not None:
        parent = unit("P1", parent_kind)
    registered = unit("U1", kind, parent)
    assert (registered.id, registered.code, registered.kind) == ("unit:U1", "U1", kind)
    assert registered.parent == (parent.code if parent else None)
    assert not registered.retired


@pytest.mark.parametrize(("kind", "parent_kind", "message"), [
    ("社区", None, "a 社区's parent must be a 街道, got none"),
    ("社区", "部门", "a 社区's parent must be a 街道, got P1 \\(部门\\)"),
    ("街道", "街道", "a 街道's parent must be a 区, got P1 \\(街道\\)"),
    ("区", "区", "a 区's parent must be none, got P1 \\(区\\)"),
    ("部门", "街道", "a 部门's parent must be a 区, got P1 \\(街道\\)"),
    ("物业", "部门", "a 物业's parent must be a 街道/社区, got P1 \\(部门\\)"),
])
def test_a_unit_under_a_parent_of_the_wrong_kind_is_refused(kind: str,
                                                            parent_kind: str | None,
                                                            message: str) -> None:
    parent = unit("P1", parent_kind) if parent_kind else None
    with refused(Refused, match=message):
        unit("U1", kind, parent)


def test_a_unit_under_a_retired_parent_is_refused() -> None:
    street = unit("JS", "街道")
    street.retire("撤并", actor=ADMIN, occurred_at=AT)
    with refused(Refused, match="parent unit JS is retired"):
        unit("JS01", "社区", street)


def test_an_unknown_unit_kind_is_refused_naming_it() -> None:
    with refused(Refused, match="unit kind must be one of 区, 街道, 社区, 部门, 物业, "
                                      "got '乡镇'"):
        unit("X", "乡镇")


@pytest.mark.parametrize("code", ["", "JS 01", "幸福", "-JS", "J" * 41])
def test_a_malformed_unit_code_is_refused(code: str) -> None:
    with refused(Refused, match="unit code"):
        unit(code, "街道")


def test_a_unit_needs_a_name() -> None:
    with refused(Refused, match="unit name must not be empty"):
        Unit.register(code="JS", name="", kind="街道", parent=None, actor=ADMIN,
                      occurred_at=AT)


@pytest.mark.parametrize("actor", [LI, ZHAO, SUN], ids=["inspector", "unit", "auditor"])
def test_only_the_office_registers_units(actor: Actor) -> None:
    with refused(Refused, match="may not manage the registries"):
        unit("JS", "街道", actor=actor)


def test_a_unit_is_renamed_with_a_reason() -> None:
    street = unit("JS", "街道")
    street.rename("新建设街道", "更名", actor=ADMIN, occurred_at=AT)
    assert street.name == "新建设街道"
    assert type(street.pending_events[-1]).__name__ == "Renamed"


def test_renaming_to_the_same_name_is_refused() -> None:
    street = unit("JS", "街道")
    with refused(Refused, match="unit JS is already named 'JS 名称'"):
        street.rename("JS 名称", "x", actor=ADMIN, occurred_at=AT)


def test_renaming_needs_a_name_a_reason_and_the_office() -> None:
    street = unit("JS", "街道")
    with refused(Refused, match="unit name must not be empty"):
        street.rename("", "x", actor=ADMIN, occurred_at=AT)
    with refused(Refused, match="reason must not be empty"):
        street.rename("新", "", actor=ADMIN, occurred_at=AT)
    with refused(Refused, match="li \\(inspector\\) may not manage"):
        street.rename("新", "x", actor=LI, occurred_at=AT)
    assert street.name == "JS 名称" and len(street.pending_events) == 1


def test_a_retired_unit_keeps_its_record_but_is_no_longer_active() -> None:
    street = unit("JS", "街道")
    assert street.check_active() is street
    street.retire("撤并", actor=ADMIN, occurred_at=AT)
    assert street.retired
    with refused(Refused, match="unit JS is retired"):
        street.check_active()
    with refused(Refused, match="unit JS is already retired"):
        street.retire("again", actor=ADMIN, occurred_at=AT)


# --- people ----------------------------------------------------------------------------


def test_the_founder_is_the_first_administrator() -> None:
    founder = Person.found(person_id="wang", name="王主任", occurred_at=AT)
    assert founder.id == "person:wang"
    actor = founder.as_actor()
    assert (actor.id, actor.role, actor.unit) == ("wang", "admin", None)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "unit"])
def test_a_person_is_registered_in_a_role(role: str) -> None:
    person = Person.register(person_id="p1", name="某人", role=role, unit=None, actor=ADMIN,
                             occurred_at=AT)
    assert (person.person_role, person.unit, person.retired) == (role, None, False)


def test_a_unit_member_acts_for_their_unit() -> None:
    member = Person.register(person_id="zhao", name="赵社区", role="unit",
                             unit=unit("JS01", "社区", unit("JS", "街道")), actor=ADMIN,
                             occurred_at=AT)
    actor = member.as_actor()
    assert (actor.role, actor.unit) == ("unit", "JS01")


def test_a_unit_member_needs_a_unit() -> None:
    with refused(Refused, match="a unit member needs a unit \\(person zhao\\)"):
        Person.register(person_id="zhao", name="赵", role="unit", unit=None, actor=ADMIN,
                        occurred_at=AT)


def test_only_unit_members_belong_to_a_unit() -> None:
    with refused(Refused, match="only unit members belong to a unit: li is inspector, "
                                      "unit JS given"):
        Person.register(person_id="li", name="李", role="inspector", unit=unit("JS", "街道"),
                        actor=ADMIN, occurred_at=AT)


def test_a_member_of_a_retired_unit_is_refused() -> None:
    street = unit("JS", "街道")
    street.retire("撤并", actor=ADMIN, occurred_at=AT)
    with refused(Refused, match="unit JS is retired"):
        Person.register(person_id="zhao", name="赵", role="unit", unit=street, actor=ADMIN,
                        occurred_at=AT)


def test_an_unknown_role_is_refused_naming_it() -> None:
    with refused(Refused, match="role must be one of admin, inspector, unit, "
                                      "auditor, clerk, got 'mayor'"):
        Person.register(person_id="x", name="x", role="mayor", unit=None, actor=ADMIN,
                        occurred_at=AT)


def test_a_person_needs_a_proper_id_and_a_name() -> None:
    with refused(Refused, match="person id must be letters, digits.*got 'a b'"):
        Person.register(person_id="a b", name="x", role="auditor", unit=None, actor=ADMIN,
                        occurred_at=AT)
    with refused(Refused, match="person name must not be empty"):
        Person.register(person_id="ab", name="", role="auditor", unit=None, actor=ADMIN,
                        occurred_at=AT)


@pytest.mark.parametrize("actor", [LI, ZHAO, SUN], ids=["inspector", "unit", "auditor"])
def test_only_the_office_registers_people(actor: Actor) -> None:
    with refused(Refused, match="may not manage the registries"):
        Person.register(person_id="x", name="x", role="auditor", unit=None, actor=actor,
                        occurred_at=AT)


def test_a_retired_person_may_no_longer_act() -> None:
    person = Person.register(person_id="li", name="李", role="inspector", unit=None,
                             actor=ADMIN, occurred_at=AT)
    person.retire("调离", actor=ADMIN, occurred_at=AT)
    with refused(Refused, match="person li is retired and may not act"):
        person.as_actor()
    with refused(Refused, match="person li is already retired"):
        person.retire("again", actor=ADMIN, occurred_at=AT)


# --- inspection visits -----------------------------------------------------------------


def test_an_inspection_records_its_inspectors_and_findings() -> None:
    visit = Inspection.record(inspection_id="I-000001", unit="JS01", companions=["zhou"],
                              findings=["T-000001"], note=" 夜查 ", actor=LI,
                              occurred_at=AT, now=NOW)
    assert (visit.id, visit.unit, visit.inspectors, visit.findings, visit.note) == (
        "I-000001", "JS01", ["li", "zhou"], ["T-000001"], "夜查")


def test_the_inspector_named_as_their_own_companion_counts_once() -> None:
    visit = Inspection.record(inspection_id="I-1", unit="JS01", companions=["li"],
                              findings=[], note="", actor=LI, occurred_at=AT, now=NOW)
    assert visit.inspectors == ["li"]


def test_a_companion_named_twice_is_refused_naming_them() -> None:
    with refused(Refused, match="inspector zhou is named twice on the visit"):
        Inspection.record(inspection_id="I-1", unit="JS01", companions=["zhou", "zhou"],
                          findings=[], note="", actor=LI, occurred_at=AT, now=NOW)


@pytest.mark.parametrize("actor", [ADMIN, ZHAO, SUN], ids=["admin", "unit", "auditor"])
def test_only_inspectors_inspect(actor: Actor) -> None:
    with refused(Refused, match=f"{actor.id} \\({actor.role}\\) may not inspect"):
        Inspection.record(inspection_id="I-1", unit="JS01", companions=[], findings=[],
                          note="", actor=actor, occurred_at=AT, now=NOW)


def test_an_inspection_in_the_future_is_refused() -> None:
    with refused(Refused, match="is in the future"):
        Inspection.record(inspection_id="I-1", unit="JS01", companions=[], findings=[],
                          note="", actor=LI, occurred_at=NOW + timedelta(minutes=1),
                          now=NOW)
