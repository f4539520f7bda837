"""One task's history: its events with both times, who entered them, and its corrections.

Built from the task's own facts only, so its cost depends on the task, not on the ledger.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from projections.board import Board, days_overdue
from projections.engine import Context, Fact, fold_in_memory
from projections.events import (
    SKIPPED_FIELDS,
    evidence_of,
    evidence_text,
    late_days,
    reason_of,
    summarize,
)

CORRECTION = "Task.Corrected"
BOARD = Board()


def task_history(facts: list[Fact], ctx: Context, today: date,
                 valid_at: date | None = None) -> dict[str, Any]:
    """The task's state and timeline from its facts (those recorded by the moment asked
    about). With ``valid_at``, the state is the one the task was in at the end of that day
    as known from these facts — corrections applied to what they correct — and the timeline
    holds what had happened by then, with the corrections of it."""
    entries = [_entry(fact, ctx) for fact in facts]
    effective = [dict(fact.data) for fact in facts]
    for fact, entry in zip(facts, entries, strict=True):
        if fact.kind != CORRECTION:
            continue
        target = fact.data["corrects"]
        before = effective[target - 1]
        entry["corrects"] = target
        entry["correction"] = f"corrects #{target} ({entries[target - 1]['event']}): " + ", ".join(
            f"{field} {before.get(field)} → {value}"
            for field, value in fact.data["changes"].items())
        before.update(fact.data["changes"])
        entries[target - 1]["corrected_by"].append(fact.version)
    for entry in entries:
        if entry["corrected_by"]:
            entry["correction"] = "corrected by " + ", ".join(
                f"#{v}" for v in entry["corrected_by"])

    if valid_at is None:
        state_facts = facts
        on = today
    else:
        day = valid_at.isoformat()
        # As known now: each event with its corrections applied, the corrections folded in.
        state_facts = [replace(fact, data=data) for fact, data in zip(facts, effective,
                                                                        strict=True)
                       if fact.kind != CORRECTION and ctx.local_date(data["occurred_at"]) <= day]
        happened = {fact.version for fact in state_facts}
        entries = [e for e in entries
                   if e["no"] in happened or e.get("corrects") in happened]
        on = valid_at
    rows = fold_in_memory(BOARD, state_facts, ctx).table("tasks")
    state = next(iter(rows.values()), None)
    if state is not None:
        state = {**state, "days_overdue": days_overdue(state, on)}
    return {"task": facts[0].originator_id, "state": state, "on": on.isoformat(),
            "assigned_on": ctx.local_date(effective[0]["occurred_at"]), "events": entries}


def _entry(fact: Fact, ctx: Context) -> dict[str, Any]:
    evidence = evidence_of(fact)
    return {
        "no": fact.version, "position": fact.position, "event": fact.kind.split(".", 1)[-1],
        "occurred_at": fact.occurred_at, "recorded_at": fact.recorded_at,
        "late_days": late_days(fact, ctx), "actor": fact.data.get("actor", ""),
        "role": fact.data.get("role", ""), "entered_by": fact.data.get("entered_by"),
        "account": fact.account, "summary": summarize(fact), "reason": reason_of(fact),
        "evidence": evidence, "evidence_text": evidence_text(evidence),
        "details": {k: v for k, v in fact.data.items() if k not in SKIPPED_FIELDS},
        "corrects": None, "corrected_by": [], "correction": "",
    }
