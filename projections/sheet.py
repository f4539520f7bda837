"""The 台账 as a spreadsheet: the rows ``export board`` writes and the web board downloads —
one per task, with its unit's name, its state in words and times in the campaign's zone."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from domain.task import STATE_LABELS
from projections.events import who

EXPORT_COLUMNS = [
    ("task", "task"), ("unit", "unit"), ("unit_name", "unit name"), ("category", "category"),
    ("source", "source"), ("location", "location"), ("description", "description"),
    ("state", "state"), ("state_label", "状态"), ("closure", "closure"),
    ("assigned_at", "assigned at"), ("deadline", "deadline"),
    ("days_overdue", "overdue days"), ("notice_no", "notice"),
    ("rework_count", "rework"), ("escalations", "escalations"), ("cycle", "cycle"),
    ("last_action", "last action"), ("last_action_at", "last action at"),
    ("last_action_by", "last action by"),
    ("latitude", "latitude"), ("longitude", "longitude"),
]


def board_sheet(read: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Board rows (``ReadSide.board``) as sheet rows: unit names, state labels, who acted
    last (and who entered it for them), local times (naive, in the campaign's zone) and
    deadlines as dates."""
    names = {u["code"]: u["name"] for u in read.units()}
    zone = read.store.ledger.zone()
    actors = read.last_actors()
    for row in rows:
        row["unit_name"] = names.get(row["unit"], "")
        row["last_action_by"] = who(actors[row["task"]]) if row["task"] in actors else ""
        row["state_label"] = STATE_LABELS[row["state"]]
        for key in ("assigned_at", "last_action_at"):
            row[key] = datetime.fromisoformat(row[key]).astimezone(zone).replace(tzinfo=None)
        row["deadline"] = date.fromisoformat(row["deadline"])
    return rows


def as_text(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sheet rows with their times as text (``YYYY-MM-DD HH:MM:SS``), for CSV."""
    for row in rows:
        for key in ("assigned_at", "last_action_at"):
            row[key] = row[key].isoformat(sep=" ")
    return rows


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """An Excel workbook of sheet rows (one sheet, 台账)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append([key for key, _ in EXPORT_COLUMNS])
    for row in rows:
        sheet.append([row.get(key) for key, _ in EXPORT_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
