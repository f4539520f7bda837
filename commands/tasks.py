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
from domain.task_fields import CLOSURES, SOURCES
from i18n import _, labels
from ledger.workdays import WorkingDays
from projections.times import for_people
from services import inspections



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
              help="发现的一个问题；每个问题成为一项任务。可重复；不给即为无问题的巡查。")
@click.option("--deadline", type=DEADLINE, default=None,
              help="未注明期限的问题的整改期限。日期 YYYY-MM-DD，或工作日（7工作日、7个工作日、"
                   "7wd），从巡查次日起按法定节假日日历和活动自己的调休日计算。")
@click.option("--days", type=click.IntRange(min=0), default=7, show_default=True,
              help="否则期限为巡查之后的这么多天。")
@click.option("--with", "companions", multiple=True, metavar="PERSON",
              help="同行的另一位巡查员。可重复。")
@click.option("--note", default="")
@at_option()
@pass_session
def inspect(session: Session, unit_code: str, findings: tuple[str, ...],
            deadline: date | WorkingDays | None, days: int, companions: tuple[str, ...],
            note: str, occurred_at: datetime | None) -> None:
    """记录对 UNIT 的一次巡查及其发现的问题。"""
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
    """一项任务的全过程：assign、ack、notice、report、reinspect、close……"""


@task.command("assign")
@click.option("--unit", "unit_code", required=True)
@click.option("--category", required=True)
@click.option("--source", required=True, metavar="|".join(SOURCES),
              help="decomposition 指标分解、inspection 巡查发现、complaint 群众反映、"
                   "media 媒体曝光、unannounced 上级暗访")
@click.option("--location", required=True)
@click.option("--description", required=True)
@click.option("--deadline", type=DEADLINE, required=True,
              help="日期 YYYY-MM-DD，或工作日（7工作日、7个工作日、7wd），从交办次日起按法定"
                   "节假日日历和活动自己的调休日计算。")
@click.option("--notice", "notice_no", default=None, help="立即下发整改通知书。")
@click.option("--requirements", default="", help="整改通知书的要求。")
@click.option("--note", default="")
@at_option()
@pass_session
def task_assign(session: Session, unit_code: str, category: str, source: str, location: str,
                description: str, deadline: date | WorkingDays, notice_no: str | None,
                requirements: str, note: str, occurred_at: datetime | None) -> None:
    """把任务交办给一个单位。"""
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
    """责任单位签收任务。"""
    _said(session.store.ledger.acknowledge(actor_id=session.actor, task_id=task_id, note=note,
                                           occurred_at=_when(session, occurred_at)))


@task.command("notice")
@click.argument("task_id")
@click.option("--number", "notice_no", required=True, help="整改通知书的编号。")
@click.option("--requirements", default="")
@click.option("--deadline", type=DEADLINE, default=None,
              help="整改通知书的期限。日期 YYYY-MM-DD，或工作日（7工作日、7个工作日、7wd），"
                   "从通知次日起按法定节假日日历和活动自己的调休日计算。")
@at_option()
@pass_session
def task_notice(session: Session, task_id: str, notice_no: str, requirements: str,
                deadline: date | WorkingDays | None, occurred_at: datetime | None) -> None:
    """下发整改通知书。"""
    _said(session.store.ledger.issue_notice(actor_id=session.actor, task_id=task_id,
                                            notice_no=notice_no, requirements=requirements,
                                            deadline=deadline,
                                            occurred_at=_when(session, occurred_at)))


@task.command("report")
@click.argument("task_id")
@click.option("--description", required=True, help="做了什么。")
@evidence_option()
@at_option()
@pass_session
def task_report(session: Session, task_id: str, description: str,
                evidence_refs: tuple[str, ...], evidence_elsewhere: tuple[str, ...],
                occurred_at: datetime | None) -> None:
    """责任单位上报整改情况（整改报告），附证据。"""
    with keeping(session, evidence_refs) as files:
        result = session.store.ledger.report_rectification(
            actor_id=session.actor, task_id=task_id, description=description,
            evidence=evidence(evidence_refs, evidence_elsewhere, files),
            occurred_at=_when(session, occurred_at))
    _said(result)


@task.command("reinspect")
@click.argument("task_id")
@click.option("--pass/--fail", "passed", default=None,
              help="整改到位（pass）或 返工（fail）；必须二选一。")
@click.option("--reason", "--note", "note", cls=Aliased, aliases=["--note"], default="",
              help="未通过时的原因。")
@evidence_option()
@at_option()
@pass_session
def task_reinspect(session: Session, task_id: str, passed: bool | None, note: str,
                   evidence_refs: tuple[str, ...], evidence_elsewhere: tuple[str, ...],
                   occurred_at: datetime | None) -> None:
    """复查已上报的整改。"""
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
              help="新的期限：日期 YYYY-MM-DD，或在当前期限之后再加的工作日（7工作日、7个工作"
                   "日、7wd）。")
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_extend(session: Session, task_id: str, deadline: date | WorkingDays, reason: str,
                occurred_at: datetime | None) -> None:
    """延长整改期限（由操作人批准）。"""
    _said(session.store.ledger.extend_deadline(actor_id=session.actor, task_id=task_id,
                                               deadline=deadline, reason=reason,
                                               occurred_at=_when(session, occurred_at)))


@task.command("request-extension")
@click.argument("task_id")
@click.option("--to", "deadline", type=DEADLINE, required=True,
              help="申请的期限：日期 YYYY-MM-DD，或在当前期限之后再加的工作日（7工作日、7个工"
                   "作日、7wd）。")
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_request_extension(session: Session, task_id: str, deadline: date | WorkingDays,
                           reason: str, occurred_at: datetime | None) -> None:
    """责任单位申请更晚的期限（申请延期）；批准之前期限照常计算。"""
    _said(session.store.ledger.request_extension(actor_id=session.actor, task_id=task_id,
                                                 deadline=deadline, reason=reason,
                                                 occurred_at=_when(session, occurred_at)))


def _decision(name: str, approve: bool) -> click.Command:
    """``task approve-extension`` and ``task refuse-extension``: one command each way."""
    said = ("批准待批的延期申请：期限改为所申请的日期。" if approve else "驳回待批的延期申请；期限不变。")
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
    """对任务进行督办。"""
    _said(session.store.ledger.escalate(actor_id=session.actor, task_id=task_id, reason=reason,
                                        occurred_at=_when(session, occurred_at)))


@task.command("evidence")
@click.argument("task_id")
@evidence_option()
@at_option()
@pass_session
def task_evidence(session: Session, task_id: str, evidence_refs: tuple[str, ...],
                  evidence_elsewhere: tuple[str, ...], occurred_at: datetime | None) -> None:
    """为任务补充证据（照片、文档）。"""
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
    """销号。"""
    _said(session.store.ledger.close_task(actor_id=session.actor, task_id=task_id,
                                          closure=closure, reason=reason,
                                          occurred_at=_when(session, occurred_at)))


@task.command("reopen")
@click.argument("task_id")
@click.option("--reason", required=True)
@click.option("--deadline", type=DEADLINE, required=True,
              help="日期 YYYY-MM-DD，或工作日（7工作日、7个工作日、7wd），从重新打开的次日起按"
                   "法定节假日日历和活动自己的调休日计算。")
@at_option()
@pass_session
def task_reopen(session: Session, task_id: str, reason: str, deadline: date | WorkingDays,
                occurred_at: datetime | None) -> None:
    """重新打开已销号的任务：问题反弹。"""
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
    """把任务改派给另一个单位。"""
    _said(session.store.ledger.reassign(actor_id=session.actor, task_id=task_id,
                                        unit=unit_code, reason=reason,
                                        occurred_at=_when(session, occurred_at)))


@task.command("correct")
@click.argument("task_id")
@click.option("--event", "event_no", type=click.IntRange(min=1), required=True,
              help="被更正事件的序号（见 'task show'）。")
@set_option()
@click.option("--reason", required=True)
@at_option()
@pass_session
def task_correct(session: Session, task_id: str, event_no: int, changes: tuple[str, ...],
                 reason: str, occurred_at: datetime | None) -> None:
    """更正先前的某个事件；原事件保留，二者都向审计员显示（与 'taizhang correct TASK' 相同）。"""
    parsed = parse_changes(changes, session.services.zone)
    _said(session.store.ledger.correct(actor_id=session.actor, task_id=task_id, event=event_no,
                                       changes=parsed, reason=reason,
                                       occurred_at=_when(session, occurred_at)))


@task.command("show")
@click.argument("task_id")
@output_options()
@pass_session
def task_show(session: Session, task_id: str, fmt: str) -> None:
    """一项任务的当前状态及其所有事件。"""
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
task.commands["list"].help = "与 `taizhang board` 相同（其旧名称）。"

COMMANDS = [inspect, task]
