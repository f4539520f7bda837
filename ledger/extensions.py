"""The ledger's side of extension requests (申请延期): a unit asks, an inspector or an
administrator decides (mixed into :class:`ledger.app.Ledger`; the rules are the task's, in
``domain/extension.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.task import Task
from ledger.unit_of_work import Context
from ledger.workdays import WorkingDays


class ExtensionCommands:
    """Extension requests, through the ledger's task commands."""

    task_command: Any
    resolve_deadline: Any

    def request_extension(self, *, actor_id: str | None, task_id: str,
                          deadline: date | WorkingDays, reason: str,
                          occurred_at: datetime | None = None) -> dict[str, Any]:
        """The unit asks for a later deadline (申请延期); working days are that many more
        after the current deadline, as for an extension."""
        def ask(task: Task, ctx: Context) -> None:
            resolved, rule = self.resolve_deadline(deadline, task.deadline)
            task.request_extension(deadline=resolved, deadline_rule=rule, reason=reason,
                                   actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=ask)

    def decide_extension(self, *, actor_id: str | None, task_id: str, approve: bool,
                         reason: str, occurred_at: datetime | None = None
                         ) -> dict[str, Any]:
        """Approve (the deadline moves to the date asked for) or refuse the pending
        extension request."""
        def answer(task: Task, ctx: Context) -> None:
            if approve:
                task.approve_extension(note=reason, actor=ctx.actor, occurred_at=ctx.when,
                                       now=ctx.now)
            else:
                task.refuse_extension(reason=reason, actor=ctx.actor, occurred_at=ctx.when,
                                      now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=answer)
