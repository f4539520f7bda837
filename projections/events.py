"""The event index: one row per stored event, for the auditors' timeline.

Each row says what the event is (position, originator, kind), when it happened and when the
ledger learned of it (valid and transaction time, and how late it was entered), who did it
in which role and from which account, which unit it concerns, and a one-line summary. The
timeline's filters (unit, valid time, transaction time, actor) are indexed columns here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa

from domain.task import CLOSURES, SOURCES
from projections.engine import Context, Fact, Key, Projection, Rows

SKIPPED_FIELDS = {"occurred_at", "actor", "role", "timestamp", "originator_topic"}


def late_days(fact: Fact, ctx: Context) -> int:
    """Calendar days (in the campaign's zone) between when it happened and when the ledger
    learned of it: 0 for an entry made the same day."""
    days = (date.fromisoformat(ctx.local_date(fact.recorded_at))
            - date.fromisoformat(ctx.local_date(fact.occurred_at))).days
    return max(0, days)


def reason_of(fact: Fact) -> str:
    """The reason or note a person gave with the event ('' if none)."""
    return str(fact.data.get("reason") or fact.data.get("note") or "")


def evidence_of(fact: Fact) -> list[dict[str, str]]:
    return list(fact.data.get("evidence") or [])


def evidence_text(items: list[dict[str, str]]) -> str:
    """Evidence references in one line: file (description) [sha256 prefix]."""
    return "; ".join(
        item["file"] + (f" ({item['description']})" if item.get("description") else "")
        + (f" [{item['sha256'][:12]}]" if item.get("sha256") else "")
        for item in items)


def summarize(fact: Fact) -> str:
    """What happened, in one line (the reason and evidence are given apart)."""
    d = fact.data
    kind = fact.kind
    name = kind.split(".", 1)[-1]
    if kind == "Task.Assigned":
        return (f"assigned to {d['unit']} ({SOURCES.get(d['source'], d['source'])}): "
                f"{d['category']} · {d['location']} · {d['description']} · "
                f"deadline {d['deadline']}")
    if kind == "Task.Acknowledged":
        return "acknowledged 签收"
    if kind == "Task.NoticeIssued":
        text = f"rectification notice {d['notice_no']} 整改通知书"
        if d.get("deadline"):
            text += f", deadline {d['deadline']}"
        return text + (f": {d['requirements']}" if d.get("requirements") else "")
    if kind == "Task.RectificationReported":
        return f"rectification reported: {d['description']}"
    if kind == "Task.ReinspectionPassed":
        return "re-inspection passed 整改到位"
    if kind == "Task.ReinspectionFailed":
        return "re-inspection failed 返工"
    if kind == "Task.DeadlineExtended":
        return f"deadline extended {d['previous_deadline']} → {d['deadline']}"
    if kind == "Task.Escalated":
        return "escalated 督办"
    if kind == "Task.EvidenceAttached":
        return "evidence attached"
    if kind == "Task.Closed":
        label = CLOSURES.get(d["closure"])
        return f"closed 销号 ({d['closure']}" + (f" {label})" if label else ")")
    if kind == "Task.Reopened":
        return f"reopened 反弹, deadline {d['deadline']}"
    if kind == "Task.Reassigned":
        return f"reassigned {d['previous_unit']} → {d['unit']}"
    if kind == "Task.Corrected":
        changes = ", ".join(f"{k} = {v}" for k, v in d["changes"].items())
        return f"corrects event {d['corrects']}: {changes}"
    if kind == "Inspection.Recorded":
        found = ", ".join(d["findings"]) or "no problem found"
        return f"inspection of {d['unit']} by {', '.join(d['inspectors'])}: {found}"
    if kind == "Campaign.Started":
        return f"campaign {d['name']} started ({d['time_zone']})"
    if kind == "Unit.Registered":
        return (f"unit {d['code']} {d['name']} ({d['kind']}) registered"
                + (f" under {d['parent']}" if d.get("parent") else ""))
    if kind == "Unit.Renamed":
        return f"unit renamed {d['name']}"
    if kind == "Person.Registered":
        return (f"person {d['person_id']} {d['name']} registered as {d['person_role']}"
                + (f" of {d['unit']}" if d.get("unit") else ""))
    fields = ", ".join(f"{k} = {v}" for k, v in d.items()
                       if k not in SKIPPED_FIELDS and k not in ("reason", "note", "evidence")
                       and isinstance(v, (str, int, float)) and v != "")
    return f"{name}" + (f": {fields}" if fields else "")


class EventIndex(Projection):
    """One row per event: when (valid and transaction time), who, which unit, what."""

    name = "events"

    def define(self) -> None:
        self.table(
            "events",
            sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("originator", sa.String(64), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("occurred_at", sa.String(32), nullable=False),
            sa.Column("occurred_on", sa.String(10), nullable=False, index=True),
            sa.Column("recorded_at", sa.String(32), nullable=False, index=True),
            sa.Column("late_days", sa.Integer, nullable=False),
            sa.Column("actor", sa.String(40), nullable=False, index=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("account", sa.Text, nullable=False),
            sa.Column("unit", sa.String(40), index=True),
            sa.Column("other_unit", sa.String(40), index=True),
            sa.Column("summary", sa.Text, nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("evidence", sa.Text, nullable=False),
        )
        # The unit each aggregate (task, target, person …) belongs to now, for its later
        # events, which do not name it.
        self.table(
            "event_owners",
            sa.Column("originator", sa.String(64), primary_key=True),
            sa.Column("unit", sa.String(40), nullable=False),
        )

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        if fact.version > 1:
            return [("event_owners", (fact.originator_id,))]
        return []

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        other = None
        if fact.kind.startswith("Unit."):
            unit = fact.originator_id.split(":", 1)[1]
        elif "unit" in d:
            unit = d["unit"]
            other = d.get("previous_unit")
            if unit:
                rows.put("event_owners", (fact.originator_id,),
                         {"originator": fact.originator_id, "unit": unit})
        else:
            owner = rows.get("event_owners", (fact.originator_id,))
            unit = owner["unit"] if owner else None
        rows.put("events", (fact.position,), row_of(fact, ctx, unit, other))


def row_of(fact: Fact, ctx: Context, unit: str | None, other: str | None) -> dict[str, Any]:
    """The index row of one event."""
    return {
        "position": fact.position, "originator": fact.originator_id,
        "version": fact.version, "kind": fact.kind, "occurred_at": ctx.utc(fact.occurred_at),
        "occurred_on": ctx.local_date(fact.occurred_at), "recorded_at": fact.recorded_at,
        "late_days": late_days(fact, ctx), "actor": fact.data.get("actor", ""),
        "role": fact.data.get("role", ""), "account": fact.account, "unit": unit,
        "other_unit": other, "summary": summarize(fact), "reason": reason_of(fact),
        "evidence": evidence_text(evidence_of(fact)),
    }
