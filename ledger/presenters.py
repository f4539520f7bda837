"""What the write side answers: registries, tasks and events as plain data (dates and
times as ISO text), for the commands to print and the web pages to show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.registry import Campaign, Person, Unit
from domain.task import Task


def event_details(event: Any) -> dict[str, Any]:
    """An event's own fields as plain data (dates and times as ISO text)."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: plain(v) for k, v in vars(event).items() if k not in skip}


def plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def describe_unit(unit: Unit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "parent": unit.parent,
            "retired": unit.retired}


def describe_person(person: Person) -> dict[str, Any]:
    return {"id": person.person_id, "name": person.name, "role": person.person_role,
            "unit": person.unit, "retired": person.retired}


def describe_task(task: Task, today: date) -> dict[str, Any]:
    """A task's current state as plain data; overdue as of ``today``."""
    return {
        "task": task.id, "unit": task.unit, "category": task.category, "source": task.source,
        "location": task.location, "description": task.description, "state": task.state,
        "closure": task.closure, "acknowledged": task.acknowledged,
        "notice_no": task.notice_no, "deadline": task.deadline.isoformat(),
        "overdue": task.is_overdue(today), "cycle": task.cycle,
        "rework_count": task.rework_count, "escalations": task.escalations,
        "inspection": task.inspection, "assigned_at": task.assigned_at.isoformat(),
        "latitude": task.latitude, "longitude": task.longitude, "version": task.version,
    }


def describe_campaign(campaign: Campaign) -> dict[str, Any]:
    return {"name": campaign.name, "time_zone": campaign.time_zone,
            "categories": list(campaign.categories),
            "required_inspections": campaign.required_inspections,
            "recurrence_window_days": campaign.recurrence_window_days,
            "recurrence_lookback_months": campaign.recurrence_lookback_months}
