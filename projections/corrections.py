"""How the read models take a correction or a withdrawal of a record (see
``domain/corrections.py``): the one reading of a ``….Corrected`` fact that every fold uses."""

from __future__ import annotations

from typing import Any

from i18n import _
from domain.corrections import Correction, Withdrawal
from domain.kinds import event_classes
from projections.facts import Fact

# Every record's correction and withdrawal events (``Task.Corrected``, ``Survey.Withdrawn``
# …): the classes ``domain.corrections.Correctable`` gives each record.
CORRECTIONS = frozenset(c for c in event_classes() if issubclass(c, Correction))
WITHDRAWALS = frozenset(c for c in event_classes() if issubclass(c, Withdrawal))


def is_correction(fact: Fact) -> bool:
    return fact.event in CORRECTIONS


def is_withdrawal(fact: Fact) -> bool:
    return fact.event in WITHDRAWALS


def corrected(fact: Fact) -> tuple[str, dict[str, Any]]:
    """The name of the event a correction corrects, and the changes a read model of the
    record as it stands now takes: the fields whose current value changed, and
    ``occurred_at`` (the corrected event's valid time)."""
    d = fact.data
    current = d.get("current")
    changes = {k: v for k, v in d["changes"].items()
               if k == "occurred_at" or current is None or k in current}
    return d.get("corrects_event", ""), changes


def described(fact: Fact) -> str:
    """A correction or withdrawal in one line, for the timeline and history."""
    d = fact.data
    if is_withdrawal(fact):
        return _("已撤回：不再计入")
    previous = d.get("previous") or {}
    changes = ", ".join(
        (f"{k} {text_of(previous[k])} → {text_of(v)}" if k in previous else f"{k} = {text_of(v)}")
        for k, v in d["changes"].items())
    if d.get("corrects_event"):
        return _("更正第 {event} 个事件（{name}）：{changes}").format(
            event=d["corrects"], name=d["corrects_event"], changes=changes)
    return _("更正第 {event} 个事件：{changes}").format(event=d["corrects"], changes=changes)


def text_of(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
