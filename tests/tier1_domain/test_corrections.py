"""Corrections and withdrawals of every record people enter: each changes the figures of a
month not yet published as the corrected facts say, leaves a published month exactly as it
was published, and is named among the revisions' causes."""

from __future__ import annotations

from datetime import date, datetime, timezone
from fractions import Fraction
from typing import Any

import pytest
from said_support import refused, speaking

from domain.base import DomainError, Refused
from ledger.app import Ledger
from ledger.corrections import Corrections
from ledger.evaluation import Evaluations, shipped_rules
from ledger.indicators import Indicators
from ledger.store import Store
from projections.evaluation import Evaluator, digest
from projections.indicators import IndicatorQueries
from projections.read import ReadSide
from projections.summary import Period, summary_of
from tests.conftest import Clock, seed_campaign
from said_support import english
from tests.tier3_cli.test_indicators import with_system

JUNE, JULY = "2024-06", "2024-07"


def at(day: int, month: int = 6) -> datetime:
    return datetime(2024, month, day, 2, 0, tzinfo=timezone.utc)


class City:
    """A seeded campaign whose June is published; the clock stands in mid-July."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self.ledger: Ledger = store.ledger
        seed_campaign(self.ledger)
        clock.now = datetime(2024, 6, 30, 12, 0, tzinfo=timezone.utc)
        self.fix = Corrections(self.ledger)
        self.evaluations = Evaluations(self.ledger)
        self.evaluator = Evaluator(ReadSide(store))
        self.publication: dict[str, Any] | None = None

    def publish_june(self) -> None:
        self.clock.now = datetime(2024, 7, 3, 9, 0, tzinfo=timezone.utc)
        self.publication = self.evaluations.publish(
            actor_id="admin", month=JUNE,
            compute=lambda rules_for: self.evaluator.freeze(JUNE, rules_for))
        self.clock.now = datetime(2024, 7, 20, 9, 0, tzinfo=timezone.utc)

    def figures(self, month: str, unit: str) -> dict[str, Any]:
        return self.evaluator.figures(self.evaluator.current(), month, unit=unit)[0]

    def published_figures(self, unit: str) -> dict[str, Any]:
        assert self.publication is not None
        source, rankings = self.evaluator.published(self.publication,
                                                    self.evaluations.rules_for)
        assert digest(rankings) == self.publication["digest"]  # frozen
        return self.evaluator.figures(source, JUNE, unit=unit)[0]

    def causes(self) -> dict[str, str]:
        assert self.publication is not None
        with speaking("en"):  # the causes' words in English
            _, causes = self.evaluator.revisions(self.publication,
                                                 self.evaluations.rules_for)
        return {f"{c['aggregate']}@{c['position']}": c["why"] for c in causes}

    def last_position(self) -> int:
        return self.ledger.max_position()


@pytest.fixture
def city(store: Store, clock: Clock) -> City:
    return City(store, clock)


def survey(city: City, month: str, awareness: int, day: datetime) -> str:
    return Indicators(city.ledger).record_survey(
        actor_id="admin", unit="JS01", month=month, awareness=awareness, participation=50,
        satisfaction=70, sample=100, source="第三方", method="入户问卷",
        occurred_at=day)["survey"]


def test_surveys_corrected_and_withdrawn(city: City) -> None:
    june = [survey(city, JUNE, 80, at(20)), survey(city, JUNE, 40, at(21))]
    city.publish_june()
    july = [survey(city, JULY, 80, at(5, 7)), survey(city, JULY, 40, at(6, 7))]
    assert city.figures(JULY, "JS01")["awareness"] == Fraction(3, 5)

    city.fix.correct(actor_id="admin", record=july[0], event=None,
                     changes={"awareness": "100"}, reason="录入错误")
    assert city.figures(JULY, "JS01")["awareness"] == Fraction(7, 10)
    city.fix.withdraw(actor_id="admin", record=july[1], reason="重复录入")
    assert city.figures(JULY, "JS01")["awareness"] == 1
    assert city.figures(JULY, "JS01")["surveyed"] == 100

    city.fix.correct(actor_id="admin", record=june[0], event=None,
                     changes={"awareness": "100"}, reason="录入错误")
    corrected = city.last_position()
    city.fix.withdraw(actor_id="admin", record=june[1], reason="重复录入")
    withdrawn = city.last_position()
    assert city.figures(JUNE, "JS01")["awareness"] == 1
    assert city.published_figures("JS01")["awareness"] == Fraction(3, 5)
    causes = city.causes()
    assert causes[f"{june[0]}@{corrected}"] == \
        "corrects event 1 (Recorded): awareness 80.0 → 100.0"
    assert causes[f"{june[1]}@{withdrawn}"] == "withdrawn: counts no more (重复录入)"
    # The survey lists and work summary count what stands now.
    queries = IndicatorQueries(ReadSide(city.store))
    assert [s["survey"] for s in queries.surveys()] == [june[0], july[0]]
    summary = summary_of(ReadSide(city.store), Period(date(2024, 6, 1), date(2024, 7, 31)))
    assert summary.figures["surveys"] == 2


def visit(city: City, day: datetime) -> str:
    return city.ledger.inspect(actor_id="li", unit="JS01", findings=[],
                               occurred_at=day)["inspection"]


def test_inspections_corrected_and_withdrawn(city: City) -> None:
    june = [visit(city, at(10)), visit(city, at(11))]
    city.publish_june()
    july = [visit(city, at(5, 7)), visit(city, at(6, 7))]
    assert city.figures(JULY, "JS01")["inspections"] == 2

    city.fix.correct(actor_id="li", record=july[0], event=None,
                     changes={"unit": "JS02", "inspectors": "li,zhou"}, reason="记错社区")
    assert (city.figures(JULY, "JS01")["inspections"],
            city.figures(JULY, "JS02")["inspections"]) == (1, 1)
    city.fix.withdraw(actor_id="li", record=july[1], reason="重复录入")
    assert city.figures(JULY, "JS01")["inspections"] == 0
    assert city.figures(JULY, "JS")["inspections"] == 1  # the 街道 counts its 社区

    city.fix.correct(actor_id="admin", record=june[0], event=None,
                     changes={"occurred_at": at(2, 7).isoformat()},
                     reason="日期录错")
    moved = city.last_position()
    city.fix.withdraw(actor_id="admin", record=june[1], reason="重复录入")
    withdrawn = city.last_position()
    assert city.figures(JUNE, "JS01")["inspections"] == 0
    assert city.figures(JULY, "JS01")["inspections"] == 1
    assert city.published_figures("JS01")["inspections"] == 2
    causes = city.causes()
    assert f"{june[0]}@{moved}" in causes and f"{june[1]}@{withdrawn}" in causes
    # The coverage the default rules score changed: the ranking lines say so.
    changes, _ = city.evaluator.revisions(city.publication, city.evaluations.rules_for)
    assert {c["unit"] for c in changes} >= {"JS01"}


def test_tasks_are_corrected_not_withdrawn(city: City) -> None:
    task = city.ledger.assign(actor_id="li", unit="JS01", category="环境卫生", source="inspection",
                              location="幸福路", description="垃圾", deadline=date(2024, 6, 10),
                              occurred_at=at(5))["task"]
    city.publish_june()
    assert city.figures(JUNE, "JS01")["due"] == 1
    city.fix.correct(actor_id="li", record=task, event=1, changes={"deadline": "2024-07-25"},
                     reason="期限录错")
    assert (city.figures(JUNE, "JS01")["due"], city.figures(JULY, "JS01")["due"]) == (0, 1)
    assert city.published_figures("JS01")["due"] == 1
    assert any(k.startswith(task) for k in city.causes())
    with refused(Refused, match=f"task {task} cannot be withdrawn: close it as void or "
                                      "duplicate"):
        city.fix.withdraw(actor_id="admin", record=task, reason="重复")


def test_units_corrected(city: City) -> None:
    city.publish_june()
    assert city.published_figures("JS")["required_inspections"] == 4  # two 社区, 2 each
    # JS02 was in truth set up in July: June asked no inspections of it.
    city.fix.correct(actor_id="admin", record="unit:JS02", event=None,
                     changes={"occurred_at": at(1, 7).isoformat()}, reason="成立日期录错")
    position = city.last_position()
    assert city.figures(JUNE, "JS")["required_inspections"] == 2
    assert city.published_figures("JS")["required_inspections"] == 4
    assert f"unit:JS02@{position}" in city.causes()
    # A 社区 registered under the wrong 街道 is moved: July's figures follow it.
    city.ledger.register_unit(actor_id="admin", code="HP", name="和平街道", kind="街道")
    city.ledger.register_unit(actor_id="admin", code="HP01", name="新村社区", kind="社区",
                              parent="HP")
    city.ledger.inspect(actor_id="li", unit="HP01", findings=[], occurred_at=at(8, 7))
    assert city.figures(JULY, "JS")["inspections"] == 0
    city.fix.correct(actor_id="admin", record="unit:HP01", event=None,
                     changes={"parent": "JS"}, reason="归属录错")
    assert city.figures(JULY, "JS")["inspections"] == 1
    assert city.figures(JULY, "HP")["inspections"] == 0
    assert {u["code"]: u["parent"] for u in ReadSide(city.store).units()}["HP01"] == "JS"
    with refused(Refused, match="unit JS02 cannot be withdrawn: retire it instead"):
        city.fix.withdraw(actor_id="admin", record="unit:JS02", reason="x")


def test_rules_adoptions_corrected_but_never_for_a_published_month(city: City) -> None:
    city.ledger.inspect(actor_id="li", unit="JS01", findings=[], occurred_at=at(8))
    city.publish_june()
    rules = "name = \"重巡查\"\nbase = 50\n[rates]\ninspection_coverage = { weight = 50 }\n"
    city.evaluations.adopt_rules(actor_id="admin", text=rules, source="test", from_month=JULY,
                                 reason="新细则")
    version = city.evaluations.rules_for(JULY).version

    def july_scores(rules_for: Any = city.evaluations.rules_for) -> dict[str, Any]:
        ranking = city.evaluator.ranking(city.evaluator.current(), JULY, "社区", rules_for)
        return {p.unit: p.placed.score for p in ranking.placements}
    assert july_scores() == {"JS01": 50, "JS02": 50}
    city.fix.correct(actor_id="admin", record=f"rules:{version}", event=None,
                     changes={"from_month": "2024-08"}, reason="延后施行")
    # July is scored by the rules in force before: the shipped ones.
    assert july_scores() == july_scores(lambda month: shipped_rules()) != {"JS01": 50,
                                                                           "JS02": 50}
    before = city.last_position()
    with refused(Refused, match="2024-06 is published and frozen"):
        city.fix.correct(actor_id="admin", record=f"rules:{version}", event=None,
                         changes={"from_month": JUNE}, reason="x")
    with refused(Refused, match="^the rules adoptions cannot be withdrawn: adopt the "
                                      r"right rules from the same month \(the later "
                                      r"adoption wins\)$"):
        city.fix.withdraw(actor_id="admin", record=f"rules:{version}", reason="x")
    assert city.last_position() == before
    _, rankings = city.evaluator.published(city.publication, city.evaluations.rules_for)
    assert digest(rankings) == city.publication["digest"]


def test_targets_reassigned_extended_corrected_and_withdrawn(city: City) -> None:
    indicators = with_system(city.ledger)
    first = indicators.assign_target(actor_id="admin", code="1.1", unit="JS01", target="20",
                                     measure="块", due=date(2024, 6, 30))["target_task"]
    second = indicators.assign_target(actor_id="admin", code="1.1", unit="JS01", target="20",
                                      measure="块", due=date(2024, 6, 30))["target_task"]
    indicators.report_progress(actor_id="zhao", target_id=first, value="10")
    indicators.verify_progress(actor_id="li", target_id=first)
    queries = IndicatorQueries(ReadSide(city.store))

    def status() -> dict[str, Any]:
        return {r["unit"]: (r["targets"], r["percent"], r["overdue"])
                for r in queries.status(by="unit")}
    city.clock.now = datetime(2024, 7, 2, tzinfo=timezone.utc)
    assert status() == {"JS01": (2, 25.0, 2)}
    city.fix.withdraw(actor_id="admin", record=second, reason="重复下达")
    assert status() == {"JS01": (1, 50.0, 1)}
    city.fix.correct(actor_id="admin", record=first, event=1, changes={"target": "12"},
                     reason="指标值录错")
    assert status() == {"JS01": (1, 83.3, 1)}
    indicators.extend_target(actor_id="admin", target_id=first, due=date(2024, 7, 31),
                             reason="汛期顺延", approver="admin")
    assert status() == {"JS01": (1, 83.3, 0)}
    indicators.reassign_target(actor_id="admin", target_id=first, unit="JS02", reason="属地调整")
    assert status() == {"JS02": (1, 83.3, 0)}
    with refused(Refused, match=f"target task {second} was withdrawn"):
        indicators.report_progress(actor_id="zhao", target_id=second, value="5")
    summary = summary_of(ReadSide(city.store), Period(date(2024, 6, 1), date(2024, 7, 31)))
    assert (summary.figures["targets_assigned"], summary.figures["targets_due"]) == (1, 1)


def test_people_corrected_and_the_last_admin_kept(city: City) -> None:
    city.fix.correct(actor_id="admin", record="person:sun", event=None,
                     changes={"person_role": "inspector"}, reason="角色录错")
    assert {p["id"]: p["role"] for p in ReadSide(city.store).people()}["sun"] == "inspector"
    before = city.last_position()
    with refused(Refused, match="person admin is the last active admin and cannot be "
                                      "retired"):
        city.ledger.retire_person(actor_id="admin", person_id="admin", reason="调离")
    with refused(Refused, match="person admin is the last active admin and cannot be "
                                      "demoted"):
        city.fix.correct(actor_id="admin", record="person:admin", event=None,
                         changes={"person_role": "auditor"}, reason="x")
    assert city.last_position() == before
    # With a second admin, either may go; then the one left may not.
    city.ledger.register_person(actor_id="admin", person_id="wu", name="吴主任", role="admin")
    city.fix.correct(actor_id="admin", record="person:wu", event=None,
                     changes={"person_role": "inspector"}, reason="任命录错")
    city.fix.correct(actor_id="admin", record="person:wu", event=None,
                     changes={"person_role": "admin"}, reason="任命确认")
    city.ledger.retire_person(actor_id="admin", person_id="wu", reason="调离")
    with refused(Refused, match="person admin is the last active admin"):
        city.ledger.retire_person(actor_id="admin", person_id="admin", reason="调离")


def test_a_correction_names_what_it_changes_and_refuses_what_it_cannot(city: City) -> None:
    city.ledger.inspect(actor_id="li", unit="JS01", findings=[], occurred_at=at(1))
    checks = [
        (("li", "I-000001", 2, {"unit": "JS02"}), "inspection I-000001 has no event 2 (it has 1)"),
        (("zhou", "I-000001", None, {"unit": "JS02"}),
         "event 1 of inspection I-000001 was recorded by li; only they or an admin may "
         "correct it, not zhou"),
        (("zhao", "I-000001", None, {"unit": "JS02"}),
         "event 1 of inspection I-000001 was recorded by li; only they or an admin may "
         "correct it, not zhao"),
        (("li", "I-000001", None, {"findings": "T-1"}),
         "field 'findings' of event 1 (Recorded) cannot be corrected (correctable: "
         "occurred_at, unit, inspectors, note)"),
        (("li", "I-000001", None, {"unit": "JS01"}),
         "unit of event 1 (Recorded) is already 'JS01': nothing to correct"),
        (("li", "I-000001", None, {"inspectors": "li,zhao"}),
         "inspector zhao is not an inspector"),
        (("li", "I-000001", None, {"unit": "XX"}), "unknown unit: XX"),
        (("li", "I-000001", None, {}), "a correction must change at least one field"),
        (("admin", "unit:JS", None, {"kind": "部门"}),
         "unit JS01 (社区) stands under JS: a 社区's parent cannot be a 部门"),
        (("admin", "unit:JS01", None, {"parent": "CGJ"}),
         "a 社区's parent must be a 街道, got CGJ (部门)"),
        (("admin", "person:zhao", None, {"unit": ""}),
         "a unit member needs a unit (person zhao)"),
        (("li", "rules:1", None, {"reason": "x"}),
         "unknown rules version: 1 (no rules have been adopted)"),
    ]
    for (actor, record, event, changes), message in checks:
        before = city.last_position()
        with pytest.raises(DomainError) as refused:
            city.fix.correct(actor_id=actor, record=record, event=event, changes=changes,
                             reason="录入错误")
        assert english(refused.value) == message
        assert city.last_position() == before, message


def test_registry_events_are_checked_against_their_own_earlier_events(city: City) -> None:
    city.ledger.retire_unit(actor_id="admin", code="JS02", reason="合并")
    with refused(Refused, match="unit JS02 is retired"):
        city.ledger.rename_unit(actor_id="admin", code="JS02", name="新名", reason="更名")
    with refused(Refused, match="unit JS02 is already retired"):
        city.ledger.retire_unit(actor_id="admin", code="JS02", reason="合并")
    with refused(Refused, match="is before the unit's latest event"):
        city.ledger.rename_unit(actor_id="admin", code="JS01", name="新名", reason="更名",
                                occurred_at=datetime(2024, 5, 20, tzinfo=timezone.utc))
    city.ledger.retire_person(actor_id="admin", person_id="sun", reason="调离")
    with refused(Refused, match="person sun is already retired"):
        city.ledger.retire_person(actor_id="admin", person_id="sun", reason="调离")


def test_a_superseded_value_is_corrected_in_history_only(city: City) -> None:
    city.ledger.rename_unit(actor_id="admin", code="JS01", name="幸福里社区", reason="更名")
    city.fix.correct(actor_id="admin", record="unit:JS01", event=1,
                     changes={"name": "幸福社区（原）"}, reason="原名录错")
    assert {u["code"]: u["name"] for u in ReadSide(city.store).units()}["JS01"] == "幸福里社区"
    assert city.ledger.unit("JS01").name == "幸福里社区"
    with speaking("en"):
        found = ReadSide(city.store).record_history("unit:JS01")
    assert [e["correction"] for e in found["events"]] == [
        "corrected by #3", "", "corrects #1 (Registered): name 幸福社区 → 幸福社区（原）"]
    city.fix.correct(actor_id="admin", record="unit:JS01", event=2, changes={"name": "幸福里"},
                     reason="新名录错")
    assert {u["code"]: u["name"] for u in ReadSide(city.store).units()}["JS01"] == "幸福里"


def test_every_record_people_enter_declares_fields_its_events_have() -> None:
    """Each record people enter is correctable, and what it declares correctable is a
    field of the event named (a misspelt field would never be correctable)."""
    import dataclasses

    from domain.corrections import Correctable
    from domain.evaluation import Evaluation
    from domain.inspection import Inspection
    from domain.registry import Person, Unit
    from domain.survey import Survey
    from domain.target import TargetTask
    from domain.task import Task

    for record in (Task, TargetTask, Survey, Inspection, Unit, Person, Evaluation):
        assert issubclass(record, Correctable), record
        assert record.Corrected.__qualname__ == f"{record.__name__}.Corrected"
        if record.WITHDRAW_ACTION:
            assert record.Withdrawn.__qualname__ == f"{record.__name__}.Withdrawn"
        else:
            assert record.WITHDRAW_INSTEAD
        for event, fields in record.CORRECTABLE.items():
            names = {f.name for f in dataclasses.fields(getattr(record, event))}
            assert set(fields) <= names, (record.__name__, event, set(fields) - names)
