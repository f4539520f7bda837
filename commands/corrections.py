"""Correcting and withdrawing any record: ``taizhang correct`` and ``taizhang withdraw``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from commands.params import at_option, set_option
from commands.params import changes as parse_changes
from commands.session import Session, pass_session
from i18n import _, labels

def _shown(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@click.command(help="以一个新事件更正 RECORD 的某个事件；原事件保留，二者都显示在 'history'、"
               "'timeline' 及其导出中。\n\nRECORD：T-000001（任务）、ZB-000001（指标任务）、"
               "SV-000001（测评）、I-000001（巡查）、unit:CODE、person:ID 或 rules:VERSION。")
@click.argument("record", metavar="RECORD")
@click.option("--event", "event_no", type=click.IntRange(min=1), default=None,
              help="被更正事件的序号（见 'history RECORD'）；只有一个事件的记录或评分细则版本"
                   "无需给出。")
@set_option()
@click.option("--reason", required=True)
@at_option()
@pass_session
def correct(session: Session, record: str, event_no: int | None, changes: tuple[str, ...],
            reason: str, occurred_at: datetime | None) -> None:
    result = session.services.corrections.correct(
        actor_id=session.actor, record=record, event=event_no,
        changes=parse_changes(changes, session.services.zone), reason=reason,
        occurred_at=session.localize(occurred_at))
    said = ", ".join(f"{field} {_shown(old)} → {_shown(new)}"
                     for field, (old, new) in result["changes"].items())
    click.echo(_("{record} 事件 {event}（{name}）已更正：{said}（事件 {version}）").format(
        record=result["record"], event=result["event"], name=labels.kind(result["kind"]),
        said=said, version=result["version"]))


@click.command()
@click.argument("record", metavar="RECORD")
@click.option("--reason", required=True)
@at_option()
@pass_session
def withdraw(session: Session, record: str, reason: str,
             occurred_at: datetime | None) -> None:
    """撤回 RECORD（重复录入或误录的测评、巡查或指标任务）：它仍留在台账中，显示为已撤回，不计
    入任何数据。"""
    result = session.services.corrections.withdraw(
        actor_id=session.actor, record=record, reason=reason,
        occurred_at=session.localize(occurred_at))
    click.echo(_("{record} 已撤回（事件 {version}）").format(record=result["record"],
                                                      version=result["version"]))


COMMANDS = [correct, withdraw]
