"""A task's metric items: what its events make of it, by the definitions of
``projections/metrics.py`` (its module text): one item per assignment, due cycle,
re-inspection, verification, closure, reopening, escalation and acknowledged complaint, and
one overdue span per cycle, each with the month it falls in and the unit that answers for it.

The task's events come compacted (``projections.metrics.compact``), each under its class's
name; what each class is to the items is the table :data:`ROLES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.base import LedgerEvent
from domain.months import OPEN_END, month_add, month_of
from domain.task import Task
from projections.facts import Context

Item = dict[str, Any]
# A survey's rates, kept as the metrics' survey rows' columns.
SURVEY_RATES = ("awareness", "participation", "satisfaction")

# What an event of a task is to its items.
START = "starts a cycle"
DEADLINE = "sets the cycle's deadline"
PASSED = "passes the cycle's re-inspection"
FAILED = "fails a re-inspection"
ESCALATED = "escalates"
CLOSED = "closes the cycle"
REASSIGNED = "hands the cycle to another unit"
RESPONSE = "answers a complaint"
CORRECTION = "corrects an event"
ROLES: dict[type[LedgerEvent], str | None] = {
    Task.Assigned: START, Task.Reopened: START,
    Task.NoticeIssued: DEADLINE, Task.DeadlineExtended: DEADLINE,
    Task.ReinspectionPassed: PASSED, Task.ReinspectionFailed: FAILED,
    Task.Escalated: ESCALATED, Task.Closed: CLOSED, Task.Reassigned: REASSIGNED,
    Task.Acknowledged: RESPONSE, Task.Corrected: CORRECTION,
    # A report, an extension request and its decision (the extension it grants comes as
    # DeadlineExtended), and evidence make no item.
    Task.RectificationReported: None, Task.ExtensionRequested: None,
    Task.ExtensionApproved: None, Task.ExtensionRefused: None, Task.EvidenceAttached: None,
}
# The same by the name a compacted event keeps.
_ROLE_OF = {cls.__name__: role for cls, role in ROLES.items()}
CORRECTED = Task.Corrected.__name__


@dataclass
class _Cycle:
    start: dict[str, Any]  # the event that started it (Assigned or Reopened)
    unit: str
    deadline: str
    deadline_event: dict[str, Any]
    reinspections: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    passed: dict[str, Any] | None = None
    closed: dict[str, Any] | None = None


def corrected(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The task's events as its corrections say they were (corrections themselves left
    out), in order. Uncorrected events are returned as they are: do not change them."""
    if all(e["k"] != CORRECTED for e in events) and all(
            a["v"] < b["v"] for a, b in zip(events, events[1:])):
        return events
    by_version = {e["v"]: dict(e) for e in events if e["k"] != CORRECTED}
    for correction in (e for e in events if e["k"] == CORRECTED):
        target = by_version.get(correction["corrects"])
        if target is None:
            continue
        for name, value in correction["changes"].items():
            target["at" if name == "occurred_at" else name] = value
    return [by_version[v] for v in sorted(by_version)]


def derive(task: str, events: list[dict[str, Any]], ctx: Context
           ) -> tuple[list[Item], str]:
    """The items a task's events make, and the unit holding the task now."""
    replayed = corrected(events)
    assigned = replayed[0]
    source = assigned["source"]
    holder = assigned["unit"]
    received = assigned
    cycles: list[_Cycle] = []
    responses: list[Item] = []
    month = ctx.month
    cycle = None
    for e in replayed:
        role = _ROLE_OF.get(e["k"])
        if role is START:
            cycle = _Cycle(e, holder, e["deadline"], e)
            cycles.append(cycle)
        elif cycle is None or role is None:
            continue
        elif role is PASSED:
            cycle.reinspections.append(e)
            cycle.passed = e
        elif role is DEADLINE:
            if e.get("deadline"):
                cycle.deadline, cycle.deadline_event = e["deadline"], e
        elif role is FAILED:
            cycle.reinspections.append(e)
        elif role is ESCALATED:
            cycle.escalations.append(e)
        elif role is CLOSED:
            cycle.closed = e
        elif role is REASSIGNED:
            holder = e["unit"]
            cycle.unit = holder
            received = e
        elif role is RESPONSE and source == "complaint":
            at = e["at"]
            hours = (datetime.fromisoformat(at)
                     - datetime.fromisoformat(received["at"])).total_seconds() / 3600
            responses.append({"kind": "response", "task": task, "month": month(at),
                              "unit": holder, "at": at, "events": [_ref(received), _ref(e)],
                              "hours": round(hours, 6)})

    at = assigned["at"]
    items = [{"kind": "assigned", "task": task, "month": month(at), "unit": cycles[0].unit,
              "at": at, "events": [_ref(assigned)], "source": source,
              "category": assigned["category"], "location": assigned["location"]}]
    for index, cycle in enumerate(cycles):
        unit = cycle.unit
        start = cycle.start
        if index:
            at = start["at"]
            items.append({"kind": "reopened", "task": task, "month": month(at),
                          "unit": cycles[index - 1].unit, "at": at, "events": [_ref(start)]})
        for e in cycle.reinspections:
            at = e["at"]
            items.append({"kind": "reinspection", "task": task, "month": month(at),
                          "unit": unit, "at": at, "events": [_ref(e)],
                          "failed": _ROLE_OF[e["k"]] is FAILED})
        for e in cycle.escalations:
            at = e["at"]
            items.append({"kind": "escalated", "task": task, "month": month(at), "unit": unit,
                          "at": at, "events": [_ref(e)]})
        closed = cycle.closed
        if closed is not None:
            if closed["closure"] != "verified":
                continue  # void: never a rectification the unit owed
            at = closed["at"]
            items.append({"kind": "closed", "task": task, "month": month(at), "unit": unit,
                          "at": at, "events": [_ref(closed)],
                          "category": assigned["category"], "location": assigned["location"]})
        basis = [_ref(start)]
        if cycle.deadline_event is not start:
            basis.append(_ref(cycle.deadline_event))
        deadline = date.fromisoformat(cycle.deadline)
        passed = cycle.passed
        passed_on = date.fromordinal(ctx.day_number(passed["at"])) if passed else None
        on_time = passed_on is not None and passed_on <= deadline
        items.append({"kind": "due", "task": task, "month": cycle.deadline[:7], "unit": unit,
                      "at": None, "events": basis + ([_ref(passed)] if passed else []),
                      "deadline": cycle.deadline, "on_time": on_time})
        if passed is not None:
            at = passed["at"]
            days = (datetime.fromisoformat(at)
                    - datetime.fromisoformat(start["at"])).total_seconds() / 86400
            items.append({"kind": "verified", "task": task, "month": month(at), "unit": unit,
                          "at": at, "events": [_ref(start), _ref(passed)],
                          "days": round(days, 6)})
        # Overdue at the end of month M: the deadline is before M's last day, and the
        # cycle was not verified by then.
        if on_time:
            continue
        first = month_of(deadline + timedelta(days=1))
        last = OPEN_END if passed_on is None else month_add(month_of(passed_on), -1)
        if first <= last:
            items.append({"kind": "overdue", "task": task, "month": first, "unit": unit,
                          "at": None, "events": [[*ref] for ref in basis],
                          "deadline": cycle.deadline, "to": last})
    return items + responses, holder


def _ref(event: dict[str, Any]) -> list[Any]:
    """How an item names an event of its task: [version, kind, occurred_at]."""
    return [event["v"], event["k"], event["at"]]
