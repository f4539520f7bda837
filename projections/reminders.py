"""Reminders (到期提醒): per responsible unit, its tasks overdue and due soon, as rows and
as one Chinese message per unit that an office pastes into the unit's chat group.

Pure: the board's rows (with days overdue, and working days left where counted) in, the
groups and texts out; which rows are due soon is the board's ``due_by`` filter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from i18n import N_
from projections.summary import chinese_day

OVERDUE = "overdue"
DUE = "due"
LABELS = {OVERDUE: "已超期", DUE: "即将到期"}


def group(rows: Iterable[dict[str, Any]], names: dict[str, str], today: date
          ) -> list[dict[str, Any]]:
    """Rows grouped by unit (in code order), each unit's overdue tasks first (most overdue
    first), then those due soon (soonest first); each row gets its ``status`` and
    ``days_left`` (calendar days to the deadline, 0 today)."""
    units: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days_left = (date.fromisoformat(row["deadline"]) - today).days
        row = {**row, "unit_name": names.get(row["unit"], row["unit"]),
               "status": OVERDUE if days_left < 0 else DUE, "days_left": days_left}
        units.setdefault(row["unit"], []).append(row)
    groups = []
    for unit in sorted(units):
        tasks = sorted(units[unit], key=lambda r: (r["days_left"], r["task"]))
        groups.append({
            "unit": unit, "unit_name": names.get(unit, unit),
            "overdue": [r for r in tasks if r["status"] == OVERDUE],
            "due": [r for r in tasks if r["status"] == DUE],
        })
    return groups


def when_text(row: dict[str, Any], translate: Callable[[str], str] = str) -> str:
    """How the deadline stands, with the working days where they were counted (as the board
    counts them): 已超期3天（2个工作日）, 今天到期, 还剩2天（2个工作日）; in the chat message
    always Chinese, in a table as ``translate`` (the catalogue's ``_``) says."""
    days, working = row["days_left"], row.get("working_days_left")
    if days < 0:
        return translate(N_("已超期{days}天")).format(days=-days) + (
            translate(N_("（{n}个工作日）")).format(n=-working) if working and working < 0
            else "")
    if days == 0:
        return translate(N_("今天到期"))
    return translate(N_("还剩{days}天")).format(days=days) + (
        translate(N_("（{n}个工作日）")).format(n=working) if working is not None else "")


def message(unit: dict[str, Any], today: date, office: str) -> str:
    """One unit's reminder as a chat message (plain text with Markdown-safe numbering)."""
    lines = [f"【到期提醒】{unit['unit_name']}：",
             f"截至{chinese_day(today)}，贵单位有以下整改任务"
             + ("已超期或即将到期" if unit["overdue"] and unit["due"]
                else "已超期" if unit["overdue"] else "即将到期")
             + "，请抓紧整改，按时上报整改情况和整改前后对比照片。"]
    sections = [(LABELS[OVERDUE], unit["overdue"]), (LABELS[DUE], unit["due"])]
    for number, (label, tasks) in enumerate((s for s in sections if s[1]), start=1):
        lines.append("")
        lines.append(f"{'一二'[number - 1]}、{label}（{len(tasks)}项）")
        for n, row in enumerate(tasks, start=1):
            asked = (f"；已申请延期至{row['extension_requested']}，待审批"
                     if row.get("extension_requested") else "")
            lines.append(f"{n}. {row['task']} {row['category']}｜{row['location']}｜"
                         f"{row['description']}；整改时限{row['deadline']}，"
                         f"{when_text(row)}{asked}")
    lines.append("")
    lines.append(f"——{office}")
    return "\n".join(lines)
