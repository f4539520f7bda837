"""The ledger's task commands: assigning (alone, or from an inspection visit's findings)
and every step of a task's lifecycle (mixed into :class:`ledger.app.Ledger`; the rules are
the task's, in ``domain/task.py``).

Each lifecycle command is a named decide function ``(task, ctx) -> None`` run by
``task_command``: the actor and the task are loaded in one read, the function decides with
the :class:`~ledger.unit_of_work.Context`, and the task is saved (retried on conflict).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.base import Actor, Refused, local_date
from domain.inspection import Inspection
from domain.registry import Campaign
from domain.task import Task
from ledger.presenters import describe_task
from ledger.unit_of_work import Context, UnitOfWork
from ledger.workdays import WorkingDays

TASK_PREFIX = "T-"
INSPECTION_PREFIX = "I-"

Decide = Callable[[Task, Context], None]


@dataclass
class Finding:
    """One problem found on an inspection visit; it becomes a task."""

    category: str
    location: str
    description: str
    deadline: date | WorkingDays
    notice_no: str | None = None
    requirements: str = ""
    evidence: list[dict[str, str]] = field(default_factory=list)


class TaskCommands:
    """Assigning tasks and moving them through their lifecycle."""

    actor: Any
    campaign: Any
    unit: Any
    person: Any
    clock: Any
    today: Any
    write: Any
    resolve_deadline: Any

    def assign(self, *, actor_id: str | None, unit: str, category: str, source: str,
               location: str, description: str, deadline: date | WorkingDays,
               notice_no: str | None = None, requirements: str = "", note: str = "",
               occurred_at: datetime | None = None) -> dict[str, Any]:
        """Assign a task to a unit (with a notice at once, if a number is given)."""
        def assign_task(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            when, now = work.moment(occurred_at)
            task = self._new_task(
                work.next_ids(TASK_PREFIX, 1)[0], actor, campaign,
                Finding(category, location, description, deadline, notice_no, requirements),
                unit=unit, source=source, when=when, now=now, note=note)
            work.save(task)
            return describe_task(task, self.today(campaign))
        return self.write(assign_task)

    def _new_task(self, task_id: str, actor: Actor, campaign: Campaign, finding: Finding, *,
                  unit: str, source: str, when: datetime, now: datetime,
                  inspection: str | None = None, note: str = "") -> Task:
        self.unit(unit).check_active()
        deadline, rule = self.resolve_deadline(finding.deadline,
                                               local_date(when, campaign.zone), campaign)
        task = Task.assign(
            task_id=task_id, unit=unit, category=campaign.check_category(finding.category),
            source=source, location=finding.location, description=finding.description,
            deadline=deadline, actor=actor, occurred_at=when,
            zone=campaign.zone, now=now, inspection=inspection, note=note,
            deadline_rule=rule)
        if finding.notice_no:
            task.issue_notice(notice_no=finding.notice_no, requirements=finding.requirements,
                              actor=actor, occurred_at=when, now=now, zone=campaign.zone)
        if finding.evidence:
            task.attach_evidence(evidence=finding.evidence, actor=actor, occurred_at=when,
                                 now=now)
        return task

    def inspect(self, *, actor_id: str | None, unit: str, findings: list[Finding],
                companions: list[str] | None = None, note: str = "",
                occurred_at: datetime | None = None) -> dict[str, Any]:
        """Record an inspection visit; each finding becomes a task of the visited unit."""
        def record_visit(work: UnitOfWork) -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            self.unit(unit).check_active()
            when, now = work.moment(occurred_at)
            inspection_id = work.next_ids(INSPECTION_PREFIX, 1)[0]
            task_ids = work.next_ids(TASK_PREFIX, len(findings))
            # The visit first, so that one who may not inspect is told just that.
            visit = Inspection.record(
                inspection_id=inspection_id, unit=unit, companions=companions or [],
                findings=task_ids, note=note, actor=actor, occurred_at=when, now=now)
            for companion in companions or []:
                if self.person(companion).as_actor().role != "inspector":
                    raise Refused("同行人员 {companion} 不是巡查员", companion=companion)
            tasks = [self._new_task(task_id, actor, campaign, finding, unit=unit,
                                    source="inspection", when=when, now=now,
                                    inspection=inspection_id, note=note)
                     for task_id, finding in zip(task_ids, findings, strict=True)]
            work.save(visit, *tasks)
            return {"inspection": inspection_id, "unit": unit,
                    "occurred_at": when.isoformat(), "inspectors": visit.inspectors,
                    "tasks": task_ids}
        return self.write(record_visit)

    def acknowledge(self, *, actor_id: str | None, task_id: str, note: str = "",
                    occurred_at: datetime | None = None) -> dict[str, Any]:
        """The unit signs for the task (签收)."""
        def sign_for(task: Task, ctx: Context) -> None:
            task.acknowledge(note=note, actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=sign_for)

    def issue_notice(self, *, actor_id: str | None, task_id: str, notice_no: str,
                     requirements: str = "", deadline: date | WorkingDays | None = None,
                     occurred_at: datetime | None = None) -> dict[str, Any]:
        """Issue a rectification notice (整改通知书); working days count from the day
        after the notice."""
        def issue(task: Task, ctx: Context) -> None:
            resolved, rule = self.resolve_deadline(deadline, local_date(ctx.when, ctx.zone))
            task.issue_notice(notice_no=notice_no, requirements=requirements,
                              deadline=resolved, deadline_rule=rule, actor=ctx.actor,
                              occurred_at=ctx.when, now=ctx.now, zone=ctx.zone)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=issue)

    def report_rectification(self, *, actor_id: str | None, task_id: str, description: str,
                             evidence: list[dict[str, str]] | None = None,
                             occurred_at: datetime | None = None) -> dict[str, Any]:
        """The unit reports its rectification, with evidence."""
        def report(task: Task, ctx: Context) -> None:
            task.report_rectification(description=description, evidence=evidence or [],
                                      actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=report)

    def reinspect(self, *, actor_id: str | None, task_id: str, passed: bool, note: str = "",
                  evidence: list[dict[str, str]] | None = None,
                  occurred_at: datetime | None = None) -> dict[str, Any]:
        """Re-inspect (复查): pass or fail (返工)."""
        def judge(task: Task, ctx: Context) -> None:
            task.reinspect(passed=passed, note=note, evidence=evidence or [],
                           actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=judge)

    def extend_deadline(self, *, actor_id: str | None, task_id: str,
                        deadline: date | WorkingDays, reason: str,
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        """Extend the current cycle's deadline; the actor is the approver. Working days
        are that many more after the current deadline."""
        def extend(task: Task, ctx: Context) -> None:
            resolved, rule = self.resolve_deadline(deadline, task.deadline)
            task.extend_deadline(deadline=resolved, deadline_rule=rule, reason=reason,
                                 actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=extend)

    def escalate(self, *, actor_id: str | None, task_id: str, reason: str,
                 occurred_at: datetime | None = None) -> dict[str, Any]:
        """Put the task under supervision (督办)."""
        def supervise(task: Task, ctx: Context) -> None:
            task.escalate(reason=reason, actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=supervise)

    def attach_evidence(self, *, actor_id: str | None, task_id: str,
                        evidence: list[dict[str, str]],
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        def attach(task: Task, ctx: Context) -> None:
            task.attach_evidence(evidence=evidence, actor=ctx.actor, occurred_at=ctx.when,
                                 now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=attach)

    def close_task(self, *, actor_id: str | None, task_id: str, closure: str, reason: str,
                   occurred_at: datetime | None = None) -> dict[str, Any]:
        """Close the task (销号)."""
        def close(task: Task, ctx: Context) -> None:
            task.close(closure=closure, reason=reason, actor=ctx.actor, occurred_at=ctx.when,
                       now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=close)

    def reopen(self, *, actor_id: str | None, task_id: str, reason: str,
               deadline: date | WorkingDays,
               occurred_at: datetime | None = None) -> dict[str, Any]:
        """Reopen a closed task: the problem came back (反弹); working days count from the
        day after the reopening."""
        def reopen_task(task: Task, ctx: Context) -> None:
            resolved, rule = self.resolve_deadline(deadline, local_date(ctx.when, ctx.zone))
            task.reopen(reason=reason, deadline=resolved, deadline_rule=rule,
                        actor=ctx.actor, occurred_at=ctx.when, now=ctx.now, zone=ctx.zone)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=reopen_task)

    def reassign(self, *, actor_id: str | None, task_id: str, unit: str, reason: str,
                 occurred_at: datetime | None = None) -> dict[str, Any]:
        """Hand the task to another unit."""
        def hand_over(task: Task, ctx: Context) -> None:
            self.unit(unit).check_active()
            task.reassign(unit=unit, reason=reason, actor=ctx.actor, occurred_at=ctx.when,
                          now=ctx.now)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=hand_over)

    def correct(self, *, actor_id: str | None, task_id: str, event: int,
                changes: dict[str, str], reason: str,
                occurred_at: datetime | None = None) -> dict[str, Any]:
        """Record a correction of one of the task's earlier events."""
        def correct_event(task: Task, ctx: Context) -> None:
            task.correct(corrects=event, changes=changes, reason=reason, actor=ctx.actor,
                         occurred_at=ctx.when, now=ctx.now, zone=ctx.zone,
                         categories=self.campaign().categories)
        return self.task_command(actor_id=actor_id, task_id=task_id,
                                 occurred_at=occurred_at, decide=correct_event)

    def task_command(self, *, actor_id: str | None, task_id: str,
                     occurred_at: datetime | None, decide: Decide) -> dict[str, Any]:
        """Load the actor and the task (one read), ``decide`` with the campaign's time
        zone, save; the task as it now stands."""
        def attempt(work: UnitOfWork) -> dict[str, Any]:
            ctx, task = work.acting_on(actor_id, occurred_at,
                                       Task, task_id.strip().upper(), "task")
            decide(task, ctx)
            work.save(task)
            return describe_task(task, self.clock().astimezone(ctx.zone).date())
        return self.write(attempt)
