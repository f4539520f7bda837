"""The ledger application: every command of the 台账, as methods that return plain data.

Each command loads what it acts on, lets the domain decide, and saves the new events in one
transaction. When two people act on the same task at once, the second save conflicts; the
command is then decided again against the fresh state (so it either still applies, or is
refused with the reason the new state gives) a few times before giving up with a conflict.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoder,
    Transcoding,
)
from eventsourcing.utils import get_topic

from domain.accounts import Account
from domain.base import (
    Actor,
    DomainError,
    LedgerAggregate,
    NotFound,
    Refused,
    check_moment,
    local_date,
)
from domain.inspection import Inspection
from domain.registry import Campaign, Person, Unit, check_code
from domain.task import Task
from ledger import identity
from ledger.chain import GENESIS, Record, Tampered
from ledger.extensions import ExtensionCommands
from ledger.workdays import WorkingDayCommands, WorkingDays

R = TypeVar("R")
A = TypeVar("A", bound=LedgerAggregate)

TASK_PREFIX = "T-"
INSPECTION_PREFIX = "I-"
ID_DIGITS = 6
ATTEMPTS = 5


class Conflict(DomainError):
    """Someone else kept changing the same thing; the command was not applied."""


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


# What orjson writes byte for byte as the library's encoder (compact, UTF-8) writes it, or
# hands to the transcodings as the library's encoder does. Floats only from 1e-4 to 1e16
# and zero (orjson spells 1e16, 1e-5 and NaN otherwise; a task's coordinates are within);
# not UUIDs, dataclasses or enums (orjson writes them itself).
_ALIKE = frozenset({str, int, bool, type(None), datetime, date, Decimal})
_DEPTH = 32


def _alike(value: Any, depth: int = 0) -> bool:
    """Whether orjson encodes ``value`` exactly as the library's JSON encoder does."""
    kind = type(value)
    if kind is dict:
        if depth > _DEPTH:
            return False  # deep, or circular: the library's encoder says what is wrong
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _ALIKE
                                        and not _alike(item, depth + 1)):
                return False
        return True
    if kind is list or kind is tuple:
        if depth > _DEPTH:
            return False
        for item in value:
            if type(item) not in _ALIKE and not _alike(item, depth + 1):
                return False
        return True
    if kind is float:
        return value == 0.0 or 1e-4 <= abs(value) < 1e16  # (NaN is neither)
    return kind in _ALIKE


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON transcoder, encoding with orjson where that writes the very same
    bytes (twice as fast; the audit chain hashes those bytes): events whose values are
    text, integers, booleans, dates and times, decimals, lists and dicts. Anything else,
    and anything orjson refuses (integers beyond 64 bits, lone surrogates), goes to the
    library's encoder."""

    def encode(self, obj: Any) -> bytes:
        if _alike(obj):
            try:
                return orjson.dumps(obj, default=self._encode_obj,
                                    option=orjson.OPT_PASSTHROUGH_DATETIME)
            except orjson.JSONEncodeError:
                pass
        return super().encode(obj)


_NOT_STATE = frozenset({"originator_id", "originator_version"})


class LedgerMapper(Mapper[str]):
    """The library's mapper, turning an event into a stored event in one pass over its
    fields (a bulk write maps thousands of events per save): the same state, in the same
    order, through the same transcoder, compressor and cipher."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = domain_event.__class__
        state = {k: v for k, v in vars(domain_event).items() if k not in _NOT_STATE}
        if state.get("entered_by", "") is None:
            # Entered by the actor: stored as before proxy entries existed (the event reads
            # back with the field's default, None).
            del state["entered_by"]
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(originator_id=domain_event.originator_id,
                           originator_version=domain_event.originator_version,
                           topic=get_topic(cls), state=data)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """The library's mapping back, a stored event it cannot read (its topic, state or
        fields changed in the database) refused in one line, never a traceback."""
        try:
            return super().to_domain_event(stored_event)
        except Exception as e:  # noqa: BLE001 - whatever was stored, the answer is the same
            raise Tampered(f"the stored event {stored_event.originator_id} version "
                           f"{stored_event.originator_version} cannot be read "
                           f"({type(e).__name__})") from None


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


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def sequence_id(prefix: str, number: int) -> str:
    if number >= 10 ** ID_DIGITS:
        raise Refused(f"the ledger has run out of {prefix}… numbers ({number})")
    return f"{prefix}{number:0{ID_DIGITS}d}"


class Ledger(WorkingDayCommands, ExtensionCommands, Application[str]):
    """The taizhang application over one store."""

    name = "taizhang"

    def __init__(self, env: dict[str, str], clock: Callable[[], datetime] = utc_now) -> None:
        super().__init__(env)
        self.clock = clock
        # Transaction time is this clock too: the store's own (the wall clock, PostgreSQL's
        # server clock) unless the ledger runs on another (a simulation, a test).
        self.recorder.clock = None if clock is utc_now else clock  # type: ignore[attr-defined]
        self._zone: ZoneInfo | None = None
        self.written = 0  # events this application has saved (a superuser is warned)
        self._account: str | None = None

    def register_transcodings(self, transcoder: Transcoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def construct_transcoder(self) -> Transcoder:
        if self.factory.env.get(self.factory.TRANSCODER_TOPIC):
            return super().construct_transcoder()
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def construct_mapper(self) -> Mapper[str]:
        if self.factory.env.get(self.factory.MAPPER_TOPIC):
            return super().construct_mapper()
        return self.factory.mapper(transcoder=self.construct_transcoder(),
                                   mapper_class=LedgerMapper)

    def save(self, *objs: Any, **kwargs: Any) -> list[int]:  # type: ignore[override]
        """Store the aggregates' new events in one transaction; returns their positions.

        The library's save, without what this application does not use and a bulk write
        would pay for per event: its runtime Protocol checks, and the recordings it builds
        for followers and snapshots (taizhang's projections follow the log itself, and it
        takes no snapshots)."""
        events: list[Any] = []
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                events.extend(obj.collect_events())
            elif obj is not None:
                processing_event: ProcessingEvent[str] = ProcessingEvent()
                processing_event.collect_events(obj)
                events.extend(processing_event.events)
        if not events:
            return []
        to_stored = self.mapper.to_stored_event
        self.written += len(events)
        return list(self.recorder.insert_events([to_stored(e) for e in events], **kwargs)
                    or [])

    # --- reading aggregates ------------------------------------------------------------

    def _get(self, kind: type[A], key: str, label: str) -> A:
        return self._get_many((kind, key, label))[0]  # type: ignore[return-value]

    def _get_many(self, *wanted: tuple[type[LedgerAggregate], str, str]
                  ) -> list[LedgerAggregate]:
        """Aggregates by id (each with its class and the label its errors name), as of
        now, through one read of the store: a cached aggregate is fast-forwarded by the
        events stored since it was cached (others may have written meanwhile), the rest
        are replayed from their first event. A command loads its actor and its task in
        this one read."""
        for _, key, label in wanted:
            if not _name(key).strip():
                raise Refused(f"{label} must not be empty (got {_name(key)!r})")
        cache = self.repository.cache
        found: dict[str, LedgerAggregate | None] = {}
        for _, key, _ in wanted:
            try:
                found[key] = cache.get(key) if cache is not None else None
            except KeyError:
                found[key] = None
        stored = self.recorder.select_events_after(  # type: ignore[attr-defined]
            {key: aggregate.version if aggregate is not None else 0
             for key, aggregate in found.items()})
        to_event = self.mapper.to_domain_event
        for key, aggregate in found.items():
            events = stored.get(key)
            if events:
                found[key] = aggregate = _replay(aggregate, map(to_event, events))
                if cache is not None and aggregate is not None:
                    cache.put(key, aggregate)
        loaded = []
        for kind, key, label in wanted:
            aggregate = found[key]
            if not isinstance(aggregate, kind):
                raise NotFound(f"unknown {label}: {_name(key)}")
            loaded.append(aggregate)
        return loaded

    def campaign(self) -> Campaign:
        try:
            return self._get(Campaign, Campaign.ID, "campaign")
        except NotFound:
            raise NotFound("this ledger has no campaign yet: run 'taizhang campaign start'") \
                from None

    def unit(self, code: str) -> Unit:
        return self._get(Unit, Unit.key(code), "unit")

    def person(self, person_id: str) -> Person:
        return self._get(Person, Person.key(person_id), "person")

    def task(self, task_id: str) -> Task:
        return self._get(Task, task_id.strip().upper(), "task")

    @property
    def account(self) -> str:
        """The account the store's platform authenticated (see ``ledger.identity``)."""
        if self._account is None:
            self._account = identity.authenticated_account(self.recorder)
        return self._account

    def actor(self, person_id: str | None) -> Actor:
        """The actor entering from this account, for ``person_id`` (None: the account's own
        person; another person: a proxy entry, for administrators and clerks only)."""
        return identity.acting(self, person_id)[0]

    def today(self, campaign: Campaign) -> date:
        return self.clock().astimezone(campaign.zone).date()

    def _when(self, occurred_at: datetime | None) -> tuple[datetime, datetime]:
        """When a command happened (default now), and now; never in the future."""
        now = self.clock()
        when = occurred_at if occurred_at is not None else now
        check_moment(when, now)
        return when, now

    def _retrying(self, attempt: Callable[[], R]) -> R:
        for tried in range(ATTEMPTS):
            try:
                return attempt()
            except IntegrityError:
                self._forget_cached()
                # A short random pause, growing: writers that collided do not all come
                # back at the same moment to collide again.
                time.sleep(random.uniform(0, 0.005 * 2 ** tried))
                continue
            except BaseException:
                self._forget_cached()
                raise
        raise Conflict("others kept changing the same records; nothing was written, "
                       "try again")

    def _forget_cached(self) -> None:
        # Cached aggregates are used without copying (copies cost more than the rest of a
        # command); a command that failed after changing one must not leave it cached.
        if self.repository.cache is not None:
            self.repository.cache.clear()

    def _next_ids(self, prefix: str, count: int) -> list[str]:
        last = self.recorder.last_id_with_prefix(prefix)  # type: ignore[attr-defined]
        start = int(last[len(prefix):]) + 1 if last else 1
        return [sequence_id(prefix, start + i) for i in range(count)]

    # --- registries --------------------------------------------------------------------

    def start_campaign(self, *, name: str, time_zone: str, categories: list[str],
                       required_inspections: int, admin_id: str, admin_name: str,
                       occurred_at: datetime | None = None) -> dict[str, Any]:
        """Start the ledger's campaign with its first administrator, bound to the account
        that starts it."""
        when, _ = self._when(occurred_at)
        try:
            existing = self.campaign()
        except NotFound:
            pass
        else:
            raise Refused(f"this ledger already has a campaign: {existing.name}")
        admin = Person.found(person_id=admin_id, name=admin_name, occurred_at=when)
        campaign = Campaign.start(
            name=name, time_zone=time_zone, categories=categories,
            required_inspections=required_inspections, actor=admin.as_actor(),
            occurred_at=when)
        binding = Account.bind_new(self.account, admin, actor=admin.as_actor(),
                                   occurred_at=when)
        # Not retried: the events are collected by the first save, and a conflict here
        # can only mean that someone else started a campaign meanwhile.
        try:
            self.save(campaign, admin, binding)
        except IntegrityError:
            self._forget_cached()
            raise Refused("this ledger already has a campaign") from None
        return self.describe_campaign(campaign)

    def describe_campaign(self, campaign: Campaign | None = None) -> dict[str, Any]:
        campaign = campaign or self.campaign()
        return {"name": campaign.name, "time_zone": campaign.time_zone,
                "categories": list(campaign.categories),
                "required_inspections": campaign.required_inspections,
                "recurrence_window_days": campaign.recurrence_window_days,
                "recurrence_lookback_months": campaign.recurrence_lookback_months}

    def add_category(self, actor_id: str, category: str,
                     occurred_at: datetime | None = None) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            campaign.add_category(category, actor=actor, occurred_at=self._when(occurred_at)[0])
            self.save(campaign)
            return self.describe_campaign(campaign)
        return self._retrying(attempt)

    def change_required_inspections(self, actor_id: str, required: int, reason: str,
                                    occurred_at: datetime | None = None) -> dict[str, Any]:
        """Change how many inspections each unit needs a month (for inspection coverage),
        from ``occurred_at`` on; earlier months keep the number then in force."""
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            campaign.change_required_inspections(required, reason, actor=actor,
                                                 occurred_at=self._when(occurred_at)[0])
            self.save(campaign)
            return self.describe_campaign(campaign)
        return self._retrying(attempt)

    def register_unit(self, actor_id: str, *, code: str, name: str, kind: str,
                      parent: str | None = None,
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            self.campaign()
            check_code("unit code", code)
            if self._exists(Unit.key(code)):
                raise Refused(f"unit {code} already exists")
            parent_unit = self.unit(parent) if parent else None
            unit = Unit.register(code=code, name=name, kind=kind, parent=parent_unit,
                                 actor=actor, occurred_at=self._when(occurred_at)[0])
            self.save(unit)
            return describe_unit(unit)
        return self._retrying(attempt)

    def rename_unit(self, actor_id: str, code: str, name: str, reason: str,
                    occurred_at: datetime | None = None) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            unit = self.unit(code)
            unit.rename(name, reason, actor=actor, occurred_at=self._when(occurred_at)[0])
            self.save(unit)
            return describe_unit(unit)
        return self._retrying(attempt)

    def retire_unit(self, actor_id: str, code: str, reason: str,
                    occurred_at: datetime | None = None) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            unit = self.unit(code)
            unit.retire(reason, actor=actor, occurred_at=self._when(occurred_at)[0])
            self.save(unit)
            return describe_unit(unit)
        return self._retrying(attempt)

    def register_person(self, actor_id: str, *, person_id: str, name: str, role: str,
                        unit: str | None = None, account: str | None = None,
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        """Register a person (and bind ``account`` to them, in the same write)."""
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            check_code("person id", person_id)
            if self._exists(Person.key(person_id)):
                raise Refused(f"person {person_id} already exists")
            when = self._when(occurred_at)[0]
            person = Person.register(person_id=person_id, name=name, role=role,
                                     unit=self.unit(unit) if unit else None, actor=actor,
                                     occurred_at=when)
            binding = None
            if account is not None:
                binding = identity.binding(self, account, person, actor, when)
            self.save(person, binding)
            return {**describe_person(person), "account": account}
        return self._retrying(attempt)

    def retire_person(self, actor_id: str, person_id: str, reason: str,
                      occurred_at: datetime | None = None) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            person = self.person(person_id)
            person.retire(reason, actor=actor, occurred_at=self._when(occurred_at)[0],
                          admins=self.active_admins() if person.person_role == "admin"
                          else ())
            self.save(person)
            return describe_person(person)
        return self._retrying(attempt)

    def active_admins(self) -> list[str]:
        """The ids of the administrators who are not retired."""
        ids = self.recorder.ids_with_prefix("person:")
        people = self._get_many(*((Person, i, "person") for i in ids))
        return [p.person_id for p in people  # type: ignore[attr-defined]
                if p.person_role == "admin" and not p.retired]  # type: ignore[attr-defined]

    def _exists(self, key: str) -> bool:
        return bool(self.recorder.select_events(key, limit=1))

    # --- tasks ---------------------------------------------------------------------------

    def assign(self, actor_id: str, *, unit: str, category: str, source: str, location: str,
               description: str, deadline: date | WorkingDays,
               notice_no: str | None = None,
               requirements: str = "", note: str = "",
               occurred_at: datetime | None = None) -> dict[str, Any]:
        """Assign a task to a unit (with a notice at once, if a number is given)."""
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            when, now = self._when(occurred_at)
            task = self._new_task(
                self._next_ids(TASK_PREFIX, 1)[0], actor, campaign,
                Finding(category, location, description, deadline, notice_no, requirements),
                unit=unit, source=source, when=when, now=now, note=note)
            self.save(task)
            return describe_task(task, self.today(campaign))
        return self._retrying(attempt)

    def _new_task(self, task_id: str, actor: Actor, campaign: Campaign, finding: Finding, *,
                  unit: str, source: str, when: datetime, now: datetime,
                  inspection: str | None = None, note: str = "") -> Task:
        self.unit(unit).check_active()
        deadline, rule = self.resolve_deadline(finding.deadline,
                                               local_date(when, campaign.zone), campaign)
        task = Task.assign(
            task_id=task_id, unit=unit, category=campaign.check_category(finding.category),
            source=source, location=finding.location, description=finding.description,
            deadline=deadline, actor=actor, occurred_at=when,  # type: ignore[arg-type]
            zone=campaign.zone, now=now, inspection=inspection, note=note,
            deadline_rule=rule)
        if finding.notice_no:
            task.issue_notice(notice_no=finding.notice_no, requirements=finding.requirements,
                              actor=actor, occurred_at=when, now=now, zone=campaign.zone)
        if finding.evidence:
            task.attach_evidence(evidence=finding.evidence, actor=actor, occurred_at=when,
                                 now=now)
        return task

    def inspect(self, actor_id: str, *, unit: str, findings: list[Finding],
                companions: list[str] | None = None, note: str = "",
                occurred_at: datetime | None = None) -> dict[str, Any]:
        """Record an inspection visit; each finding becomes a task of the visited unit."""
        def attempt() -> dict[str, Any]:
            actor = self.actor(actor_id)
            campaign = self.campaign()
            self.unit(unit).check_active()
            when, now = self._when(occurred_at)
            inspection_id = self._next_ids(INSPECTION_PREFIX, 1)[0]
            task_ids = self._next_ids(TASK_PREFIX, len(findings))
            # The visit first, so that one who may not inspect is told just that.
            visit = Inspection.record(
                inspection_id=inspection_id, unit=unit, companions=companions or [],
                findings=task_ids, note=note, actor=actor, occurred_at=when, now=now)
            for companion in companions or []:
                if self.person(companion).as_actor().role != "inspector":
                    raise Refused(f"companion {companion} is not an inspector")
            tasks = [self._new_task(task_id, actor, campaign, finding, unit=unit,
                                    source="inspection", when=when, now=now,
                                    inspection=inspection_id, note=note)
                     for task_id, finding in zip(task_ids, findings, strict=True)]
            self.save(visit, *tasks)
            return {"inspection": inspection_id, "unit": unit,
                    "occurred_at": when.isoformat(), "inspectors": visit.inspectors,
                    "tasks": task_ids}
        return self._retrying(attempt)

    def acknowledge(self, actor_id: str, task_id: str, note: str = "",
                    occurred_at: datetime | None = None) -> dict[str, Any]:
        """The unit signs for the task (签收)."""
        return self._command(actor_id, task_id, occurred_at, lambda t, a, z, w, n:
                             t.acknowledge(actor=a, occurred_at=w, now=n, note=note))

    def issue_notice(self, actor_id: str, task_id: str, notice_no: str,
                     requirements: str = "", deadline: date | WorkingDays | None = None,
                     occurred_at: datetime | None = None) -> dict[str, Any]:
        """Issue a rectification notice (整改通知书); working days count from the day
        after the notice."""
        def command(t: Task, a: Actor, z: ZoneInfo, w: datetime, n: datetime) -> None:
            resolved, rule = self.resolve_deadline(deadline, local_date(w, z))
            t.issue_notice(notice_no=notice_no, requirements=requirements, deadline=resolved,
                           deadline_rule=rule, actor=a, occurred_at=w, now=n, zone=z)
        return self._command(actor_id, task_id, occurred_at, command)

    def report_rectification(self, actor_id: str, task_id: str, description: str,
                             evidence: list[dict[str, str]] | None = None,
                             occurred_at: datetime | None = None) -> dict[str, Any]:
        """The unit reports its rectification, with evidence."""
        return self._command(actor_id, task_id, occurred_at, lambda t, a, z, w, n:
                             t.report_rectification(description=description,
                                                    evidence=evidence or [], actor=a,
                                                    occurred_at=w, now=n))

    def reinspect(self, actor_id: str, task_id: str, passed: bool, note: str = "",
                  evidence: list[dict[str, str]] | None = None,
                  occurred_at: datetime | None = None) -> dict[str, Any]:
        """Re-inspect (复查): pass or fail (返工)."""
        return self._command(actor_id, task_id, occurred_at, lambda t, a, z, w, n:
                             t.reinspect(passed=passed, note=note, evidence=evidence or [],
                                         actor=a, occurred_at=w, now=n))

    def extend_deadline(self, actor_id: str, task_id: str, deadline: date | WorkingDays,
                        reason: str, occurred_at: datetime | None = None) -> dict[str, Any]:
        """Extend the current cycle's deadline; the actor is the approver. Working days
        are that many more after the current deadline."""
        def command(t: Task, a: Actor, z: ZoneInfo, w: datetime, n: datetime) -> None:
            resolved, rule = self.resolve_deadline(deadline, t.deadline)
            t.extend_deadline(deadline=resolved, deadline_rule=rule,  # type: ignore[arg-type]
                              reason=reason, actor=a, occurred_at=w, now=n)
        return self._command(actor_id, task_id, occurred_at, command)

    def escalate(self, actor_id: str, task_id: str, reason: str,
                 occurred_at: datetime | None = None) -> dict[str, Any]:
        """Put the task under supervision (督办)."""
        return self._command(actor_id, task_id, occurred_at, lambda t, a, z, w, n:
                             t.escalate(reason=reason, actor=a, occurred_at=w, now=n))

    def attach_evidence(self, actor_id: str, task_id: str, evidence: list[dict[str, str]],
                        occurred_at: datetime | None = None) -> dict[str, Any]:
        return self._command(actor_id, task_id, occurred_at, lambda t, a, z, w, n:
                             t.attach_evidence(evidence=evidence, actor=a, occurred_at=w,
                                               now=n))

    def close_task(self, actor_id: str, task_id: str, closure: str, reason: str,
              occurred_at: datetime | None = None) -> dict[str, Any]:
        """Close the task (销号)."""
        return self._command(actor_id, task_id, occurred_at, lambda t, a, z, w, n:
                             t.close(closure=closure, reason=reason, actor=a, occurred_at=w,
                                     now=n))

    def reopen(self, actor_id: str, task_id: str, reason: str, deadline: date | WorkingDays,
               occurred_at: datetime | None = None) -> dict[str, Any]:
        """Reopen a closed task: the problem came back (反弹); working days count from the
        day after the reopening."""
        def command(t: Task, a: Actor, z: ZoneInfo, w: datetime, n: datetime) -> None:
            resolved, rule = self.resolve_deadline(deadline, local_date(w, z))
            t.reopen(reason=reason, deadline=resolved,  # type: ignore[arg-type]
                     deadline_rule=rule, actor=a, occurred_at=w, now=n, zone=z)
        return self._command(actor_id, task_id, occurred_at, command)

    def reassign(self, actor_id: str, task_id: str, unit: str, reason: str,
                 occurred_at: datetime | None = None) -> dict[str, Any]:
        """Hand the task to another unit."""
        def command(t: Task, a: Actor, z: ZoneInfo, w: datetime, n: datetime) -> None:
            self.unit(unit).check_active()
            t.reassign(unit=unit, reason=reason, actor=a, occurred_at=w, now=n)
        return self._command(actor_id, task_id, occurred_at, command)

    def correct(self, actor_id: str, task_id: str, event: int, changes: dict[str, str],
                reason: str, occurred_at: datetime | None = None) -> dict[str, Any]:
        """Record a correction of one of the task's earlier events."""
        return self._command(actor_id, task_id, occurred_at, lambda t, a, z, w, n:
                             t.correct(corrects=event, changes=changes, reason=reason,
                                       actor=a, occurred_at=w, now=n, zone=z,
                                       categories=self.campaign().categories))

    def _command(self, actor_id: str, task_id: str, occurred_at: datetime | None,
                 command: Callable[[Task, Actor, ZoneInfo, datetime, datetime], None]
                 ) -> dict[str, Any]:
        """Load the actor and the task, decide with the campaign's time zone, save."""
        def attempt() -> dict[str, Any]:
            actor, (task,) = identity.acting(self, actor_id,
                                             (Task, task_id.strip().upper(), "task"))
            zone = self.zone()
            when, now = self._when(occurred_at)
            command(task, actor, zone, when, now)
            self.save(task)
            return describe_task(task, self.clock().astimezone(zone).date())
        return self._retrying(attempt)

    def zone(self) -> ZoneInfo:
        """The campaign's time zone. No event changes it, so it is read once per ledger
        (a task command then loads only its actor and its task)."""
        if self._zone is None:
            self._zone = self.campaign().zone
        return self._zone

    # --- reading the log -----------------------------------------------------------------

    def describe(self, task_id: str) -> dict[str, Any]:
        """A task's current state, with every event it has, in order."""
        task = self.task(task_id)
        campaign = self.campaign()
        described = describe_task(task, self.today(campaign))
        described["events"] = [
            {"version": e.originator_version, "event": type(e).__name__,
             **event_details(e)}
            for e in self.events.get(task.id)
        ]
        return described

    def records(self, after: int = 0, upto: int | None = None,
                batch: int = 1000) -> Iterator[Record]:
        """Stream stored events after ``after`` (up to ``upto``), in log order."""
        while True:
            page = self.recorder.select_records(after, batch, upto)  # type: ignore[attr-defined]
            yield from page
            if len(page) < batch:
                return
            after = page[-1].position

    def max_position(self) -> int:
        return self.recorder.max_position()  # type: ignore[attr-defined]

    def head(self) -> tuple[int, str]:
        """The ledger's head: the last position and its chain hash (0 and the genesis
        hash for an empty ledger)."""
        position = self.max_position()
        if not position:
            return 0, GENESIS
        last = self.recorder.select_records(position - 1, 1)  # type: ignore[attr-defined]
        return position, last[0].hash

    def position_as_of(self, moment: datetime) -> int:
        return self.recorder.position_as_of(moment)  # type: ignore[attr-defined]


def _name(key: str) -> str:
    """What an aggregate key names, as its user typed it (``unit:JS01`` → ``JS01``)."""
    return key.split(":", 1)[-1]


def _replay(aggregate: Any, events: Any) -> Any:
    """Apply events in order. The library's default projector asserts a runtime-checked
    Protocol on every event, which costs more than the rest of a command's load."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def event_details(event: Any) -> dict[str, Any]:
    """An event's own fields as plain data (dates and times as ISO text)."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: _plain(v) for k, v in vars(event).items() if k not in skip}


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def describe_unit(unit: Unit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind, "parent": unit.parent,
            "retired": unit.retired}


def describe_person(person: Person) -> dict[str, Any]:
    return {"id": person.person_id, "name": person.name, "role": person.person_role,
            "unit": person.unit, "retired": person.retired}


def describe_task(task: Task, today: date) -> dict[str, Any]:
    """A task's current state as plain data; overdue as of ``today``."""
    return {
        "task": task.id, "unit": task.unit, "category": task.category, "source": task.source,
        "location": task.location, "description": task.description, "state": task.state,
        "closure": task.closure, "acknowledged": task.acknowledged,
        "notice_no": task.notice_no, "deadline": task.deadline.isoformat(),
        "overdue": task.is_overdue(today), "cycle": task.cycle,
        "rework_count": task.rework_count, "escalations": task.escalations,
        "inspection": task.inspection, "assigned_at": task.assigned_at.isoformat(),
        "latitude": task.latitude, "longitude": task.longitude, "version": task.version,
    }
