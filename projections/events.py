"""The event index: one row per stored event, for the auditors' timeline.

Each row says what the event is (position, originator, kind), when it happened and when the
ledger learned of it (valid and transaction time, and how late it was entered), who did it
in which role and from which account, which unit it concerns, and a one-line summary. The
timeline's filters (unit, valid time, transaction time, actor) are indexed columns here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from domain.accounts import Account
from domain.audit import AuditLog
from domain.base import LedgerEvent
from domain.evaluation import Evaluation
from domain.indicators import IndicatorSystem
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import CLOSURES, SOURCES, Task
from projections.corrections import (
    CORRECTIONS,
    WITHDRAWALS,
    corrected,
    described,
    is_correction,
    is_withdrawal,
)
from projections.facts import Context, Fact, Key
from projections.projection import Projection, events_of
from projections.rows import Rows

SKIPPED_FIELDS = {"occurred_at", "actor", "role", "entered_by", "timestamp", "originator_topic"}


def late_days(fact: Fact, ctx: Context) -> int:
    """Calendar days (in the campaign's zone) between when it happened and when the ledger
    learned of it: 0 for an entry made the same day."""
    return max(0, ctx.day_number(fact.recorded_at) - ctx.day_number(fact.occurred_at))


def who(row: dict[str, Any]) -> str:
    """Who acted, and who entered it for them when that was someone else (代录)."""
    acted = f"{row['actor']} ({row['role']})"
    if row.get("entered_by"):
        return f"entered by {row['entered_by']} for {acted}"
    return acted


def reason_of(fact: Fact) -> str:
    """The reason or note a person gave with the event ('' if none)."""
    return fact.data.get("reason") or fact.data.get("note") or ""


def evidence_of(fact: Fact) -> list[dict[str, str]]:
    return list(fact.data.get("evidence") or [])


def evidence_text(items: list[dict[str, str]]) -> str:
    """Evidence references in one line: file (description) [sha256 prefix]."""
    return "; ".join(
        item["file"] + (f" ({item['description']})" if item.get("description") else "")
        + (f" [{item['sha256'][:12]}]" if item.get("sha256") else "")
        + (" [kept elsewhere]" if item.get("elsewhere") else "")
        for item in items)


def _closed(d: dict[str, Any]) -> str:
    label = CLOSURES.get(d["closure"])
    return f"closed 销号 ({d['closure']}" + (f" {label})" if label else ")")


def _deadline(d: dict[str, Any]) -> str:
    """A deadline as recorded: its date, and the rule it was given as ("7个工作日")."""
    rule = d.get("deadline_rule")
    return f"deadline {d['deadline']}" + (f" ({rule})" if rule else "")


def _notice(d: dict[str, Any]) -> str:
    text = f"rectification notice {d['notice_no']} 整改通知书"
    if d.get("deadline"):
        text += f", {_deadline(d)}"
    return text + (f": {d['requirements']}" if d.get("requirements") else "")


def generic(fact: Fact) -> str:
    """An event the index has no words of its own for: its name and plain fields."""
    fields = ", ".join(f"{k} = {v}" for k, v in fact.data.items()
                       if k not in SKIPPED_FIELDS and k not in ("reason", "note", "evidence")
                       and isinstance(v, (str, int, float)) and v != "")
    name = fact.kind.split(".", 1)[-1]
    return name + (f": {fields}" if fields else "")


def _words(summary: Callable[[dict[str, Any]], str]) -> Callable[[Fact], str]:
    return lambda fact: summary(fact.data)


# Per event class, its one line on the timeline: words of its own, a correction's or
# withdrawal's description, or (said so here) its name and plain fields.
SUMMARIES: dict[type[LedgerEvent], Callable[[Fact], str]] = {k: _words(v) for k, v in {
    Task.Assigned: lambda d: (
        f"assigned to {d['unit']} ({SOURCES.get(d['source'], d['source'])}): "
        f"{d['category']} · {d['location']} · {d['description']} · {_deadline(d)}"),
    Task.Acknowledged: lambda d: "acknowledged 签收",
    Task.NoticeIssued: _notice,
    Task.RectificationReported: lambda d: f"rectification reported: {d['description']}",
    Task.ReinspectionPassed: lambda d: "re-inspection passed 整改到位",
    Task.ReinspectionFailed: lambda d: "re-inspection failed 返工",
    Task.DeadlineExtended: lambda d: (
        f"deadline extended {d['previous_deadline']} → {d['deadline']}"
        + (f" ({d['deadline_rule']} more)" if d.get("deadline_rule") else "")),
    Task.ExtensionRequested: lambda d: (
        f"extension requested 申请延期 {d['current_deadline']} → {d['deadline']}"
        + (f" ({d['deadline_rule']} more)" if d.get("deadline_rule") else "")),
    Task.ExtensionApproved: lambda d: f"extension request (event {d['request']}) approved",
    Task.ExtensionRefused: lambda d: f"extension request (event {d['request']}) refused",
    Task.Escalated: lambda d: "escalated 督办",
    Task.EvidenceAttached: lambda d: "evidence attached",
    Task.Closed: _closed,
    Task.Reopened: lambda d: f"reopened 反弹, {_deadline(d)}",
    Task.Reassigned: lambda d: f"reassigned {d['previous_unit']} → {d['unit']}",
    Inspection.Recorded: lambda d: (
        f"inspection of {d['unit']} by {', '.join(d['inspectors'])}: "
        + (", ".join(d["findings"]) or "no problem found")),
    Campaign.Started: lambda d: f"campaign {d['name']} started ({d['time_zone']})",
    Campaign.LocalHolidayAdded: lambda d: f"local holiday {d['day']} (not a working day)",
    Campaign.LocalWorkdayAdded: lambda d: f"local working day {d['day']}",
    Unit.Registered: lambda d: (
        f"unit {d['code']} {d['name']} ({d['kind']}) registered"
        + (f" under {d['parent']}" if d.get("parent") else "")),
    Unit.Renamed: lambda d: f"unit renamed {d['name']}",
    Survey.Recorded: lambda d: (
        f"survey of {d['unit']} for {d['month']}: 知晓率 {d['awareness']:g}% · 参与率 "
        f"{d['participation']:g}% · 满意度 {d['satisfaction']:g}% · {d['sample']} 人"),
    TargetTask.Reassigned: lambda d: f"reassigned {d['previous_unit']} → {d['unit']}",
    TargetTask.DueExtended: lambda d: (
        f"due date extended {d['previous_due']} → {d['due']}, approved by {d['approver']}"),
    Person.Registered: lambda d: (
        f"person {d['person_id']} {d['name']} registered as {d['person_role']}"
        + (f" of {d['unit']}" if d.get("unit") else "")),
}.items()}
SUMMARIES.update(dict.fromkeys(CORRECTIONS | WITHDRAWALS, described))
SUMMARIES.update(dict.fromkeys((
    Account.Bound, Account.Rebound, Account.Unbound, AuditLog.Opened,
    AuditLog.CheckpointRecorded, Campaign.CategoryAdded, Campaign.SettingsChanged,
    Evaluation.Opened, Evaluation.RulesAdopted, Evaluation.MonthPublished,
    IndicatorSystem.Opened, IndicatorSystem.VersionAdopted, Person.Retired,
    TargetTask.Assigned, TargetTask.ProgressReported, TargetTask.ProgressVerified,
    TargetTask.ProgressRejected, TargetTask.Completed, Unit.Retired), generic))


def summarize(fact: Fact) -> str:
    """What happened, in one line (the reason and evidence are given apart)."""
    return SUMMARIES.get(fact.event, generic)(fact)  # type: ignore[arg-type]


# A unit's own events, which concern the unit itself.
UNIT_EVENTS = frozenset(events_of(Unit))


class EventIndex(Projection):
    """One row per event: when (valid and transaction time), who, which unit, what."""

    name = "events"
    appended = frozenset({"events", "event_corrections", "proxy_entries"})
    # Every event is indexed (one the domain does not declare too): what differs by class
    # is its summary.
    handlers = SUMMARIES

    def define(self) -> None:
        import sqlalchemy as sa

        events = self.table(
            "events",
            # INTEGER on SQLite, so that the position is the rowid: one b-tree less.
            sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                      primary_key=True, autoincrement=False),
            sa.Column("originator", sa.String(64), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("occurred_at", sa.String(32), nullable=False),
            sa.Column("occurred_on", sa.String(10), nullable=False, index=True),
            sa.Column("recorded_at", sa.String(32), nullable=False),
            sa.Column("late_days", sa.Integer, nullable=False),
            sa.Column("actor", sa.String(40), nullable=False, index=True),
            sa.Column("role", sa.String(16), nullable=False),
            sa.Column("account", sa.Text, nullable=False),
            sa.Column("unit", sa.String(40), index=True),
            sa.Column("other_unit", sa.String(40)),
            sa.Column("summary", sa.Text, nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("evidence", sa.Text, nullable=False),
        )
        # Few events name a second unit (a reassignment's former unit): index only those
        # (declared for SQLite, made partial on PostgreSQL too: projection.partial_indexes).
        sa.Index(f"ix_{events.name}_other_unit", events.c.other_unit,
                 sqlite_where=events.c.other_unit.isnot(None))
        # Each correction (of one event) and withdrawal (version 0: of the whole record), so
        # that the timeline shows an event against what corrected it.
        self.table(
            "event_corrections",
            sa.Column("originator", sa.String(64), primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                      primary_key=True, autoincrement=False),
            sa.Column("kind", sa.String(12), nullable=False),
        )
        # The unit each aggregate (task, target, person …) belongs to now, for its later
        # events, which do not name it.
        # Who entered an event for its actor (a proxy entry, 代录): few events are, so they
        # have a table of their own beside the index.
        self.table(
            "proxy_entries",
            sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                      primary_key=True, autoincrement=False),
            sa.Column("entered_by", sa.String(40), nullable=False),
        )
        self.table(
            "event_owners",
            sa.Column("originator", sa.String(64), primary_key=True),
            sa.Column("unit", sa.String(40), nullable=False),
        )

    def wants(self, fact: Fact) -> bool:
        return True

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        if fact.version > 1:
            return [("event_owners", (fact.originator_id,))]
        return []

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        d = fact.data
        other = None
        if fact.event in UNIT_EVENTS:
            unit = fact.originator_id.split(":", 1)[1]
        elif is_correction(fact) and "unit" in (changes := corrected(fact)[1]):
            # A record corrected to another unit belongs to that unit from now on.
            unit = changes["unit"]
            other = (d.get("previous") or {}).get("unit")
            if unit:
                rows.put("event_owners", (fact.originator_id,),
                         {"originator": fact.originator_id, "unit": unit})
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
        if is_correction(fact) or is_withdrawal(fact):
            version = d["corrects"] if is_correction(fact) else 0
            rows.put("event_corrections", (fact.originator_id, version, fact.position), {
                "originator": fact.originator_id, "version": version,
                "position": fact.position,
                "kind": "corrected" if is_correction(fact) else "withdrawn"})
        if d.get("entered_by"):
            rows.put("proxy_entries", (fact.position,),
                     {"position": fact.position, "entered_by": d["entered_by"]})


def row_of(fact: Fact, ctx: Context, unit: str | None, other: str | None) -> dict[str, Any]:
    """The index row of one event."""
    d = fact.data
    occurred_utc, occurred_on, day = ctx.moment(d["occurred_at"])
    evidence = d.get("evidence")
    return {
        "position": fact.position, "originator": fact.originator_id,
        "version": fact.version, "kind": fact.kind, "occurred_at": occurred_utc,
        "occurred_on": occurred_on, "recorded_at": fact.recorded_at,
        "late_days": max(0, ctx.day_number(fact.recorded_at) - day),
        "actor": d.get("actor", ""), "role": d.get("role", ""), "account": fact.account,
        "unit": unit, "other_unit": other, "summary": summarize(fact),
        "reason": d.get("reason") or d.get("note") or "",
        "evidence": evidence_text(evidence) if evidence else "",
    }
