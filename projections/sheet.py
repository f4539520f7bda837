"""The 台账 as a spreadsheet: the rows ``export board`` writes and the web board downloads —
one per task, with its unit's name, its state in words and times in the campaign's zone —
under a header row in the reader's language (the command's, or the pages')."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from domain.task_states import STATE_LABELS
from i18n import N_, _
from projections.events import who
from projections.times import for_machines, local_moment

EXPORT_COLUMNS = [
    ("task", N_("任务")), ("unit", N_("责任单位")), ("unit_name", N_("单位名称")),
    ("category", N_("问题类别")), ("source", N_("来源")), ("location", N_("地点")),
    ("description", N_("问题描述")), ("state", N_("状态代码")), ("state_label", N_("状态")),
    ("closure", N_("销号方式")), ("assigned_at", N_("交办于")), ("deadline", N_("整改期限")),
    ("days_overdue", N_("超期天数")), ("notice_no", N_("整改通知书编号")),
    ("rework_count", N_("返工次数")), ("escalations", N_("督办次数")),
    ("cycle", N_("整改轮次")), ("last_action", N_("最后操作")),
    ("last_action_at", N_("最后操作时间")), ("last_action_by", N_("最后操作人")),
    ("latitude", N_("纬度")), ("longitude", N_("经度")),
]


def headers(translate: Callable[[str], str] = _) -> list[str]:
    """The header row, in the language ``translate`` speaks."""
    return [translate(label) for _key, label in EXPORT_COLUMNS]


def board_sheet(read: Any, rows: list[dict[str, Any]],
                translate: Callable[[str], str] = _) -> list[dict[str, Any]]:
    """Board rows (``ReadSide.board``) as sheet rows: unit names, state labels, who acted
    last (and who entered it for them), local times (in the campaign's zone) and
    deadlines as dates."""
    names = {u["code"]: u["name"] for u in read.units()}
    zone = read.store.ledger.zone()
    actors = read.last_actors()
    for row in rows:
        row["unit_name"] = names.get(row["unit"], "")
        row["last_action_by"] = who(actors[row["task"]]) if row["task"] in actors else ""
        row["state_label"] = translate(STATE_LABELS[row["state"]])
        for key in ("assigned_at", "last_action_at"):
            row[key] = local_moment(row[key], zone)
        row["deadline"] = date.fromisoformat(row["deadline"])
    return rows


def as_text(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sheet rows with their times as text, for CSV: ISO 8601 with the campaign's offset,
    to the second (projections/times.py)."""
    for row in rows:
        for key in ("assigned_at", "last_action_at"):
            row[key] = for_machines(row[key], row[key].tzinfo)
    return rows


def to_csv(rows: list[dict[str, Any]], translate: Callable[[str], str] = _) -> str:
    """CSV of sheet rows under the header row, times as text (:func:`as_text`), a blank
    for no value; lines end with a newline (the caller adds Excel's BOM)."""
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers(translate))
    writer.writerows([["" if row.get(key) is None else row[key] for key, _label in EXPORT_COLUMNS]
                      for row in as_text(rows)])
    return out.getvalue()


def to_xlsx(rows: list[dict[str, Any]], translate: Callable[[str], str] = _) -> bytes:
    """An Excel workbook of sheet rows (one sheet, 台账)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(headers(translate))
    for row in rows:
        # Excel holds no offset: date-times in the campaign's zone, as the README says.
        sheet.append([_cell(row.get(key)) for key, _label in EXPORT_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else value
