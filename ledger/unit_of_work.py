"""The one write-side API: a unit of work.

Every write to the ledger — a task command, a registry change, an indicator, a rules
adoption, a checkpoint, an import batch — is one attempt run by :func:`retrying` (through
``Ledger.write``), given a :class:`UnitOfWork`:

1. **load** the aggregates it acts on (``load``, ``load_many``: one read of the store; the
   actor and the task of a task command in that one read, ``acting_on``);
2. **decide** with a :class:`Context` (who acts, when it happened — the valid time —, now,
   and the campaign's time zone): the domain method raises a refusal, or triggers events;
3. **save** the aggregates' new events in one transaction (``save``);
4. **retry on conflict**: when someone else changed the same aggregate meanwhile, the store
   refuses the save (``IntegrityError``) and the attempt is run again on fresh state, a few
   times, before giving up with :class:`Conflict`. Nothing is ever half written.

Modules outside ``ledger/app.py`` and this one use only this API and the ledger's public
methods, never its private members (``tests/tier2_ledger/test_write_api.py`` checks it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError

from domain.base import Actor, DomainError, LedgerAggregate, NotFound, Refused, check_moment
from i18n import N_

if TYPE_CHECKING:
    from ledger.app import Ledger

R = TypeVar("R")
A = TypeVar("A", bound=LedgerAggregate)

ATTEMPTS = 5
ID_DIGITS = 6
GIVES_UP = N_("其他人一直在修改同样的记录；未写入任何内容，请重试")
# A record the ledger does not hold, by the label its loader names it with.
UNKNOWN = {
    "task": N_("未知的任务：{name}"), "target task": N_("未知的指标任务：{name}"),
    "survey": N_("未知的测评：{name}"), "inspection": N_("未知的巡查：{name}"),
    "unit": N_("未知的单位：{name}"), "person": N_("未知的人员：{name}"),
    "account": N_("未知的账户：{name}"), "campaign": N_("未知的专项行动：{name}"),
    "indicator system": N_("未知的指标体系：{name}"),
    "rules version": N_("未知的评分细则版本：{name}"),
}
# A record named by nothing (blanks), by the same label.
EMPTY = {
    "task": N_("任务编号不能为空（而不是 {name!r}）"),
    "target task": N_("指标任务编号不能为空（而不是 {name!r}）"),
    "survey": N_("测评编号不能为空（而不是 {name!r}）"),
    "inspection": N_("巡查编号不能为空（而不是 {name!r}）"),
    "unit": N_("单位编号不能为空（而不是 {name!r}）"),
    "person": N_("人员编号不能为空（而不是 {name!r}）"),
    "account": N_("账户不能为空（而不是 {name!r}）"),
}

Wanted = tuple[type[LedgerAggregate], str, str]  # class, id, the label its errors name


class Conflict(DomainError):
    """Someone else kept changing the same thing; the command was not applied."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def sequence_id(prefix: str, number: int) -> str:
    if number >= 10 ** ID_DIGITS:
        raise Refused("账本的 {prefix}… 编号已经用完（{number}）", prefix=prefix, number=number)
    return f"{prefix}{number:0{ID_DIGITS}d}"


@dataclass(frozen=True)
class Context:
    """What a decision is told: who acts, when it happened (valid time), the moment it is
    entered (now), and the campaign's time zone."""

    actor: Actor
    when: datetime
    now: datetime
    zone: ZoneInfo


class UnitOfWork:
    """One attempt at a write on ``ledger``: what it loads, and the one save it makes."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        # Aggregates the decision relied on without saving them, at the versions read: the
        # save is made only if none has changed since (else it is a conflict, decided again).
        self.relied_on: dict[str, int] = {}

    # --- load ----------------------------------------------------------------------

    def load(self, kind: type[A], key: str, label: str) -> A:
        return load_many(self.ledger, (kind, key, label))[0]  # type: ignore[return-value]

    def load_many(self, *wanted: Wanted) -> list[LedgerAggregate]:
        return load_many(self.ledger, *wanted)

    def active_admins(self) -> list[str]:
        """The ids of the administrators who are not retired; the save that follows is made
        only if none of them has changed meanwhile (so two administrators retiring or
        demoting each other at once cannot leave the ledger without one)."""
        from domain.registry import Person
        from domain.roles import ADMIN

        ids = self.ledger.recorder.ids_with_prefix("person:")  # type: ignore[attr-defined]
        people = self.load_many(*((Person, i, "person") for i in ids))
        admins = [p for p in people if isinstance(p, Person) and p.person_role == ADMIN
                  and not p.retired]
        self.relied_on.update((p.id, p.version) for p in admins)
        return [p.person_id for p in admins]

    def exists(self, key: str) -> bool:
        """Whether any event has ``key`` as its aggregate id."""
        return bool(self.ledger.recorder.select_events(key, limit=1))

    def next_ids(self, prefix: str, count: int) -> list[str]:
        """The next ``count`` sequential ids with ``prefix`` (``T-000042``…)."""
        last = self.ledger.recorder.last_id_with_prefix(prefix)  # type: ignore[attr-defined]
        start = int(last[len(prefix):]) + 1 if last else 1
        return [sequence_id(prefix, start + i) for i in range(count)]

    # --- decide ----------------------------------------------------------------------

    def moment(self, occurred_at: datetime | None) -> tuple[datetime, datetime]:
        """When the act happened (default now), and now; never in the future."""
        return moment(self.ledger.clock, occurred_at)

    def context(self, actor_id: str | None, occurred_at: datetime | None) -> Context:
        """The actor (``None``: the account's own person), the campaign's zone (refused if
        the ledger has no campaign), and the moment."""
        actor = self.ledger.actor(actor_id)
        return self._context(actor, occurred_at)

    def acting_on(self, actor_id: str | None, occurred_at: datetime | None,
                  kind: type[A], key: str, label: str) -> tuple[Context, A]:
        """The context and one aggregate, the actor and the aggregate in one read."""
        from ledger import identity  # (here, not above: identity imports this module)
        actor, (found,) = identity.acting(self.ledger, actor_id, (kind, key, label))
        return self._context(actor, occurred_at), found  # type: ignore[return-value]

    def _context(self, actor: Actor, occurred_at: datetime | None) -> Context:
        zone = self.ledger.zone()
        when, now = self.moment(occurred_at)
        return Context(actor=actor, when=when, now=now, zone=zone)

    # --- save --------------------------------------------------------------------------

    def save(self, *aggregates: Any) -> list[int]:
        """The aggregates' new events, in one transaction; their positions. Refused as a
        conflict (``IntegrityError``) if an aggregate the decision relied on has changed."""
        if self.relied_on:
            return self.ledger.save(*aggregates, unchanged=self.relied_on)
        return self.ledger.save(*aggregates)


def moment(clock: Callable[[], datetime], occurred_at: datetime | None
           ) -> tuple[datetime, datetime]:
    """When an act happened (``occurred_at``, default now) and now, by ``clock``; refused
    if it lies in the future."""
    now = clock()
    when = occurred_at if occurred_at is not None else now
    check_moment(when, now)
    return when, now


def retrying(ledger: Ledger, attempt: Callable[[UnitOfWork], R], *,
             on_conflict: Callable[[], None] | None = None,
             gives_up: str = GIVES_UP) -> R:
    """Run ``attempt`` until it saves without a conflict (``ATTEMPTS`` times at most; then
    :class:`Conflict` saying ``gives_up``). ``on_conflict`` looks again at the store
    before the next attempt."""
    for tried in range(ATTEMPTS):
        try:
            return attempt(UnitOfWork(ledger))
        except IntegrityError:
            forget_cached(ledger)
            if on_conflict is not None:
                on_conflict()
            # A short random pause, growing: writers that collided do not all come back at
            # the same moment to collide again.
            time.sleep(random.uniform(0, 0.005 * 2 ** tried))
            continue
        except BaseException:
            forget_cached(ledger)
            raise
    raise Conflict(gives_up)


def forget_cached(ledger: Ledger) -> None:
    """Cached aggregates are used without copying (copies cost more than the rest of a
    command); a command that failed after changing one must not leave it cached."""
    if ledger.repository.cache is not None:
        ledger.repository.cache.clear()


def load_many(ledger: Ledger, *wanted: Wanted) -> list[LedgerAggregate]:
    """Aggregates by id (each with its class and the label its errors name), as of now,
    through one read of the store: a cached aggregate is fast-forwarded by the events
    stored since it was cached (others may have written meanwhile), the rest are replayed
    from their first event. A command loads its actor and its task in this one read."""
    for _, key, label in wanted:
        if not _name(key).strip():
            if label in EMPTY:
                raise Refused(EMPTY[label], name=_name(key))
            raise Refused("{what} 不能为空（而不是 {name!r}）", what=label, name=_name(key))
    cache = ledger.repository.cache
    found: dict[str, LedgerAggregate | None] = {}
    for _, key, _ in wanted:
        try:
            found[key] = cache.get(key) if cache is not None else None
        except KeyError:
            found[key] = None
    stored = ledger.recorder.select_events_after(  # type: ignore[attr-defined]
        {key: aggregate.version if aggregate is not None else 0
         for key, aggregate in found.items()})
    to_event = ledger.mapper.to_domain_event
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
            if label in UNKNOWN:
                raise NotFound(UNKNOWN[label], name=_name(key))
            raise NotFound("未知的{what}：{name}", what=label, name=_name(key))
        loaded.append(aggregate)
    return loaded


def _name(key: str) -> str:
    """What an aggregate key names, as its user typed it (``unit:JS01`` → ``JS01``)."""
    return key.split(":", 1)[-1]


def _replay(aggregate: Any, events: Any) -> Any:
    """Apply events in order. The library's default projector asserts a runtime-checked
    Protocol on every event, which costs more than the rest of a command's load."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
