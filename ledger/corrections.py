"""Correcting and withdrawing any record, on the :class:`~ledger.app.Ledger`.

A record is named as ``history`` and ``timeline`` name it: a task (``T-000001``, an
imported ``IM-…``), a target task (``ZB-…``), a survey (``SV-…``), an inspection visit
(``I-…``), ``unit:CODE``, ``person:ID``, or ``rules:VERSION`` (an adoption of scoring
rules, an event of the evaluation book). The decision is the record's own (see
``domain/corrections.py``); here the record is loaded, given what its checks need from
the rest of the ledger (units, people, categories), and saved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.base import LedgerAggregate, NotFound, Refused
from domain.corrections import OWN_EVENTS
from domain.evaluation import Evaluation
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit
from domain.survey import Survey
from domain.target import TargetTask
from domain.task import Task
from ledger.app import Ledger
from ledger.unit_of_work import Context, UnitOfWork

# Sequential and imported ids, by prefix (the longer prefix first).
PREFIXES: tuple[tuple[str, type[LedgerAggregate], str], ...] = (
    ("IM-", Task, "task"), ("T-", Task, "task"), ("ZB-", TargetTask, "target task"),
    ("SV-", Survey, "survey"), ("I-", Inspection, "inspection"),
)


def resolve(record: str) -> tuple[type[LedgerAggregate], str, str, int | None]:
    """The aggregate class, id and label a record's name stands for (and, for
    ``rules:VERSION``, the rules version)."""
    text = (record or "").strip()
    kind, _, rest = text.partition(":")
    if rest:
        if kind.lower() == "unit":
            return Unit, Unit.key(rest.strip()), "unit", None
        if kind.lower() == "person":
            return Person, Person.key(rest.strip()), "person", None
        if kind.lower() == "rules":
            try:
                return Evaluation, Evaluation.ID, "rules version", int(rest)
            except ValueError:
                raise Refused("评分细则版本必须是数字，而不是 {value!r}", value=rest) from None
    upper = text.upper()
    for prefix, cls, label in PREFIXES:
        if upper.startswith(prefix):
            return cls, upper, label, None
    raise Refused("记录必须是任务（T-…）、指标任务（ZB-…）、测评（SV-…）、巡查（I-…）、"
                  "unit:CODE、person:ID 或 rules:VERSION，而不是 {record!r}", record=record)


def event_of(book: Evaluation, rules_version: int) -> int:
    """The number of the evaluation book's event that adopted ``rules_version``."""
    if not 1 <= rules_version <= len(book.versions):
        raise NotFound("未知的评分细则版本：{number}（版本为 1 到 {last}）", number=rules_version,
                       last=len(book.versions))
    return book.versions[rules_version - 1]["event"]


class Corrections:
    """``correct`` and ``withdraw`` for every record people enter."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def correct(self, *, actor_id: str | None, record: str, event: int | None,
                changes: dict[str, Any], reason: str,
                occurred_at: datetime | None = None) -> dict[str, Any]:
        """Correct event ``event`` of ``record`` (for a record of one event, or a rules
        version, it may be left out)."""
        def correct_record(found: Any, ctx: Context, campaign: Campaign,
                           rules_version: int | None, work: UnitOfWork) -> dict[str, Any]:
            corrects = self._event(found, record, event, rules_version)
            before = {f: found._value(corrects, f)
                      for f in changes if f in self._fields(found, corrects)}
            found.correct(corrects=corrects, changes=changes, reason=reason, actor=ctx.actor,
                          occurred_at=ctx.when, now=ctx.now, zone=ctx.zone,
                          **self._context(campaign, work))
            name = found.log[corrects - 1][0]
            return {"event": corrects, "name": name, "kind": f"{type(found).__name__}.{name}",
                    "changes": {f: [before.get(f), found._value(corrects, f)]
                                for f in changes}}
        return self._command(actor_id, record, occurred_at, correct_record)

    def withdraw(self, *, actor_id: str | None, record: str, reason: str,
                 occurred_at: datetime | None = None) -> dict[str, Any]:
        """Withdraw ``record``: it stays in the ledger and counts no more."""
        def withdraw_record(found: Any, ctx: Context, campaign: Campaign,
                            rules_version: int | None, work: UnitOfWork) -> dict[str, Any]:
            found.withdraw(reason=reason, actor=ctx.actor, occurred_at=ctx.when, now=ctx.now)
            return {}
        return self._command(actor_id, record, occurred_at, withdraw_record)

    def _command(self, actor_id: str | None, record: str, occurred_at: datetime | None,
                 command: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        """Load the actor and the record, decide, save; say what was done."""
        cls, key, label, rules_version = resolve(record)

        def attempt(work: UnitOfWork) -> dict[str, Any]:
            actor = self.ledger.actor(actor_id)
            campaign = self.ledger.campaign()
            when, now = work.moment(occurred_at)
            ctx = Context(actor=actor, when=when, now=now, zone=campaign.zone)
            found = self._load(work, cls, key, label, rules_version)
            said = command(found, ctx, campaign, rules_version, work)
            work.save(found)
            return {"record": record.strip(), **said, "version": found.version}
        return self.ledger.write(attempt)

    # --- loading and context ---------------------------------------------------------------

    @staticmethod
    def _load(work: UnitOfWork, cls: type[LedgerAggregate], key: str, label: str,
              rules_version: int | None) -> LedgerAggregate:
        if cls is Evaluation:
            try:
                book = work.load(Evaluation, key, label)
            except NotFound:
                raise NotFound("未知的评分细则版本：{number}（尚未采用任何评分细则）",
                               number=rules_version) from None
            if rules_version is not None:
                event_of(book, rules_version)  # refuses an unknown version
            return book
        return work.load(cls, key, label)

    @staticmethod
    def _event(found: Any, record: str, event: int | None, rules_version: int | None) -> int:
        if rules_version is not None:
            if event is not None:
                raise Refused("{record} 不需要 --event：一个评分细则版本就是一个事件",
                              record=record.strip())
            return event_of(found, rules_version)
        if event is not None:
            return event
        originals = [i for i, (name, _, _) in enumerate(found.log, 1) if name not in OWN_EVENTS]
        if len(originals) != 1:
            raise Refused("需要 --event：{record} 有 {count} 个事件（见 'taizhang history {record}'）",
                          record=record.strip(), count=len(originals))
        return originals[0]

    @staticmethod
    def _fields(found: Any, version: int) -> tuple[str, ...]:
        if not 1 <= version <= len(found.log):
            return ()
        return ("occurred_at", *found.CORRECTABLE.get(found.log[version - 1][0], ()))

    def _context(self, campaign: Campaign, work: UnitOfWork) -> dict[str, Any]:
        """What the records' own checks may need from the rest of the ledger, loaded only
        when asked for (the administrators through ``work``: its save relies on them)."""
        ledger = self.ledger

        def active_unit(code: str) -> str:
            ledger.unit(code).check_active()
            return code
        children: Callable[[str], list[Unit]] = lambda code: [
            u for u in self.units() if u.parent == code]
        return {"categories": list(campaign.categories), "active_unit": active_unit,
                "unit": ledger.unit, "person": ledger.person, "children": children,
                "admins": work.active_admins}

    def units(self) -> list[Unit]:
        ids = self.ledger.recorder.ids_with_prefix("unit:")
        return self.ledger.load_many(*((Unit, i, "unit") for i in ids))  # type: ignore[return-value]
