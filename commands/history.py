"""History and timeline: what happened, when it happened and when the ledger learned it."""

from __future__ import annotations

import json
from datetime import date, datetime, tzinfo
from typing import Any

import click

from commands.evidence import evidence_store, with_kept
from commands.output import emit, output_options
from commands.params import DATE, MOMENT
from commands.session import Session, pass_session
from domain.task import STATE_LABELS
from projections.events import who
from services import records

AS_OF_HELP = ("Only what the ledger had recorded by then (transaction time). Without an "
              "offset, in the campaign's time zone.")

HISTORY_TABLE = [
    ("no", "no"), ("occurred", "occurred"), ("recorded", "recorded"), ("late", "late"),
    ("who", "actor"), ("account", "account"), ("event", "event"), ("summary", "what"),
    ("reason", "reason"), ("evidence_text", "evidence"), ("correction", "correction"),
]
HISTORY_FIELDS = [
    "no", "position", "event", "occurred_at", "recorded_at", "late_days", "actor", "role",
    "entered_by", "account", "summary", "reason", "evidence_text", "corrects", "correction",
]

TIMELINE_TABLE = [
    ("position", "#"), ("occurred", "occurred"), ("recorded", "recorded"), ("late", "late"),
    ("who", "actor"), ("account", "account"), ("unit", "unit"), ("originator", "subject"),
    ("event", "event"), ("summary", "what"), ("reason", "reason"), ("correction", "correction"),
]
TIMELINE_FIELDS = [
    "position", "originator", "version", "kind", "occurred_at", "occurred_on", "recorded_at",
    "late_days", "actor", "role", "entered_by", "account", "unit", "other_unit", "summary",
    "reason", "evidence", "correction",
]


def _local(iso: str, zone: tzinfo, seconds: bool = False) -> str:
    moment = datetime.fromisoformat(iso).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _late(days: int) -> str:
    return f"{days}d late" if days else ""


def _for_table(row: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    return {**row, "occurred": _local(row["occurred_at"], zone),
            "recorded": _local(row["recorded_at"], zone, seconds=True),
            "late": _late(row["late_days"]), "who": who(row)}


def _headline(found: dict[str, Any], as_of: datetime | None, valid_at: date | None,
              zone: tzinfo) -> str:
    s = found["state"]
    line = (f"{found['task']} {s['state']} {STATE_LABELS[s['state']]}"
            + (f" ({s['closure']})" if s["closure"] else "")
            + f" · unit {s['unit']} · {s['category']} · {s['location']} · {s['description']}"
            + (f" · at {s['latitude']}, {s['longitude']}" if s["latitude"] is not None
               else "")
            + f" · deadline {s['deadline']}"
            + (f" · {s['days_overdue']} days overdue" if s["days_overdue"] else "")
            + f" · rework {s['rework_count']}")
    if valid_at is not None:
        line += f" · on {valid_at.isoformat()}"
    if as_of is not None:
        line += f" · as recorded by {as_of.astimezone(zone).isoformat(timespec='seconds')}"
    elif valid_at is not None:
        line += ", as known now"
    return line


def _record_headline(found: dict[str, Any], as_of: datetime | None, zone: tzinfo) -> str:
    events = found["events"]
    corrected = sum(1 for e in events if e["corrects"])
    line = f"{found['record']} · {len(events)} events"
    if corrected:
        line += f" · {corrected} corrections"
    if found["withdrawn"]:
        line += f" · withdrawn by #{found['withdrawn']}"
    if as_of is not None:
        line += f" · as recorded by {as_of.astimezone(zone).isoformat(timespec='seconds')}"
    return line


@click.command()
@click.argument("task_id", metavar="RECORD")
@click.option("--as-of", "as_of", type=MOMENT, default=None, help=AS_OF_HELP)
@click.option("--valid-at", "valid_at", type=DATE, default=None,
              help="The state the task was in on this date (valid time).")
@output_options(formats=("table", "csv", "json", "jsonl"))
@pass_session
def history(session: Session, task_id: str, as_of: datetime | None, valid_at: date | None,
            fmt: str) -> None:
    """The full timeline of one RECORD: when each event happened and when it was recorded,
    by whom and from which account, with reasons, evidence, corrections and withdrawal.
    RECORD: a task (T-…), target task (ZB-…), survey (SV-…), inspection (I-…), unit:CODE,
    person:ID or rules:VERSION (the evaluation book)."""
    found = records.history(session.services, task_id, as_of=as_of, valid_at=valid_at)
    zone, as_of = session.services.zone, session.localize(as_of)
    with_kept(found["events"], evidence_store(session))
    if fmt == "json":
        click.echo(json.dumps({**found, "as_of": as_of.isoformat() if as_of else None},
                              ensure_ascii=False, indent=2))
        return
    if fmt != "table":
        emit(found["events"], [(f, f) for f in HISTORY_FIELDS], fmt)
        return
    click.echo(_headline(found, as_of, valid_at, zone) if found["state"] is not None
               else _record_headline(found, as_of, zone))
    click.echo()
    emit([_for_table(e, zone) for e in found["events"]], HISTORY_TABLE, fmt)


@click.command()
@click.option("--unit", "unit_code", default=None, help="A unit, with all units below it.")
@click.option("--from", "valid_from", type=DATE, default=None,
              help="Events that happened on or after this date (valid time).")
@click.option("--to", "valid_to", type=DATE, default=None,
              help="Events that happened on or before this date (valid time).")
@click.option("--as-of", "as_of", type=MOMENT, default=None, help=AS_OF_HELP)
@click.option("--actor", default=None, metavar="PERSON", help="Only events by this person.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most this many events.")
@output_options(formats=("table", "csv", "json", "jsonl"))
@pass_session
def timeline(session: Session, unit_code: str | None, valid_from: date | None,
             valid_to: date | None, as_of: datetime | None, actor: str | None,
             limit: int | None, fmt: str) -> None:
    """The auditors' replay: every event in the order the ledger recorded it, with when it
    happened, who entered it and how late."""
    if valid_from and valid_to and valid_from > valid_to:
        raise click.BadParameter(f"{valid_from} is after --to {valid_to}",
                                 param_hint="'--from'")
    rows = records.timeline(session.services, as_of=as_of, unit=unit_code,
                            valid_from=valid_from, valid_to=valid_to, actor=actor, limit=limit)
    if fmt == "table":
        zone = session.services.zone
        emit([{**_for_table(r, zone), "event": r["kind"]} for r in rows], TIMELINE_TABLE, fmt)
    else:
        emit(rows, [(f, f) for f in TIMELINE_FIELDS], fmt)


COMMANDS = [history, timeline]
