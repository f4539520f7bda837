"""Task commands: inspect, and the lifecycle of one task (task assign … task correct)."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

import click

from commands.board import board
from commands.evidence import keeping
from commands.output import emit, emit_record, labelled, output_options
from commands.params import (
    DEADLINE,
    Aliased,
    AliasedChoice,
    at_option,
    evidence,
    evidence_option,
    set_option,
)
from commands.params import changes as parse_changes
from commands.session import Session, pass_session
from domain.task import CLOSURES, SOURCES
from i18n import _, labels
from ledger.workdays import WorkingDays
from projections.times import for_people
from services import inspections

DEADLINE_HELP = ("A date YYYY-MM-DD, or working days (7工作日, 7个工作日, 7wd) counted from "
                 "the day after {start}, by the official holiday calendar and the "
                 "campaign's own days.")


def _when(session: Session, occurred_at: datetime | None) -> datetime | None:
    return session.localize(occurred_at)


def _said(result: dict[str, Any]) -> None:
    click.echo(f"{result['task']} {labels.state(result['state'])}"
               + (f" ({labels.closure(result['closure'])})" if result["closure"] else "")
               + _(" · 责任单位 {unit}").format(unit=result["unit"])
               + _(" · 期限 {deadline}").format(deadline=result["deadline"])
               + (_(" · 已超期") if result["overdue"] else ""))


@click.command()
@click.argument("unit_code", metavar="UNIT")
@click.option("--finding", "findings", multiple=True,
              metavar=inspections.FINDING_FORMAT,
              help="A problem found; each becomes a task. Repeatable; none is a clean visit.")
@click.option("--deadline", type=DEADLINE, default=None,
              help="Deadline for findings that give none. "
              + DEADLINE_HELP.format(start="the visit"))
@click.option("--days", type=click.IntRange(min=0), default=7, show_default=True,
              help="Otherwise the deadline is this many days after the visit.")
@click.option("--with", "companions", multiple=True, metavar="PERSON",
              help="Another inspector on the visit. Repeatable.")
@click.option("--note", default="")
@at_option()
@pass_session
def inspect(session: Session, unit_code: str, findings: tuple[str, ...],
            deadline: date | WorkingDays | None, days: int, companions: tuple[str, ...],
            note: str, occurred_at: datetime | None) -> None:
    """Record an inspection visit (巡查) of UNIT, with what it found."""
    result = inspections.inspect(session.services, actor=session.actor, unit=unit_code,
                                 findings=list(findings), deadline=deadline, days=days,
                                 companions=list(companions), note=note,
                                 occurred_at=occurred_at)
    tasks = ", ".join(result["tasks"]) or _("未发现问题")
    click.echo(_("{inspection} {unit} 由 {inspectors} 巡查：{tasks}").format(
        inspection=result["inspection"], unit=unit_code,
        inspectors=", ".join(result["inspectors"]), tasks=tasks))


@click.group()
def task() -> None:
    """One task's lifecycle: assign, ack, notice, report, reinspect, close …"""


@task.command("assign")
@click.option("--unit", "unit_code", required=True)
@click.option("--category", required=True)
@click.option("--source", required=True, metavar="|".join(SOURCES),
              help="decomposition 指标分解, inspection 巡查发现, complaint 群众反映, "
              "media 媒体曝光, unannounced 上级暗访")
@click.option("--location", required=True)
@click.option("--description", required=True)
@click.option("--deadline", type=DEADLINE, required=True,
              help=DEADLINE_HELP.format(start="the assignment"))
@click.option("--notice", "notice_no", default=None, help="Issue a notice at once.")
@click.option("--requirements", default="", help="The notice's requirements.")
@click.option("--note", default="")
@at_option()
@pass_session
def task_assign(session: Session, unit_code: str, category: str, source: str, location: str,
                description: str, deadline: date | WorkingDays, notice_no: str | None,
                requirements: str, note: str, occurred_at: datetime | None) -> None:
    """Assign a task to a unit (交办)."""
    _said(session.store.ledger.assign(
        actor_id=session.actor, unit=unit_code, category=category, source=source,
        location=location,
        description=description, deadline=deadline, notice_no=notice_no,
        requirements=requirements, note=note, occurred_at=_when(session, occurred_at)))


@task.command("ack")
@click.argument("task_id")
@click.option("--note", default="")
@at_option()
@pass_session
def task_ack(session: Session, task_id: str, note: str, occurred_at: datetime | None) -> None:
    """The unit signs for the task (签收)."""
    _said(session.store.ledger.acknowledge(actor_id=session.actor, task_id=task_id, note=note,
                                           occurred_at=_when(session, occurred_at)))


@task.command("notice")
@click.argument("task_id")
@click.option("--number", "notice_no", required=True, help="The notice's number.")
@click.option("--requirements", default="")
@click.option("--deadline", type=DEADLINE, default=None,
              help="The notice's deadline. " + DEADLINE_HELP.format(start="the notice"))
@at_option()
@pass_session
def task_notice(session: Session, task_id: str, notice_no: str, requirements: str,
                deadline: date | WorkingDays | None, occurred_at: datetime | None) -> None:
    """Issue a rectification notice (整改通知书)."""
    _said(session.store.ledger.issue_notice(actor_id=session.actor, task_id=task_id,
                                            notice_no=notice_no, requirements=requirements,
                                            deadline=deadline,
                                            occurred_at=_when(session, occurred_at)))


@task.command("report")
@click.argument("task_id")
@click.option("--description", required=True, help="What was done.")
@evidence_option()
@at_option()
@pass_session
def task_report(session: Session, task_id: str, description: str,
                evidence_refs: tuple[str, ...], evidence_elsewhere: tuple[str, ...],
                occurred_at: datetime | None) -> None:
    """The unit reports its rectification (整改报告), with evidence."""
    with keeping(session, evidence_refs) as files:
        result = session.store.ledger.report_rectification(
            actor_id=session.actor, task_id=task_id, description=description,
            evidence=evidence(evidence_refs, evidence_elsewhere, files),
            occurred_at=_when(session, occurred_at))
    _said(result)


@task.command("reinspect")
@click.argument("task_id")
@click.option("--pass/--fail", "passed", default=None,
              help="整改到位 (pass) or 返工 (fail); one is required.")
@click.option("--reason", "--note", "note", cls=Aliased, aliases=["--note"], default="",
              help="Why, when it fails.")
@evidence_option()
@at_option()
@pass_session
def task_reinspect(session: Session, task_id: str, passed: bool | None, note: str,
                   evidence_refs: tuple[str, ...], evidence_elsewhere: tuple[str, ...],
                   occurred_at: datetime | None) -> None:
    """Re-inspect (复查) a reported rectification."""
    if passed is None:
        # click would name only '--pass' for a missing required flag pair.
        raise click.UsageError(_("缺少选项 '--pass' / '--fail'。"))
    with keeping(session, evidence_refs) as files:
        result = session.store.ledger.reinspect(actor_id=session.actor, task_id=task_id,
                                                passed=passed, note=note,
                                                evidence=evidence(evidence_refs,
                                                                  evidence_elsewhere, files),
                                                occurred_at=_when(session, occurred_at))
    _said(result)


@task.command("extend")
@click.argument("task_id")
@click.option("--deadline", type=DEADLINE, required=True,
              help="The new deadline: a date YYYY-MM-DD, or working days (7工作日, "
              "7个工作日, 7wd) more after the current deadline.")
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_extend(session: Session, task_id: str, deadline: date | WorkingDays, reason: str,
                occurred_at: datetime | None) -> None:
    """Extend the deadline (the acting person approves it)."""
    _said(session.store.ledger.extend_deadline(actor_id=session.actor, task_id=task_id,
                                               deadline=deadline, reason=reason,
                                               occurred_at=_when(session, occurred_at)))


@task.command("request-extension")
@click.argument("task_id")
@click.option("--to", "deadline", type=DEADLINE, required=True,
              help="The deadline asked for: a date YYYY-MM-DD, or working days (7工作日, "
              "7个工作日, 7wd) more after the current deadline.")
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_request_extension(session: Session, task_id: str, deadline: date | WorkingDays,
                           reason: str, occurred_at: datetime | None) -> None:
    """The unit asks for a later deadline (申请延期); the clock runs on until approved."""
    _said(session.store.ledger.request_extension(actor_id=session.actor, task_id=task_id,
                                                 deadline=deadline, reason=reason,
                                                 occurred_at=_when(session, occurred_at)))


def _decision(name: str, approve: bool) -> click.Command:
    """``task approve-extension`` and ``task refuse-extension``: one command each way."""
    said = ("Approve the pending extension request: the deadline moves to the date asked "
            "for." if approve else "Refuse the pending extension request; the deadline "
            "stays.")
    reason = (click.option("--note", "reason", default="") if approve
              else click.option("--reason", required=True))

    @task.command(name, help=said)
    @click.argument("task_id")
    @reason
    @at_option()
    @pass_session
    def decide(session: Session, task_id: str, reason: str,
               occurred_at: datetime | None) -> None:
        _said(session.store.ledger.decide_extension(actor_id=session.actor, task_id=task_id,
                                                    approve=approve, reason=reason,
                                                    occurred_at=_when(session, occurred_at)))
    return decide


_decision("approve-extension", approve=True)
_decision("refuse-extension", approve=False)


@task.command("escalate")
@click.argument("task_id")
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_escalate(session: Session, task_id: str, reason: str,
                  occurred_at: datetime | None) -> None:
    """Put the task under supervision (督办)."""
    _said(session.store.ledger.escalate(actor_id=session.actor, task_id=task_id, reason=reason,
                                        occurred_at=_when(session, occurred_at)))


@task.command("evidence")
@click.argument("task_id")
@evidence_option()
@at_option()
@pass_session
def task_evidence(session: Session, task_id: str, evidence_refs: tuple[str, ...],
                  evidence_elsewhere: tuple[str, ...], occurred_at: datetime | None) -> None:
    """Attach evidence (photos, documents) to the task."""
    with keeping(session, evidence_refs) as files:
        result = session.store.ledger.attach_evidence(
            actor_id=session.actor, task_id=task_id,
            evidence=evidence(evidence_refs, evidence_elsewhere, files),
            occurred_at=_when(session, occurred_at))
    _said(result)


@task.command("close")
@click.argument("task_id")
@click.option("--closure", default="verified", show_default=True,
              type=AliasedChoice(CLOSURES, {c.replace("_", "-"): c for c in CLOSURES}))
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_close(session: Session, task_id: str, closure: str, reason: str,
               occurred_at: datetime | None) -> None:
    """Close the task (销号)."""
    _said(session.store.ledger.close_task(actor_id=session.actor, task_id=task_id,
                                          closure=closure, reason=reason,
                                          occurred_at=_when(session, occurred_at)))


@task.command("reopen")
@click.argument("task_id")
@click.option("--reason", required=True)
@click.option("--deadline", type=DEADLINE, required=True,
              help=DEADLINE_HELP.format(start="the reopening"))
@at_option()
@pass_session
def task_reopen(session: Session, task_id: str, reason: str, deadline: date | WorkingDays,
                occurred_at: datetime | None) -> None:
    """Reopen a closed task: the problem came back (反弹)."""
    _said(session.store.ledger.reopen(actor_id=session.actor, task_id=task_id, reason=reason,
                                      deadline=deadline,
                                      occurred_at=_when(session, occurred_at)))


@task.command("reassign")
@click.argument("task_id")
@click.option("--unit", "unit_code", required=True)
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_reassign(session: Session, task_id: str, unit_code: str, reason: str,
                  occurred_at: datetime | None) -> None:
    """Hand the task to another unit."""
    _said(session.store.ledger.reassign(actor_id=session.actor, task_id=task_id,
                                        unit=unit_code, reason=reason,
                                        occurred_at=_when(session, occurred_at)))


@task.command("correct")
@click.argument("task_id")
@click.option("--event", "event_no", type=click.IntRange(min=1), required=True,
              help="The number of the event corrected (see 'task show').")
@set_option()
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_correct(session: Session, task_id: str, event_no: int, changes: tuple[str, ...],
                 reason: str, occurred_at: datetime | None) -> None:
    """Correct an earlier event; the original stays, and both are shown to auditors
    (the same as 'taizhang correct TASK')."""
    parsed = parse_changes(changes, session.services.zone)
    _said(session.store.ledger.correct(actor_id=session.actor, task_id=task_id, event=event_no,
                                       changes=parsed, reason=reason,
                                       occurred_at=_when(session, occurred_at)))


@task.command("show")
@click.argument("task_id")
@output_options()
@pass_session
def task_show(session: Session, task_id: str, fmt: str) -> None:
    """A task's current state and every event it has."""
    ledger = session.store.ledger
    described = ledger.describe(task_id)
    if fmt == "json":
        emit_record(described, fmt)
        return
    # For people, every moment in the campaign's time zone, whatever zone it was given in.
    zone = session.services.zone

    def local(moment: str) -> str:
        return for_people(moment, zone)

    events = described.pop("events")
    described["assigned_at"] = local(described["assigned_at"])
    if fmt == "table":
        described = {k: v for k, v in described.items() if v is not None}
        described.update(state=labels.state(described["state"]),
                         source=labels.source(described["source"]))
        if "closure" in described:
            described["closure"] = labels.closure(described["closure"])
    emit_record(described, fmt)
    click.echo()
    if fmt == "table":
        # Each event on a line, what it says in labelled lines below it.
        for e in events:
            click.echo(f"#{e['version']} {labels.kind(e['event'], 'Task')} · "
                       f"{local(e['occurred_at'])} · {e['actor']} ({labels.role(e['role'])})")
            details = {k: v for k, v in e.items()
                       if k not in ("version", "event", "occurred_at", "actor", "role",
                                    "task_id")}
            if "source" in details:
                details["source"] = labels.source(details["source"])
            for line in labelled(details, indent="    "):
                click.echo(line)
        return
    emit([{"no": e["version"], "event": e["event"], "occurred_at": local(e["occurred_at"]),
           "actor": f"{e['actor']} ({e['role']})",
           "details": {k: v for k, v in e.items()
                       if k not in ("version", "event", "occurred_at", "actor", "role")}}
          for e in events],
         [("no", "no"), ("event", "event"), ("occurred_at", "occurred_at"),
          ("actor", "actor"), ("details", "details")], fmt)


# `task list` is `board` by another name: one command, kept as a hidden alias.
task.add_command(copy.copy(board), "list")
task.commands["list"].hidden = True
task.commands["list"].help = "The same as `taizhang board` (its old name)."

COMMANDS = [inspect, task]
