"""A refusal is words in two languages: its Chinese (``str()``, what the command line says
by default) and, through the catalogue, its English; the values that are words themselves
(a state, a closure, a role, an action, a field) are said in the language of the message."""

from __future__ import annotations

from datetime import date

import pytest
from said_support import english

from domain.base import Actor, Label, Refused, check_day, require_text
from domain.roles import ACTION_NAMES, FOR_ROLES, PERMISSIONS, ROLE_NAMES, ROLES, authorize
from domain.task_fields import CLOSURES
from domain.task_states import STATE_LABELS, STATES
from tests.tier1_domain.test_domain_task import NOW, Story, closed


def said(command: object) -> Refused:
    with pytest.raises(Refused) as refused:
        command()  # type: ignore[operator]
    return refused.value


def test_a_refusal_says_the_task_and_its_state_in_either_language() -> None:
    story = Story(notice=True)
    refusal = said(lambda: story.close(closure="verified"))
    assert str(refusal) == "任务 T-000001 状态为整改中，没有通过的复查，不能按整改到位销号"
    assert english(refusal) == ("task T-000001 cannot be closed as verified: it is "
                                "rectifying and has no passed re-inspection")
    assert refusal.values == {"task": "T-000001", "state": "整改中"}
    assert isinstance(refusal.values["state"], Label)


@pytest.mark.parametrize("state", STATES)
def test_each_state_is_said_as_before_in_english(state: str) -> None:
    refusal = Refused("任务 {task} 状态为{state}，不能延期", task="T-000009",
                      state=Label(STATE_LABELS[state]))
    assert str(refusal) == f"任务 T-000009 状态为{STATE_LABELS[state]}，不能延期"
    assert english(refusal) == f"task T-000009 cannot be extended: it is {state}"


@pytest.mark.parametrize("closure", ["void", "duplicate", "not_responsible"])
def test_a_closure_is_said_in_the_language_of_the_message(closure: str) -> None:
    story = closed(closure)
    refusal = said(lambda: story.task.escalate(reason="再查", actor=Actor("li", "inspector"),
                                               occurred_at=story.next(), now=NOW))
    assert str(refusal) == f"任务 T-000001 已销号（{CLOSURES[closure]}），不能再督办"
    assert english(refusal) == (f"task T-000001 cannot be escalated: it is closed "
                                f"({closure.replace('_', ' ')})")


def test_a_role_and_an_action_are_said_in_the_language_of_the_message() -> None:
    refusal = said(lambda: authorize(Actor("sun", "auditor"), "attach_evidence", "JS01"))
    assert str(refusal) == "sun（审计员）无权附加证据材料：此操作仅限管理员、巡查员、责任单位人员"
    assert english(refusal) == "sun (auditor) may not attach evidence: that is for admin, " \
        "inspector, unit"


def test_every_action_and_role_has_its_words() -> None:
    """A refusal names every action of the permission table, and those it is for."""
    assert set(ACTION_NAMES) == set(PERMISSIONS)
    assert set(PERMISSIONS.values()) <= set(FOR_ROLES)
    assert set(ROLE_NAMES) == set(ROLES)
    for action, roles in PERMISSIONS.items():
        denied = next(role for role in ROLES if role not in roles)
        said_en = english(said(lambda: authorize(Actor("x", denied, "JS01"), action)))
        assert said_en.endswith("that is for " + ", ".join(sorted(roles))), said_en


def test_a_field_is_named_in_the_language_of_the_message() -> None:
    refusal = said(lambda: require_text("reason", "  "))
    assert str(refusal) == "「理由」不能为空（收到 '  '）"
    assert english(refusal) == "reason must not be empty (got '  ')"
    refusal = said(lambda: check_day("deadline", date(1899, 12, 31)))
    assert str(refusal) == "「整改期限」为 1899-12-31，超出台账接受的日期范围（1900-01-01 至 2099-12-31）"
    assert english(refusal) == ("deadline 1899-12-31 is outside the days the ledger takes "
                                "(1900-01-01 to 2099-12-31)")
