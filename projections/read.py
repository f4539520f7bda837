"""The read side of one store: its projections, kept current before every answer."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from domain.base import NotFound
from domain.task import CLOSED, VERIFIED
from ledger.chain import stamp
from ledger.store import Store
from projections.board import Board, days_overdue
from projections.engine import (POSITIONS, Context, Projection, Projector, Verification,
                                decode)
from projections.events import EventIndex
from projections.history import task_history
from projections.indicators import IndicatorsProjection
from projections.metrics import Metrics
from projections.registry import Registry


def all_projections(prefix: str = "rm_") -> list[Projection]:
    """Every projection the ledger keeps, in the order they are folded."""
    return [Registry(prefix), Board(prefix), EventIndex(prefix), IndicatorsProjection(prefix),
            Metrics(prefix)]


class ReadSide:
    """Queries over the read models; each brings the projections up to date first.

    ``ReadSide(store)`` answers from the maintained tables. ``read.at(moment)`` answers as
    the ledger knew it at that moment (transaction time): the projections are folded, in a
    private in-memory database, from exactly the events recorded by then."""

    def __init__(self, store: Store, as_of: datetime | None = None,
                 only: Iterable[str] | None = None) -> None:
        self.store = store
        self.as_of = as_of
        wanted = set(only) if only is not None else None
        self.projections = {p.name: p for p in all_projections()
                            if wanted is None or p.name in wanted}
        self.registry: Registry = self.projections["registry"]  # type: ignore[assignment]
        self.board_projection: Board = self.projections.get("board")  # type: ignore[assignment]

    def at(self, moment: datetime, only: Iterable[str] | None = ("registry", "board")
           ) -> ReadSide:
        """The read side as of ``moment`` (transaction time), with the projections named."""
        return ReadSide(self.store, as_of=moment, only=only)

    @cached_property
    def engine(self) -> Engine:
        if self.as_of is None:
            return self.store.engine
        return sa.create_engine("sqlite://", poolclass=StaticPool)

    @cached_property
    def upto(self) -> int | None:
        """The last position this read side folds (None: the whole log, as it grows)."""
        if self.as_of is None:
            return None
        return self.store.ledger.position_as_of(self.as_of)

    @cached_property
    def projector(self) -> Projector:
        ledger = self.store.ledger
        # The maintained read models are checked against the ledger they were folded from
        # (an as-of read side folds afresh, in memory, from the ledger as it is).
        recorder: Any = ledger.recorder
        chain = recorder.events_table_name if self.as_of is None else None
        return Projector(self.engine, lambda after, upto: ledger.records(after, upto),
                         self._zone, list(self.projections.values()),
                         head=ledger.max_position, chain=chain)

    def _zone(self):  # type: ignore[no-untyped-def]
        return self.store.ledger.campaign().zone

    def current(self, progress: Callable[[int], None] | None = None) -> None:
        """Fold whatever the log holds beyond the projections' positions (into private
        copies of the tables, for an account that may not write them)."""
        if self.as_of is None and self.store.url.kind == "postgresql" \
                and "private" not in self.__dict__:
            self._privately_if_lagging()
        self.projector.catch_up(upto=self.upto, progress=progress)

    def _privately_if_lagging(self) -> None:
        from projections import overlay

        if min(self.projector.positions().values(), default=0) >= \
                self.store.ledger.max_position():
            return
        if overlay.may_write(self.store, POSITIONS.name):
            self.__dict__["private"] = False
            return
        tables = [POSITIONS.name] + [t.name for p in self.projections.values()
                                     for t in p.tables.values()]
        engine = overlay.private_copy(self.store, tables)
        weakref.finalize(self, engine.dispose)
        self.__dict__.update(private=True, engine=engine)
        del self.__dict__["projector"]

    def today(self) -> date:
        ledger = self.store.ledger
        campaign = ledger.campaign()
        if self.as_of is not None:
            return self.as_of.astimezone(campaign.zone).date()
        return ledger.today(campaign)

    # --- upkeep -------------------------------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Each projection's tables, rows, position and lag behind the log."""
        return self.projector.status()

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Fold every projection again from zero; returns the facts folded."""
        return self.projector.rebuild(progress=progress)

    def verify(self, progress: Callable[[int], None] | None = None,
               limit: int = 20) -> Verification:
        """Rebuild every projection into scratch tables and compare with the maintained
        ones."""
        scratch = all_projections(prefix=f"rm_verify{os.getpid()}_")
        scratch = [p for p in scratch if p.name in self.projections]
        return self.projector.verify(scratch, progress=progress, limit=limit)

    # --- registries -------------------------------------------------------------------

    def units(self, kind: str | None = None) -> list[dict[str, Any]]:
        self.current()
        units = self.registry.tables["units"]
        query = sa.select(units).order_by(units.c.code)
        if kind:
            query = query.where(units.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def people(self) -> list[dict[str, Any]]:
        """Every person, with the accounts bound to them (space-separated)."""
        self.current()
        people = self.registry.tables["people"]
        accounts = self.registry.tables["accounts"]
        with self.engine.connect() as conn:
            found = [dict(r) for r in conn.execute(
                sa.select(people).order_by(people.c.id)).mappings()]
            bound: dict[str, list[str]] = {}
            for account, person in conn.execute(
                    sa.select(accounts.c.account, accounts.c.person)
                    .order_by(accounts.c.account)):
                bound.setdefault(person, []).append(account)
        for person in found:
            person["accounts"] = " ".join(bound.get(person["id"], []))
        return found

    def unit_and_descendants(self, code: str) -> list[str]:
        """A unit's code and those of every unit below it (a 街道 and its 社区 …)."""
        children: dict[str | None, list[str]] = {}
        known = set()
        for unit in self.units():
            children.setdefault(unit["parent"], []).append(unit["code"])
            known.add(unit["code"])
        if code not in known:
            raise NotFound(f"unknown unit: {code}")
        found, frontier = [], [code]
        while frontier:
            current = frontier.pop()
            found.append(current)
            frontier.extend(children.get(current, []))
        return found

    # --- the board --------------------------------------------------------------------

    SORTS = ("task", "deadline", "unit", "overdue", "state", "assigned")

    def board(self, *, unit: str | None = None, state: str | None = None,
              category: str | None = None, source: str | None = None,
              overdue: bool = False, open_only: bool = False, month: str | None = None,
              due_within: int | None = None, sort: str = "task", states: Collection[str] | None = None,
              assigned_from: datetime | None = None, assigned_to: datetime | None = None,
              task_ids: Collection[str] | None = None, limit: int | None = None,
              offset: int = 0) -> list[dict[str, Any]]:
        """The 台账: one row per task, filtered and sorted, with days overdue as of today
        (or as of the read side's moment). ``due_within`` keeps the unfinished tasks due
        within that many days from today (0: due today), not yet overdue. ``states`` keeps any of several states;
        ``assigned_from``/``assigned_to`` bound when the task was assigned; ``task_ids`` keeps
        only the tasks named; ``limit`` and
        ``offset`` give one page of the sorted rows."""
        self.current()
        tasks = self.board_projection.tables["tasks"]
        today = self.today()
        query = self._board_where(sa.select(tasks), today, unit=unit, state=state,
                                  category=category, source=source, overdue=overdue,
                                  open_only=open_only, month=month, due_within=due_within,
                                  states=states,
                                  assigned_from=assigned_from, assigned_to=assigned_to,
                                  task_ids=task_ids)
        # "overdue": most days overdue first, i.e. the earliest deadline among the tasks
        # overdue today, then every other task by deadline.
        late = sa.case((sa.and_(tasks.c.deadline < today.isoformat(),
                                tasks.c.state.not_in([VERIFIED, CLOSED])), tasks.c.deadline),
                       else_="9999-12-31")
        order = {"task": [tasks.c.task], "deadline": [tasks.c.deadline, tasks.c.task],
                 "unit": [tasks.c.unit, tasks.c.task], "state": [tasks.c.state, tasks.c.task],
                 "assigned": [tasks.c.assigned_at, tasks.c.task],
                 "overdue": [late, tasks.c.deadline, tasks.c.task]}[sort]
        query = query.order_by(*order).limit(limit).offset(offset or None)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for row in rows:
            row["days_overdue"] = days_overdue(row, today)
        return rows

    def board_count(self, **filters: Any) -> int:
        """How many tasks :meth:`board` gives with these filters (for paging)."""
        self.current()
        tasks = self.board_projection.tables["tasks"]
        query = self._board_where(sa.select(sa.func.count()).select_from(tasks),
                                  self.today(), **filters)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _board_where(self, query: Any, today: date, *, unit: str | None = None,
                     state: str | None = None, category: str | None = None,
                     source: str | None = None, overdue: bool = False,
                     open_only: bool = False, month: str | None = None,
                     due_within: int | None = None, states: Collection[str] | None = None,
                     assigned_from: datetime | None = None,
                     assigned_to: datetime | None = None,
                     task_ids: Collection[str] | None = None) -> Any:
        tasks = self.board_projection.tables["tasks"]
        if task_ids is not None:
            query = query.where(tasks.c.task.in_(list(task_ids)))
        if unit:
            query = query.where(tasks.c.unit.in_(self.unit_and_descendants(unit)))
        if state:
            query = query.where(tasks.c.state == state)
        if states is not None:
            query = query.where(tasks.c.state.in_(list(states)))
        if category:
            query = query.where(tasks.c.category == category)
        if source:
            query = query.where(tasks.c.source == source)
        if open_only:
            query = query.where(tasks.c.state != CLOSED)
        if month:
            query = query.where(tasks.c.assigned_on.like(f"{month}-%"))
        if assigned_from is not None:
            query = query.where(tasks.c.assigned_at >= stamp(assigned_from))
        if assigned_to is not None:
            query = query.where(tasks.c.assigned_at <= stamp(assigned_to))
        if overdue:
            query = query.where(tasks.c.deadline < today.isoformat(),
                                tasks.c.state.not_in([VERIFIED, CLOSED]))
        if due_within is not None:
            last = today + timedelta(days=due_within)
            query = query.where(tasks.c.deadline >= today.isoformat(),
                                tasks.c.deadline <= last.isoformat(),
                                tasks.c.state.not_in([VERIFIED, CLOSED]))
        return query

    def latest_assignment(self) -> str | None:
        """The day the last task was assigned (None: no task yet)."""
        self.current()
        tasks = self.board_projection.tables["tasks"]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(tasks.c.assigned_on))).scalar_one()

    def last_actors(self) -> dict[str, dict[str, Any]]:
        """Per task: who acted in its last event (actor, role, and who entered it for them
        if that was someone else)."""
        self.current()
        events = self.projections["events"].tables["events"]
        proxies = self.projections["events"].tables["proxy_entries"]
        last = (sa.select(sa.func.max(events.c.position))
                .where(events.c.kind.like("Task.%")).group_by(events.c.originator))
        query = (sa.select(events.c.originator, events.c.actor, events.c.role,
                           proxies.c.entered_by)
                 .select_from(events.outerjoin(proxies,
                                               proxies.c.position == events.c.position))
                 .where(events.c.position.in_(last)))
        with self.engine.connect() as conn:
            return {r["originator"]: dict(r) for r in conn.execute(query).mappings()}

    # --- history and timeline -----------------------------------------------------------

    def history(self, task_id: str, as_of: datetime | None = None,
                valid_at: date | None = None) -> dict[str, Any]:
        """One task's state and timeline, read from that task's events alone: as recorded
        by ``as_of`` (transaction time; default everything), and with ``valid_at`` the
        state it was in on that day as known then."""
        task_id = task_id.strip().upper()
        ledger = self.store.ledger
        records = ledger.recorder.select_aggregate_records(task_id)  # type: ignore[attr-defined]
        if not records or not records[0].topic.endswith(":Task.Assigned"):
            raise NotFound(f"unknown task: {task_id}")
        zone = ledger.campaign().zone
        if as_of is not None:
            records = [r for r in records if r.recorded_at <= stamp(as_of)]
            if not records:
                raise NotFound(f"task {task_id} was not yet recorded at "
                               f"{as_of.astimezone(zone).isoformat()}")
        facts = [decode(r) for r in records]
        today = (as_of or ledger.clock()).astimezone(zone).date()
        found = task_history(facts, Context(zone), today=today, valid_at=valid_at)
        if found["state"] is None:
            raise NotFound(f"task {task_id} had not been assigned on {valid_at} (assigned "
                           f"{found['assigned_on']})")
        return found

    def timeline(self, *, unit: str | None = None, valid_from: date | None = None,
                 valid_to: date | None = None, as_of: datetime | None = None,
                 actor: str | None = None, limit: int | None = None,
                 after: int = 0) -> list[dict[str, Any]]:
        """The events of the whole ledger (or of a unit and the units below it) in the
        order they were recorded: valid time from/to (dates, inclusive), recorded by
        ``as_of``, by ``actor``; ``after`` a position, for the next page."""
        self.current()
        events = self.projections["events"].tables["events"]
        proxies = self.projections["events"].tables["proxy_entries"]
        query = (sa.select(events, proxies.c.entered_by)
                 .select_from(events.outerjoin(proxies,
                                               proxies.c.position == events.c.position))
                 .order_by(events.c.position))
        if unit:
            units = self.unit_and_descendants(unit)
            query = query.where(sa.or_(events.c.unit.in_(units),
                                       events.c.other_unit.in_(units)))
        if actor:
            if actor not in {p["id"] for p in self.people()}:
                raise NotFound(f"unknown person: {actor}")
            query = query.where(events.c.actor == actor)
        if valid_from:
            query = query.where(events.c.occurred_on >= valid_from.isoformat())
        if valid_to:
            query = query.where(events.c.occurred_on <= valid_to.isoformat())
        if as_of is not None:
            query = query.where(events.c.recorded_at <= stamp(as_of))
        if after:
            query = query.where(events.c.position > after)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
