"""How a person is told the program's codes: states, sources, closures, levels and kinds of
event, in the language in use. The one place for these names (the domain declares the
Chinese names of states, sources and closures with the codes, and of the kinds of event in
``domain/kinds.py``)."""

from __future__ import annotations

from collections.abc import Callable

from domain.kinds import kind_name
from domain.task_fields import CLOSURES, SOURCES
from domain.task_states import STATE_LABELS
from i18n import N_, _

ROLES: dict[str, str] = {"admin": N_("管理员"), "inspector": N_("巡查员"),
                         "unit": N_("责任单位人员"), "auditor": N_("审计员"), "clerk": N_("录入员")}


def state(code: str) -> str:
    """A task's state: 已签收 / acknowledged."""
    label = STATE_LABELS.get(code)
    return _(label) if label else code


def source(code: str) -> str:
    """Where a task came from: 巡查发现 / inspection."""
    label = SOURCES.get(code)
    return _(label) if label else code


def closure(code: str | None) -> str:
    """How a task was closed: 整改到位 / verified ('' when it is not closed)."""
    if not code:
        return ""
    label = CLOSURES.get(code)
    return _(label) if label else code


def role(code: str) -> str:
    """A person's role: 巡查员 / inspector."""
    label = ROLES.get(code)
    return _(label) if label else code


def level(name: str) -> str:
    """A level of the ranking (社区, 街道, …: the levels are Chinese data)."""
    return _(name)


def kind(name: str, record: str | None = None,
         translate: Callable[[str], str] = _) -> str:
    """A kind of event, ``Task.Assigned`` (or ``Assigned`` of a ``record`` kind ``Task``):
    交办 / Assigned (in English, the event's name in the code); a kind without a label keeps
    its name. ``translate``: the language's, where it is not the command's (the web's)."""
    if "." not in name and record:
        name = f"{record}.{name}"
    label = kind_name(name)
    return translate(label) if label else name.split(".", 1)[-1]
