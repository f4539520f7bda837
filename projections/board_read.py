"""The board as ``taizhang board`` reads it when the read models are current: plain SQL over
their tables, through a DB-API connection of its own — neither SQLAlchemy, nor the
projection engine, nor the projections (whose handler tables import every aggregate's
event classes) are loaded. A person waits for this one at every look at the 台账.

It answers only when the maintained read models are exactly what the full path
(``ReadSide.board``, which catches them up first) would read: every projection's position
at the log's head, the ledger still holding at each position the event it was folded from,
and the tables it reads built by the versions of their projections whose shape this SQL
knows (:data:`SHAPES`). Otherwise — behind the log, folded by another version, from another
ledger, a table or column missing, the store refusing the read, a unit it does not know —
it returns None and the caller takes the full path, which catches up, rebuilds, or refuses
in its own words. (A read model it does not read, due to be rebuilt for a new version of
its projection, is rebuilt by the next command that reads it.)

The rows are those of ``ReadSide.board`` for the filters the command offers, key for key
and type for type (``tests/tier3_cli/test_board_read.py`` compares them, both backends).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from domain.task_states import CLOSED, VERIFIED
from ledger.chain import GENESIS

if TYPE_CHECKING:
    from ledger.store import Store

# The read models this reads, and the version of each projection whose tables its SQL
# reads (``Projection.version``; a position row without one: version 1). A test holds
# these to the projections' own: a new version of one means reading this SQL again.
SHAPES = {"registry": 1, "board": 1, "extensions": 1}
# The board's task rows: the columns of rm_tasks as ``projections.board`` declares them,
# in its order (the keys of ``ReadSide.board``'s rows), then the place's.
TASK_COLUMNS = ("task", "unit", "category", "source", "location", "description", "state",
                "closure", "acknowledged", "notice_no", "deadline", "deadline_set_by",
                "cycle", "rework_count", "escalations", "inspection", "assigned_at",
                "assigned_on", "last_action", "last_action_at", "version")
PLACE_COLUMNS = ("latitude", "longitude")
BOOLEAN = frozenset({"acknowledged"})  # (SQLite keeps 0 and 1; the rows say False, True)
DONE = (VERIFIED, CLOSED)
NEVER_LATE = "9999-12-31"  # the "overdue" order's key of a task not overdue
ORDERS = {"task": "t.task", "deadline": "t.deadline, t.task", "unit": "t.unit, t.task",
          "state": "t.state, t.task", "assigned": "t.assigned_at, t.task",
          "overdue": "CASE WHEN t.deadline < ? AND t.state NOT IN (?, ?) THEN t.deadline "
                     "ELSE ? END, t.deadline, t.task"}


def days_overdue(row: dict[str, Any], on: date) -> int:
    """Days past the deadline on ``on`` for a task not yet verified (0 when not overdue)."""
    if row["state"] in DONE:
        return 0
    return max(0, (on - date.fromisoformat(row["deadline"])).days)


def board(store: Store, today: date, *, unit: str | None = None, state: str | None = None,
          category: str | None = None, source: str | None = None, overdue: bool = False,
          open_only: bool = False, month: str | None = None, due_by: date | None = None,
          extension_requested: bool = False, sort: str = "task"
          ) -> list[dict[str, Any]] | None:
    """The board's rows as ``ReadSide(store).board(...)`` gives them with these filters on
    ``today``, read in one snapshot of the store; None where the full path must answer
    (the read models not current, or anything unexpected: see the module's docstring)."""
    try:
        with _snapshot(store) as read:
            if not _current(read, store.url.events_table()):
                return None
            units = None
            if unit:
                units = _unit_and_descendants(read, unit)
                if units is None:
                    return None  # (the full path refuses it in its words)
            where, params = _where(today, units=units, state=state, category=category,
                                   source=source, overdue=overdue, open_only=open_only,
                                   month=month, due_by=due_by,
                                   extension_requested=extension_requested)
            order = ORDERS[sort]
            if sort == "overdue":
                params = [*params, today.isoformat(), *DONE, NEVER_LATE]
            columns = (*(f"t.{c}" for c in TASK_COLUMNS), *(f"p.{c}" for c in PLACE_COLUMNS))
            found = read(f"SELECT {', '.join(columns)} FROM rm_tasks t "
                         "LEFT OUTER JOIN rm_places p ON p.task = t.task"
                         f"{where} ORDER BY {order}", params)
            requests = dict(read("SELECT task, requested_deadline FROM rm_requests", []))
    except _store_errors(store):
        return None
    keys = (*TASK_COLUMNS, *PLACE_COLUMNS)
    rows = []
    for values in found:
        row = dict(zip(keys, values, strict=True))
        for key in BOOLEAN:
            if row[key] is not None:
                row[key] = bool(row[key])
        row["days_overdue"] = days_overdue(row, today)
        row["extension_requested"] = requests.get(row["task"])
        rows.append(row)
    return rows


def _current(read: Any, events: str) -> bool:
    """Whether every read model stands at the log's head, on the events it was folded from
    (``projections.positions.Standing``), and those read here were built by the versions
    this SQL knows."""
    standings = read(
        "SELECT p.projection, p.position, p.hash, p.version, e.hash, "
        f"(SELECT MAX(notification_id) FROM {events}) FROM rm_positions p "
        f"LEFT OUTER JOIN {events} e ON e.notification_id = p.position", [])
    if not standings:
        return False
    versions = {}
    for projection, position, folded, version, found, head in standings:
        if position == 0:
            held = folded in (None, GENESIS)
        else:
            held = found is not None and folded in (None, found)
        if not held or position < (head or 0):
            return False
        versions[projection] = 1 if version is None else version
    return all(versions.get(name) == version for name, version in SHAPES.items())


def _unit_and_descendants(read: Any, code: str) -> list[str] | None:
    """A unit's code and those of every unit below it (``ReadSide.unit_and_descendants``);
    None for a unit the registry does not know."""
    return subtree(read("SELECT code, parent FROM rm_units ORDER BY code", []), code)


def subtree(units: Iterable[tuple[str, str | None]], code: str) -> list[str] | None:
    """``code`` and every unit below it, from (code, parent) pairs in code order (a 街道
    and its 社区 …); None when ``code`` is not among them."""
    children: dict[str | None, list[str]] = {}
    known = set()
    for child, parent in units:
        children.setdefault(parent, []).append(child)
        known.add(child)
    if code not in known:
        return None
    found, frontier = [], [code]
    while frontier:
        current = frontier.pop()
        found.append(current)
        frontier.extend(children.get(current, []))
    return found


def _where(today: date, *, units: list[str] | None, state: str | None,
           category: str | None, source: str | None, overdue: bool, open_only: bool,
           month: str | None, due_by: date | None, extension_requested: bool
           ) -> tuple[str, list[Any]]:
    """The filters of ``ReadSide._board_where`` that the command offers, as SQL."""
    terms: list[str] = []
    params: list[Any] = []

    def term(sql: str, *values: Any) -> None:
        terms.append(sql)
        params.extend(values)

    if units is not None:
        term(f"t.unit IN ({', '.join('?' * len(units))})", *units)
    if state:
        term("t.state = ?", state)
    if category:
        term("t.category = ?", category)
    if source:
        term("t.source = ?", source)
    if open_only:
        term("t.state != ?", CLOSED)
    if month:
        term("t.assigned_on LIKE ?", f"{month}-%")
    if overdue:
        term("t.deadline < ? AND t.state NOT IN (?, ?)", today.isoformat(), *DONE)
    if due_by is not None:
        term("t.deadline >= ? AND t.deadline <= ? AND t.state NOT IN (?, ?)",
             today.isoformat(), due_by.isoformat(), *DONE)
    if extension_requested:
        term("t.task IN (SELECT task FROM rm_requests)")
    return (" WHERE " + " AND ".join(terms) if terms else ""), params


@contextmanager
def _snapshot(store: Store) -> Iterator[Any]:
    """A function of SQL (``?`` for its parameters) and parameters that gives the rows,
    every statement reading the same snapshot of the store: on SQLite a connection of its
    own in one read transaction, on PostgreSQL the ledger's in a repeatable read one
    (with the read models' schema first on its search path, as the read side's engine
    has it)."""
    if store.url.kind == "sqlite":
        import sqlite3

        from ledger.settings import LONGEST

        conn = sqlite3.connect(store.url.path, timeout=store.settings.lock_timeout or LONGEST,
                               isolation_level=None)
        try:
            conn.execute("BEGIN")
            yield lambda sql, params: conn.execute(sql, params).fetchall()
        finally:
            conn.close()  # (its read transaction with it)
        return
    from psycopg.rows import tuple_row

    datastore = store.ledger.recorder.datastore  # type: ignore[attr-defined]
    with datastore.get_connection() as conn, conn.transaction(force_rollback=True), \
            conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(f'SET LOCAL search_path TO "{store.url.schema}"')

        def read(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall()

        yield read


def _store_errors(store: Store) -> tuple[type[BaseException], ...]:
    """What a read the store refuses raises (a table or column missing, a permission)."""
    if store.url.kind == "sqlite":
        import sqlite3

        return (sqlite3.Error,)
    import psycopg
    from eventsourcing.persistence import PersistenceError

    return (psycopg.Error, PersistenceError)
