"""History and timeline: what happened, when it happened and when the ledger learned it."""

from __future__ import annotations

import json
from datetime import date, datetime, tzinfo
from typing import Any

import click

from commands.evidence import evidence_store, with_kept
from commands.output import OPTIONAL, TEXT, Column, emit, output_options, paragraph
from commands.params import DATE, MOMENT
from commands.session import Session, pass_session
from i18n import N_, _, labels
from ledger.corrections import resolve
from projections.times import for_machines, for_people, localise_rows
from services import records

AS_OF_HELP = ("只看台账截至那时已记录的内容（记录时间）。未带时区偏移时按活动所在时区。")

# On a narrow terminal: times on two lines, text wrapped, the account, evidence and
# corrections left out (the correction first).
HISTORY_TABLE: list[Column] = [
    ("no", N_("序号")), ("occurred", N_("发生时间"), TEXT), ("recorded", N_("记录时间"), TEXT),
    ("late", N_("迟录")), ("who", N_("操作人"), TEXT), ("account", N_("账户"), OPTIONAL),
    ("event", N_("事件")), ("summary", N_("内容"), TEXT), ("reason", N_("理由"), TEXT),
    ("evidence_text", N_("证据"), OPTIONAL), ("correction", N_("更正"), OPTIONAL),
]
HISTORY_FIELDS = [
    "no", "position", "event", "occurred_at", "recorded_at", "late_days", "actor", "role",
    "entered_by", "account", "summary", "reason", "evidence_text", "corrects", "correction",
]

TIMELINE_TABLE: list[Column] = [
    ("position", "#"), ("occurred", N_("发生时间"), TEXT), ("recorded", N_("记录时间"), TEXT),
    ("late", N_("迟录")), ("who", N_("操作人"), TEXT), ("account", N_("账户"), OPTIONAL),
    ("unit", N_("单位"), OPTIONAL), ("originator", N_("对象")), ("event", N_("事件")),
    ("summary", N_("内容"), TEXT), ("reason", N_("理由"), TEXT),
    ("correction", N_("更正"), OPTIONAL),
]
TIMELINE_FIELDS = [
    "position", "originator", "version", "kind", "occurred_at", "occurred_on", "recorded_at",
    "late_days", "actor", "role", "entered_by", "account", "unit", "other_unit", "summary",
    "reason", "evidence", "correction",
]


def _moments(rows: list[dict[str, Any]], zone: tzinfo, fmt: str) -> list[dict[str, Any]]:
    """Valid and transaction times as the time policy shows them (projections/times.py)."""
    return localise_rows(localise_rows(rows, ("occurred_at",), zone, fmt),
                         ("recorded_at",), zone, fmt, seconds=True)


def _late(days: int) -> str:
    return _("迟 {days} 天").format(days=days) if days else ""


def _for_table(row: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
    return {**row, "occurred": for_people(row["occurred_at"], zone),
            "recorded": for_people(row["recorded_at"], zone, seconds=True),
            "late": _late(row["late_days"]), "who": _who(row)}


def _who(row: dict[str, Any]) -> str:
    """Who acted, and who entered it for them when that was someone else (代录)."""
    acted = f"{row['actor']} ({labels.role(row['role'])})"
    if row.get("entered_by"):
        return _("{enterer} 代 {acted} 录入").format(enterer=row["entered_by"], acted=acted)
    return acted


def _headline(found: dict[str, Any], as_of: datetime | None, valid_at: date | None,
              zone: tzinfo) -> str:
    s = found["state"]
    line = (f"{found['task']} {labels.state(s['state'])}"
            + (f" ({labels.closure(s['closure'])})" if s["closure"] else "")
            + _(" · 责任单位 {unit}").format(unit=s["unit"])
            + f" · {s['category']} · {s['location']} · {s['description']}"
            + (_(" · 位于 {latitude}, {longitude}").format(
                latitude=s["latitude"], longitude=s["longitude"])
               if s["latitude"] is not None else "")
            + _(" · 期限 {deadline}").format(deadline=s["deadline"])
            + (_(" · 超期 {days} 天").format(days=s["days_overdue"])
               if s["days_overdue"] else "")
            + _(" · 返工 {n}").format(n=s["rework_count"]))
    if valid_at is not None:
        line += _(" · {day} 的状态").format(day=valid_at.isoformat())
    if as_of is not None:
        line += _(" · 截至记录时间 {at}").format(at=for_people(as_of, zone))
    elif valid_at is not None:
        line += _("，按当前记录")
    return line


def _record_headline(found: dict[str, Any], as_of: datetime | None, zone: tzinfo) -> str:
    events = found["events"]
    corrected = sum(1 for e in events if e["corrects"])
    line = found["record"] + _(" · {n} 个事件").format(n=len(events))
    if corrected:
        line += _(" · {n} 处更正").format(n=corrected)
    if found["withdrawn"]:
        line += _(" · 已被 #{event} 撤回").format(event=found["withdrawn"])
    if as_of is not None:
        line += _(" · 截至记录时间 {at}").format(at=for_people(as_of, zone))
    return line


@click.command()
@click.argument("task_id", metavar="RECORD")
@click.option("--as-of", "as_of", type=MOMENT, default=None, help=AS_OF_HELP)
@click.option("--valid-at", "valid_at", type=DATE, default=None,
              help="任务在此日期所处的状态（发生时间）。")
@output_options(formats=("table", "csv", "json", "jsonl"))
@pass_session
def history(session: Session, task_id: str, as_of: datetime | None, valid_at: date | None,
            fmt: str) -> None:
    """一条 RECORD 的完整时间线：每个事件何时发生、何时记录、由谁从哪个账户录入，以及理由、证
    据、更正和撤回。

    RECORD：任务（T-…）、指标任务（ZB-…）、测评（SV-…）、巡查（I-…）、unit:CODE、person:ID
    或 rules:VERSION（评比簿）。"""
    found = records.history(session.services, task_id, as_of=as_of, valid_at=valid_at)
    zone, as_of = session.services.zone, session.localize(as_of)
    with_kept(found["events"], evidence_store(session))
    if fmt != "table":
        found["events"] = _moments(found["events"], zone, fmt)
    if fmt == "json":
        click.echo(json.dumps({**found, "as_of": for_machines(as_of, zone)},
                              ensure_ascii=False, indent=2))
        return
    if fmt != "table":
        emit(found["events"], [(f, f) for f in HISTORY_FIELDS], fmt)
        return
    click.echo(paragraph(_headline(found, as_of, valid_at, zone) if found["state"] is not None
                         else _record_headline(found, as_of, zone)))
    click.echo()
    kind = resolve(task_id)[0].__name__
    emit([{**_for_table(e, zone), "event": labels.kind(e["event"], kind)}
          for e in found["events"]], HISTORY_TABLE, fmt)


@click.command()
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--from", "valid_from", type=DATE, default=None,
              help="发生在此日期或之后的事件（发生时间）。")
@click.option("--to", "valid_to", type=DATE, default=None,
              help="发生在此日期或之前的事件（发生时间）。")
@click.option("--as-of", "as_of", type=MOMENT, default=None, help=AS_OF_HELP)
@click.option("--actor", default=None, metavar="PERSON", help="只看此人的事件。")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="最多这么多个事件。")
@output_options(formats=("table", "csv", "json", "jsonl"))
@pass_session
def timeline(session: Session, unit_code: str | None, valid_from: date | None,
             valid_to: date | None, as_of: datetime | None, actor: str | None,
             limit: int | None, fmt: str) -> None:
    """审计回放：按台账记录的顺序列出每个事件，含发生时间、录入人和迟录天数。"""
    if valid_from and valid_to and valid_from > valid_to:
        raise click.BadParameter(_("{start} 晚于 --to {end}").format(
            start=valid_from, end=valid_to), param_hint="'--from'")
    rows = records.timeline(session.services, as_of=as_of, unit=unit_code,
                            valid_from=valid_from, valid_to=valid_to, actor=actor, limit=limit)
    zone = session.services.zone
    if fmt == "table":
        emit([{**_for_table(r, zone), "event": labels.kind(r["kind"])} for r in rows],
             TIMELINE_TABLE, fmt)
    else:
        emit(_moments(rows, zone, fmt), [(f, f) for f in TIMELINE_FIELDS], fmt)


COMMANDS = [history, timeline]
