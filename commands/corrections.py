"""Correcting and withdrawing any record: ``taizhang correct`` and ``taizhang withdraw``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from commands.params import at_option, set_option
from commands.params import changes as parse_changes
from commands.session import Session, pass_session
from i18n import _

RECORD_HELP = ("T-000001 (task), ZB-000001 (target task), SV-000001 (survey), I-000001 "
               "(inspection), unit:CODE, person:ID or rules:VERSION.")


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@click.command(help="Correct an event of RECORD by a new event; the original stays, and both "
               "are shown in 'history', 'timeline' and their exports.\n\nRECORD: " + RECORD_HELP)
@click.argument("record", metavar="RECORD")
@click.option("--event", "event_no", type=click.IntRange(min=1), default=None,
              help="The number of the event corrected (see 'history RECORD'); not needed "
              "for a record of one event or a rules version.")
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
        record=result["record"], event=result["event"], name=result["name"], said=said,
        version=result["version"]))


@click.command()
@click.argument("record", metavar="RECORD")
@click.option("--reason", required=True)
@at_option()
@pass_session
def withdraw(session: Session, record: str, reason: str,
             occurred_at: datetime | None) -> None:
    """Withdraw RECORD (a survey, inspection or target task entered twice or in error):
    it stays in the ledger, shown as withdrawn, and counts in no figure."""
    result = session.services.corrections.withdraw(
        actor_id=session.actor, record=record, reason=reason,
        occurred_at=session.localize(occurred_at))
    click.echo(_("{record} 已撤回（事件 {version}）").format(record=result["record"],
                                                      version=result["version"]))


COMMANDS = [correct, withdraw]
