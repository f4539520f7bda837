"""The states of a task (任务) and the shape of one row of its lifecycle.

The lifecycle itself, per event of a task, is :data:`domain.task.LIFECYCLE` (it names the
task's events); its words — the states, their labels, where the commands are taken — are
said here, where the task, its guarded commands (:mod:`domain.task_commands`) and the read
side all read them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACKNOWLEDGED", "ASSIGNED", "CLOSED", "Move", "OPEN", "RECTIFYING", "REPORTED",
           "STATES", "STATE_LABELS", "UNFINISHED", "VERIFIED"]

ASSIGNED = "assigned"
ACKNOWLEDGED = "acknowledged"
RECTIFYING = "rectifying"
REPORTED = "reported"
VERIFIED = "verified"
CLOSED = "closed"
STATES = (ASSIGNED, ACKNOWLEDGED, RECTIFYING, REPORTED, VERIFIED, CLOSED)
STATE_LABELS = {
    ASSIGNED: "已交办", ACKNOWLEDGED: "已签收", RECTIFYING: "整改中", REPORTED: "待复查",
    VERIFIED: "已验收", CLOSED: "已销号",
}
# Where the lifecycle's commands are taken: every state but closed, and those not yet
# verified or closed.
OPEN = frozenset(STATES) - {CLOSED}
UNFINISHED = OPEN - {VERIFIED}


@dataclass(frozen=True)
class Move:
    """One row of the lifecycle: the states an event's command is taken in, and the state
    the event leads to (None: the state stays) — from any state, or, where ``only_from``
    says, from those only (elsewhere the state stays)."""

    taken_in: frozenset[str]
    to: str | None = None
    only_from: frozenset[str] | None = None

    def after(self, state: str) -> str:
        """The state after the event, applied in ``state``."""
        if self.to is None or (self.only_from is not None and state not in self.only_from):
            return state
        return self.to

