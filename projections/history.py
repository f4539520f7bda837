"""One record's history: its events with both times, who entered them, and its
corrections and withdrawal, each shown against the event it concerns. For a task, also
its state (as recorded by a moment, on a day).

Built from the record's own facts only, so its cost depends on the record, not on the
ledger.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from i18n import _, labels
from projections.board import Board
from projections.board_read import days_overdue
from projections.corrections import described, is_correction, is_withdrawal, text_of
from projections.facts import Context, Fact
from projections.extensions import ExtensionRequests
from projections.projection import fold_in_memory
from projections.events import (
    SKIPPED_FIELDS,
    evidence_of,
    evidence_text,
    late_days,
    reason_of,
    summarize,
)

BOARD = Board()
REQUESTS = ExtensionRequests()


def annotated(facts: list[Fact], ctx: Context) -> tuple[list[dict[str, Any]],
                                                          list[dict[str, Any]]]:
    """The record's history entries, each correction against the event it corrects (and
    that event naming its corrections), a withdrawal against every event; and each event's
    data as corrected."""
    entries = [_entry(fact, ctx) for fact in facts]
    effective = [dict(fact.data) for fact in facts]
    withdrawal = None
    for fact, entry in zip(facts, entries, strict=True):
        if is_withdrawal(fact):
            withdrawal = fact.version
            entry["correction"] = described(fact)
            continue
        if not is_correction(fact):
            continue
        target = fact.data["corrects"]
        before = effective[target - 1]
        entry["corrects"] = target
        entry["correction"] = _("更正 #{target}（{event}）：{changes}").format(
            target=target, event=labels.kind(facts[target - 1].kind),
            changes=", ".join(f"{field} {text_of(before.get(field))} → {text_of(value)}"
                              for field, value in fact.data["changes"].items()))
        before.update(fact.data["changes"])
        entries[target - 1]["corrected_by"].append(fact.version)
    for entry in entries:
        notes = []
        if entry["corrected_by"]:
            notes.append(_("已由 {events} 更正").format(
                events=", ".join(f"#{v}" for v in entry["corrected_by"])))
        if withdrawal is not None and entry["no"] != withdrawal:
            notes.append(_("已由 #{event} 撤回").format(event=withdrawal))
        if notes and not entry["correction"]:
            entry["correction"] = "; ".join(notes)
        elif notes:
            entry["correction"] += " · " + "; ".join(notes)
    return entries, effective


def record_history(facts: list[Fact], ctx: Context) -> dict[str, Any]:
    """Any record's events, with its corrections and withdrawal (no state: see
    ``history`` of a task for that)."""
    entries, _ = annotated(facts, ctx)
    withdrawn = next((f.version for f in facts if is_withdrawal(f)), None)
    return {"record": facts[0].originator_id, "state": None, "withdrawn": withdrawn,
            "events": entries}


def task_history(facts: list[Fact], ctx: Context, today: date,
                 valid_at: date | None = None) -> dict[str, Any]:
    """The task's state and timeline from its facts (those recorded by the moment asked
    about). With ``valid_at``, the state is the one the task was in at the end of that day
    as known from these facts — corrections applied to what they correct — and the timeline
    holds what had happened by then, with the corrections of it."""
    entries, effective = annotated(facts, ctx)
    if valid_at is None:
        state_facts = facts
        on = today
    else:
        day = valid_at.isoformat()
        # As known now: each event with its corrections applied, the corrections folded in.
        state_facts = [replace(fact, data=data) for fact, data in zip(facts, effective,
                                                                        strict=True)
                       if not is_correction(fact) and ctx.local_date(data["occurred_at"]) <= day]
        happened = {fact.version for fact in state_facts}
        entries = [e for e in entries
                   if e["no"] in happened or e.get("corrects") in happened]
        on = valid_at
    folded = fold_in_memory(BOARD, state_facts, ctx)
    state = next(iter(folded.table("tasks").values()), None)
    if state is not None:
        place = next(iter(folded.table("places").values()), {})
        asked = fold_in_memory(REQUESTS, state_facts, ctx).table("requests")
        pending = next(iter(asked.values()), None)
        state = {**state, "days_overdue": days_overdue(state, on),
                 "latitude": place.get("latitude"), "longitude": place.get("longitude"),
                 "extension_requested": pending["requested_deadline"] if pending else None}
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
