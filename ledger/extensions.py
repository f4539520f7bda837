"""The ledger's side of extension requests (申请延期): a unit asks, an inspector or an
administrator decides (mixed into :class:`ledger.app.Ledger`; the rules are the task's, in
``domain/extension.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.base import Actor
from domain.task import Task
from ledger.workdays import WorkingDays


class ExtensionCommands:
    """Extension requests, through the ledger's task commands."""

    _command: Any
    resolve_deadline: Any

    def request_extension(self, actor_id: str, task_id: str, deadline: date | WorkingDays,
                          reason: str, occurred_at: datetime | None = None) -> dict[str, Any]:
        """The unit asks for a later deadline (申请延期); working days are that many more
        after the current deadline, as for an extension."""
        def command(t: Task, a: Actor, z: ZoneInfo, w: datetime, n: datetime) -> None:
            resolved, rule = self.resolve_deadline(deadline, t.deadline)
            t.request_extension(deadline=resolved, deadline_rule=rule,  # type: ignore[arg-type]
                                reason=reason, actor=a, occurred_at=w, now=n)
        return self._command(actor_id, task_id, occurred_at, command)

    def decide_extension(self, actor_id: str, task_id: str, approve: bool, reason: str,
                         occurred_at: datetime | None = None) -> dict[str, Any]:
        """Approve (the deadline moves to the date asked for) or refuse the pending
        extension request."""
        def command(t: Task, a: Actor, z: ZoneInfo, w: datetime, n: datetime) -> None:
            if approve:
                t.approve_extension(note=reason, actor=a, occurred_at=w, now=n)
            else:
                t.refuse_extension(reason=reason, actor=a, occurred_at=w, now=n)
        return self._command(actor_id, task_id, occurred_at, command)
