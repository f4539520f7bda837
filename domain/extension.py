"""Extension requests (申请延期): a unit asks for a later deadline; an inspector or an
administrator approves it (the deadline moves, as an extension does) or refuses it.

A request does not stop the clock: until it is approved, the deadline in force is the one
the task had, and every figure counts that one. One request may be pending at a time; it
belongs to the task's current rectification cycle and lapses with it (verified, closed or
reopened). The events are the task's own (``Task.ExtensionRequested``,
``Task.ExtensionApproved``, ``Task.ExtensionRefused``); this mixin holds the guarded
methods that trigger them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.base import Actor, Refused, require_text
from domain.roles import authorize


def requested(event: Any, task: ExtensionRequests) -> None:
    """How ``Task.ExtensionRequested`` changes the task: the request is pending."""
    task.extension_request = {"version": event.originator_version, "cycle": task.cycle,
                              "deadline": event.deadline, "rule": event.deadline_rule,
                              "from": event.current_deadline}


def decided(event: Any, task: ExtensionRequests) -> None:
    """How an approval or a refusal changes the task: no request is pending."""
    task.extension_request = None


class ExtensionRequests:
    """The methods of :class:`domain.task.Task` for extension requests."""

    # The request pending, as {version, deadline, deadline_rule, cycle}, or None (set by
    # the Task's ExtensionRequested event, cleared by its decision).
    extension_request: dict[str, Any] | None = None

    id: str
    state: str
    cycle: int
    unit: str
    deadline: date
    FINISHED: tuple[str, ...]
    ExtensionRequested: Any
    ExtensionApproved: Any
    ExtensionRefused: Any
    DeadlineExtended: Any
    _check_when: Any
    _stamp: Any

    @property
    def pending_request(self) -> dict[str, Any] | None:
        """The request awaiting a decision, if any: one of this cycle, on a task that is
        neither verified nor closed."""
        request = self.extension_request
        if request is None or request["cycle"] != self.cycle or self.state in self.FINISHED:
            return None
        return request

    def request_extension(self, *, deadline: date, reason: str, actor: Actor,
                          occurred_at: datetime, now: datetime,
                          deadline_rule: str | None = None) -> None:
        """The responsible unit asks for the deadline to be moved to ``deadline``."""
        authorize(actor, "request_extension", self.unit)
        self._check_when(occurred_at, now)
        if self.state in self.FINISHED:
            raise Refused("任务 {task} 状态为{state}，不能申请延期", task=self.id,
                          state=self._state())
        pending = self.pending_request
        if pending is not None:
            raise Refused("任务 {task} 已有一项待决的延期申请（第 {event} 个事件，延至 {deadline}）："
                          "须先批准或驳回", task=self.id, event=pending["version"],
                          deadline=pending["deadline"].isoformat())
        if deadline <= self.deadline:
            raise Refused("申请的期限 {requested} 不晚于现行期限 {current}",
                          requested=deadline.isoformat(), current=self.deadline.isoformat())
        self._stamp(self.ExtensionRequested, actor, occurred_at, deadline=deadline,
                    current_deadline=self.deadline, reason=require_text("reason", reason),
                    deadline_rule=None if deadline_rule is None
                    else require_text("deadline rule", deadline_rule))

    def approve_extension(self, *, note: str, actor: Actor, occurred_at: datetime,
                          now: datetime) -> None:
        """Approve the pending request: the decision, then the deadline moved to the date
        asked for (a ``DeadlineExtended`` like any extension, naming the request)."""
        request = self._decidable(actor, occurred_at, now)
        if request["deadline"] <= self.deadline:
            raise Refused("申请的期限 {requested} 不晚于现行期限 {current}：请驳回这项申请",
                          requested=request["deadline"].isoformat(),
                          current=self.deadline.isoformat())
        self._stamp(self.ExtensionApproved, actor, occurred_at, request=request["version"],
                    note=note.strip())
        # Working days asked for count from the deadline then: the rule still says how
        # the date came about only if the deadline has not moved since.
        rule = request["rule"] if request["from"] == self.deadline else None
        self._stamp(self.DeadlineExtended, actor, occurred_at, deadline=request["deadline"],
                    previous_deadline=self.deadline,
                    reason=f"extension request (event {request['version']}) approved",
                    deadline_rule=rule)

    def refuse_extension(self, *, reason: str, actor: Actor, occurred_at: datetime,
                         now: datetime) -> None:
        """Refuse the pending request, with the reason; the deadline stays."""
        request = self._decidable(actor, occurred_at, now)
        self._stamp(self.ExtensionRefused, actor, occurred_at, request=request["version"],
                    reason=require_text("reason", reason))

    def _decidable(self, actor: Actor, occurred_at: datetime, now: datetime
                   ) -> dict[str, Any]:
        authorize(actor, "decide_extension")
        self._check_when(occurred_at, now)
        request = self.pending_request
        if request is None:
            raise Refused("任务 {task} 没有待决的延期申请", task=self.id)
        return request
