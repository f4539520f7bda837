"""What a read model declares: its tables, its version, and a table of handlers keyed by
the domain's event classes (``domain/kinds.py``), beside the event classes it leaves alone.

Every event class the domain declares is, for each projection, either handled (a key of
``handlers``) or ignored (in ``ignored``, or its whole aggregate in
``ignored_aggregates``); ``tests/tier2_ledger/test_projection_contract.py`` checks it with
:func:`unaccounted`, so an event added to the domain and forgotten by a projection fails
there rather than folding into nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from domain.base import LedgerAggregate, LedgerEvent
from domain.kinds import aggregate_of, event_classes
from projections.facts import Context, Fact, Key
from projections.rows import Rows

if TYPE_CHECKING:  # SQLAlchemy is loaded when a projection's tables are first asked for
    import sqlalchemy as sa

EventClass = type[LedgerEvent]
# A handler: a function of the projection's class body, called with the projection, the
# rows, the fact and the context (unless the projection's own ``fold`` says otherwise).
Handler = Callable[..., Any]


class Projection:
    """A read model: tables, the rows each fact touches, and the fold."""

    name: str = ""
    # Which shape of rows the code builds: raised when a change of the tables or of a fold
    # means that rows built before must be built again. A store whose rows another version
    # built has that projection rebuilt when it is opened (``Projector.upgrade``).
    version: ClassVar[int] = 1
    # Per event class, how it is folded (None: every fact is folded by ``fold`` as the
    # subclass writes it, for a projection that reads them all).
    handlers: ClassVar[Mapping[EventClass, Handler] | None] = None
    # The event classes it leaves alone, and the aggregates none of whose events (those
    # declared now and any added later) it reads.
    ignored: ClassVar[frozenset[EventClass]] = frozenset()
    ignored_aggregates: ClassVar[tuple[type[LedgerAggregate], ...]] = ()
    # Tables whose rows are only ever created, one by one, and never read, changed or
    # completed (``finish``) afterwards: a rebuild writes them after every batch.
    appended: frozenset[str] = frozenset()
    # Whether it folds every fact, whatever its class (one the domain does not declare too),
    # rather than those of its handlers only.
    wants_every: ClassVar[bool] = False

    def __init__(self, prefix: str = "rm_") -> None:
        self.prefix = prefix
        self._metadata: sa.MetaData | None = None
        self._tables: dict[str, sa.Table] = {}

    def _declared(self) -> sa.MetaData:
        """The tables, declared (:meth:`define`) when first asked for: a fold in memory (a
        record's history) never asks, and needs no SQLAlchemy."""
        if self._metadata is None:
            import sqlalchemy as sa

            self._metadata = sa.MetaData()
            try:
                self.define()
            except BaseException:
                self._metadata, self._tables = None, {}
                raise
        return self._metadata

    @property
    def metadata(self) -> sa.MetaData:
        return self._declared()

    @property
    def tables(self) -> dict[str, sa.Table]:
        self._declared()
        return self._tables

    def table(self, name: str, *columns: sa.Column[Any], **kw: Any) -> sa.Table:
        import sqlalchemy as sa

        table = sa.Table(self.prefix + name, self.metadata, *columns, **kw)
        self._tables[name] = table
        return table

    def define(self) -> None:
        """Declare the tables with :meth:`table`."""
        raise NotImplementedError

    def wants(self, fact: Fact) -> bool:
        handlers = self.handlers
        return self.wants_every or handlers is None or fact.event in handlers

    def wanted(self, facts: list[Fact]) -> list[Fact]:
        """The facts of ``facts`` it folds (:meth:`wants`, for a batch at once)."""
        if type(self).wants is not Projection.wants:
            return [f for f in facts if self.wants(f)]
        handlers = self.handlers
        if self.wants_every or handlers is None:
            return facts
        return [f for f in facts if f.event in handlers]

    def touches(self, fact: Fact) -> Iterable[tuple[str, Key]]:
        """The (table, key) rows the fold of ``fact`` reads, changes or deletes. A row the
        fold creates afresh (a key that cannot exist yet) need not be named."""
        raise NotImplementedError

    def touched(self, facts: list[Fact]) -> dict[str, set[Key]]:
        """Per table, the keys of the rows these facts' folds touch (:meth:`touches` of
        each; a projection may say it for a batch at once, at less cost)."""
        found: dict[str, set[Key]] = {}
        touches = self.touches
        for fact in facts:
            for name, key in touches(fact):
                keys = found.get(name)
                if keys is None:
                    keys = found[name] = set()
                keys.add(key)
        return found

    def fold(self, rows: Rows, fact: Fact, ctx: Context) -> None:
        """Change ``rows`` as ``fact`` says: its class's handler. Pure: no I/O, no clock."""
        assert self.handlers is not None, f"{self.name} folds every fact: define fold"
        self.handlers[fact.event](self, rows, fact, ctx)  # type: ignore[index]

    def finish(self, rows: Rows, ctx: Context) -> None:
        """Complete the rows after a batch's folds, before they are written: a fold may
        leave a row's costly part to be derived here once per batch, from all the batch's
        facts, rather than once per fact."""

    def key_of(self, name: str, row: dict[str, Any]) -> Key:
        return tuple(row[c.name] for c in self.tables[name].primary_key.columns)


def fold_in_memory(projection: Projection, facts: Iterable[Fact],
                   ctx: Context) -> Rows:
    """The projection of exactly these facts, computed without touching the database."""
    rows = Rows()
    for fact in facts:
        if projection.wants(fact):
            projection.fold(rows, fact, ctx)
    projection.finish(rows, ctx)
    return rows


def partial_indexes(projection: Projection, dialect: str) -> Projection:
    """The projection with its partial indexes partial on ``dialect`` too.

    A partial index is declared once, for SQLite (``sqlite_where``): naming another
    dialect's option where the tables are declared makes SQLAlchemy load that dialect to
    check it, and its PostgreSQL dialect costs every read command on SQLite ~20 ms of its
    start. The read side of a PostgreSQL store gives them PostgreSQL's ``WHERE`` here."""
    if dialect != "sqlite":
        for table in projection.metadata.sorted_tables:
            for index in table.indexes:
                where = index.dialect_options["sqlite"]["where"]
                if where is not None:
                    index.dialect_options[dialect]["where"] = where
    return projection


def events_of(*aggregates: type[LedgerAggregate]) -> tuple[EventClass, ...]:
    """The event classes these aggregates declare, in the domain's order."""
    return tuple(c for c in event_classes() if aggregate_of(c) in aggregates)


def unaccounted(handled: Iterable[EventClass], ignored: Iterable[EventClass],
                ignored_aggregates: Iterable[type[LedgerAggregate]] = (),
                classes: Iterable[EventClass] | None = None) -> list[str]:
    """What is wrong with a table of handlers over the domain's event classes (or
    ``classes``): each class neither handled nor ignored, handled and ignored at once, or
    handled although its aggregate is ignored whole. Empty when the table is sound."""
    handled, ignored = set(handled), set(ignored)
    whole = set(ignored_aggregates)
    found = []
    for cls in event_classes() if classes is None else classes:
        name = cls.__qualname__
        if cls in handled and (cls in ignored or aggregate_of(cls) in whole):
            found.append(f"{name} is both handled and ignored")
        elif cls not in handled and cls not in ignored and aggregate_of(cls) not in whole:
            found.append(f"{name} is neither handled nor ignored")
    return found


def contract_of(projection: Projection | type[Projection],
                classes: Iterable[EventClass] | None = None) -> list[str]:
    """:func:`unaccounted` for a projection's own tables."""
    handlers = projection.handlers
    if handlers is None:
        return [f"{projection.name} has no table of handlers"]
    return [f"{projection.name}: {problem}" for problem in unaccounted(
        handlers, projection.ignored, projection.ignored_aggregates, classes)]
