"""The read side of one store: its projections, kept current before every answer."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from domain.base import NotFound, localized
from domain.task_states import CLOSED, VERIFIED
from ledger.chain import stamp
from ledger.store import Store
from projections.board import Board
from projections.board_read import days_overdue, subtree
from projections.extensions import ExtensionRequests
from projections.orders import BOARD_SORTS
from projections.projection import partial_indexes
from projections.records import RecordQueries

# SQLAlchemy and the projection engine are loaded by the read models' queries, where they
# are first used: a record's history (projections/records.py) folds the record's own
# events and needs neither.
if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from projections.compare import Verification
    from projections.engine import Projector, Upgrading
    from projections.projection import Projection
    from projections.registry import Registry


def all_projections(prefix: str = "rm_", dialect: str = "sqlite") -> list[Projection]:
    """Every projection the ledger keeps, in the order they are folded, with their tables
    as ``dialect`` makes them (``projection.partial_indexes``). (Those a history does not
    fold are imported here: it reads a record's own events, and needs none of them.)"""
    from projections.events import EventIndex
    from projections.indicators import IndicatorsProjection
    from projections.metrics import Metrics
    from projections.registry import Registry

    return [partial_indexes(p, dialect) for p in (
        Registry(prefix), Board(prefix), EventIndex(prefix), IndicatorsProjection(prefix),
        Metrics(prefix), ExtensionRequests(prefix))]


class ReadSide(RecordQueries):
    """Queries over the read models; each brings the projections up to date first (the
    history and timeline in :mod:`projections.records`).

    ``ReadSide(store)`` answers from the maintained tables. ``read.at(moment)`` answers as
    the ledger knew it at that moment (transaction time), ``read.at(position=N)`` as it
    stood after event N: the projections are folded, in a private in-memory database, from
    exactly the events recorded by then (the timeline reads the maintained event index up
    to then; the evaluation refolds only what changed since, ``Evaluator``)."""

    def __init__(self, store: Store, as_of: datetime | None = None,
                 only: Iterable[str] | None = None, live: ReadSide | None = None,
                 position: int | None = None, upgrading: Upgrading | None = None) -> None:
        """``upgrading``: what shows the rebuild of a read model another version built
        (``Projector.upgrade``), when the store is first read."""
        self.store = store
        self.upgrading = upgrading
        self.as_of = as_of
        self.fixed_position = position
        self.maintained = as_of is None and position is None
        # The read side of the maintained tables an "as of" one was made from: the event
        # index is filtered by transaction time there rather than folded again.
        self.live = self if self.maintained else live or ReadSide(store)
        self.only = set(only) if only is not None else None

    @cached_property
    def projections(self) -> dict[str, Projection]:
        """The projections this read side folds (made when first asked: a history or a
        timeline as of a moment needs none of its own)."""
        dialect = self.store.url.kind if self.maintained else "sqlite"  # (as of: in memory)
        return {p.name: p for p in all_projections(dialect=dialect)
                if self.only is None or p.name in self.only}

    @property
    def registry(self) -> Registry:
        return self.projections["registry"]  # type: ignore[return-value]

    @property
    def board_projection(self) -> Board:
        return self.projections.get("board")  # type: ignore[return-value]

    def at(self, moment: datetime | None = None,
           only: Iterable[str] | None = ("registry", "board", "extensions"), *,
           position: int | None = None) -> ReadSide:
        """The read side as the ledger knew it at ``moment`` (transaction time; without an
        offset, in the campaign's time zone), or as it stood after the event at
        ``position``, folding the projections named; neither: this read side, as it is.
        The one "as of": its board, history, timeline, summary and evaluation (an
        ``Evaluator`` over it) all answer as of then."""
        if moment is None and position is None:
            return self
        if moment is not None and position is not None:
            raise ValueError("a read side is as of a moment or a position, not both")
        if moment is not None:
            moment = localized(moment, self.store.ledger.zone())
        return ReadSide(self.store, as_of=moment, only=only, live=self.live,
                        position=position)

    @cached_property
    def engine(self) -> Engine:
        if self.maintained:
            return self.store.engine
        import sqlalchemy as sa
        from sqlalchemy.pool import StaticPool

        return sa.create_engine("sqlite://", poolclass=StaticPool)

    @cached_property
    def upto(self) -> int | None:
        """The last position this read side folds (None: the whole log, as it grows)."""
        if self.fixed_position is not None:
            return self.fixed_position
        if self.as_of is None:
            return None
        return self.store.ledger.position_as_of(self.as_of)

    @cached_property
    def projector(self) -> Projector:
        from projections.engine import Projector

        ledger = self.store.ledger
        # The maintained read models are checked against the ledger they were folded from
        # (an as-of read side folds afresh, in memory, from the ledger as it is).
        recorder: Any = ledger.recorder
        chain = recorder.events_table_name if self.maintained else None
        return Projector(self.engine, lambda after, upto: ledger.records(after, upto),
                         self._zone, list(self.projections.values()),
                         head=ledger.max_position, chain=chain, upgrading=self.upgrading)

    def _zone(self):  # type: ignore[no-untyped-def]
        return self.store.ledger.zone()

    def current(self, progress: Callable[[int], None] | None = None) -> None:
        """Fold whatever the log holds beyond the projections' positions (into private
        copies of the tables, for an account that may not write them)."""
        if self.maintained and self.store.url.kind == "postgresql" \
                and "private" not in self.__dict__:
            self._privately_if_lagging()
        self.projector.catch_up(upto=self.upto, progress=progress)

    def _privately_if_lagging(self) -> None:
        from projections import overlay
        from projections.positions import POSITIONS

        self.projector.create_tables()  # (as reading the positions would: once)
        # Whether this account may write the read models does not change while it reads:
        # asked once, it spares a writer the lag check on every query.
        if overlay.may_write(self.store, POSITIONS.name):
            self.__dict__["private"] = False
            return
        if min(self.projector.positions().values(), default=0) >= \
                self.store.ledger.max_position():
            return
        tables = [POSITIONS.name] + [t.name for p in self.projections.values()
                                     for t in p.tables.values()]
        engine = overlay.private_copy(self.store, tables)
        weakref.finalize(self, engine.dispose)
        self.__dict__.update(private=True, engine=engine)
        del self.__dict__["projector"]

    def today(self) -> date:
        """Today in the campaign's time zone (for an "as of" read side, that moment's day)."""
        ledger = self.store.ledger
        return (self.as_of or ledger.clock()).astimezone(ledger.zone()).date()

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
        scratch = all_projections(prefix=f"rm_verify{os.getpid()}_",
                                  dialect=self.store.url.kind)
        scratch = [p for p in scratch if p.name in self.projections]
        return self.projector.verify(scratch, progress=progress, limit=limit)

    # --- registries -------------------------------------------------------------------

    def units(self, kind: str | None = None) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        self.current()
        units = self.registry.tables["units"]
        query = sa.select(units).order_by(units.c.code)
        if kind:
            query = query.where(units.c.kind == kind)
        with self.engine.connect() as conn:
            found = conn.execute(query)
            names = list(found.keys())
            # (zip, not dict(row mapping): a city has hundreds of units, read by every page)
            return [dict(zip(names, row)) for row in found]

    def people(self) -> list[dict[str, Any]]:
        """Every person, with the accounts bound to them (space-separated)."""
        import sqlalchemy as sa

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
        found = subtree(((unit["code"], unit["parent"]) for unit in self.units()), code)
        if found is None:
            raise NotFound("未知的单位：{unit}", unit=code)
        return found

    # --- the board --------------------------------------------------------------------

    SORTS = BOARD_SORTS

    def board(self, *, unit: str | None = None, state: str | None = None,
              category: str | None = None, source: str | None = None,
              overdue: bool = False, open_only: bool = False, month: str | None = None,
              due_within: int | None = None, sort: str = "task", states: Collection[str] | None = None,
              assigned_from: datetime | None = None, assigned_to: datetime | None = None,
              task_ids: Collection[str] | None = None, limit: int | None = None,
              offset: int = 0, due_by: date | None = None,
              extension_requested: bool = False) -> list[dict[str, Any]]:
        """The 台账: one row per task, filtered and sorted, with days overdue as of today
        (or as of the read side's moment) and the deadline a pending extension request asks
        for. ``due_within`` keeps the unfinished tasks due within that many days from today
        (0: due today), not yet overdue; ``due_by`` likewise those due from today to that
        day. ``extension_requested`` keeps the tasks with a request awaiting a decision.
        ``states`` keeps any of several states; ``assigned_from``/``assigned_to`` bound when
        the task was assigned; ``task_ids`` keeps only the tasks named; ``limit`` and
        ``offset`` give one page of the sorted rows."""
        import sqlalchemy as sa

        self.current()
        tasks = self.board_projection.tables["tasks"]
        places = self.board_projection.tables["places"]
        today = self.today()
        filters = {"unit": unit, "state": state, "category": category, "source": source,
                   "overdue": overdue, "open_only": open_only, "month": month,
                   "due_within": due_within, "due_by": due_by,
                   "extension_requested": extension_requested, "states": states,
                   "assigned_from": assigned_from, "assigned_to": assigned_to,
                   "task_ids": task_ids}
        query = self._board_where(
            sa.select(tasks, places.c.latitude, places.c.longitude).select_from(
                tasks.outerjoin(places, places.c.task == tasks.c.task)), today, **filters)
        # "overdue": most days overdue first, i.e. the earliest deadline among the tasks
        # overdue today, then every other task by deadline.
        late = sa.case((sa.and_(tasks.c.deadline < today.isoformat(),
                                tasks.c.state.not_in([VERIFIED, CLOSED])), tasks.c.deadline),
                       else_="9999-12-31")
        order = {"task": [tasks.c.task], "deadline": [tasks.c.deadline, tasks.c.task],
                 "unit": [tasks.c.unit, tasks.c.task], "state": [tasks.c.state, tasks.c.task],
                 "assigned": [tasks.c.assigned_at, tasks.c.task],
                 "overdue": [late, tasks.c.deadline, tasks.c.task]}[sort]
        if limit is not None or offset:
            # One page: its tasks chosen first from the keys alone (an index holds them),
            # then only their rows read — not every row of the unit's history.
            page = self._board_where(sa.select(tasks.c.task), today, **filters)
            query = query.where(tasks.c.task.in_(
                page.order_by(*order).limit(limit).offset(offset or None)))
        query = query.order_by(*order)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        requests = self._extension_requests()
        for row in rows:
            row["days_overdue"] = days_overdue(row, today)
            asked = requests.get(row["task"])
            row["extension_requested"] = asked["requested_deadline"] if asked else None
        return rows

    def board_count(self, **filters: Any) -> int:
        """How many tasks :meth:`board` gives with these filters (for paging)."""
        import sqlalchemy as sa

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
                     due_within: int | None = None, due_by: date | None = None,
                     extension_requested: bool = False,
                     states: Collection[str] | None = None,
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
        if due_within is not None or due_by is not None:
            last = due_by if due_by is not None else today + timedelta(days=due_within or 0)
            query = query.where(tasks.c.deadline >= today.isoformat(),
                                tasks.c.deadline <= last.isoformat(),
                                tasks.c.state.not_in([VERIFIED, CLOSED]))
        if extension_requested:
            query = query.where(tasks.c.task.in_(list(self._extension_requests())))
        return query

    def latest_assignment(self) -> str | None:
        """The day the last task was assigned (None: no task yet)."""
        import sqlalchemy as sa

        self.current()
        tasks = self.board_projection.tables["tasks"]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(tasks.c.assigned_on))).scalar_one()

    def extension_requests(self) -> dict[str, dict[str, Any]]:
        """The pending extension requests, by task."""
        self.current()
        return self._extension_requests()

    def _extension_requests(self) -> dict[str, dict[str, Any]]:
        """The pending extension requests, by task, as the read models hold them (the board's
        queries, which have caught up already, read them without catching up again)."""
        import sqlalchemy as sa

        projection = self.projections.get("extensions")
        if projection is None:
            return {}
        table = projection.tables["requests"]
        with self.engine.connect() as conn:
            return {r["task"]: dict(r) for r in conn.execute(sa.select(table)).mappings()}

    def last_actors(self) -> dict[str, dict[str, Any]]:
        """Per task: who acted in its last event (actor, role, and who entered it for them
        if that was someone else)."""
        import sqlalchemy as sa

        from projections.positions import log_table

        self.current()
        events = self.projections["events"].tables["events"]
        proxies = self.projections["events"].tables["proxy_entries"]
        log = log_table(self.store.ledger.recorder.events_table_name)
        # Each task's last event the index holds, through the event table's index of
        # aggregates (a task's events are its aggregate's; each task is on the board).
        tasks = self.board_projection.tables["tasks"]
        last = (sa.select(sa.func.max(log.c.notification_id))
                .where(log.c.originator_id.in_(sa.select(tasks.c.task)),
                       log.c.notification_id <= sa.select(sa.func.max(events.c.position))
                       .scalar_subquery())
                .group_by(log.c.originator_id))
        query = (sa.select(log.c.originator_id.label("originator"), events.c.actor,
                           events.c.role, proxies.c.entered_by)
                 .select_from(events.join(log, log.c.notification_id == events.c.position)
                              .outerjoin(proxies, proxies.c.position == events.c.position))
                 .where(events.c.position.in_(last)))
        with self.engine.connect() as conn:
            return {r["originator"]: dict(r) for r in conn.execute(query).mappings()}
