"""The work summary read from the read models: what the period's days can count, not the
ledger's whole history.

The summary's definition is the fold of every fact (:func:`projections.summary.work_summary`);
this reads the same figures from what is kept already:

- the tasks' metric items (the metrics projection derives them with the same
  :func:`~projections.metrics.derive`), those of the months the period and the recurrence
  window before it overlap, by the indexed month range — with the metrics' rows as they
  stood at an "as of" position (:class:`~projections.evaluation.Evaluator`);
- the notices (整改通知书) issued on the period's days, from the event index (by day), and
  which unit held each of their tasks then, from the tasks' kept events;
- the visits and surveys of the period's months (the metrics' rows, by month) and every
  target task, the campaign and the evaluation book: their own few events, folded by the
  summary's own fold (``_Book``), so that corrections and withdrawals count as there.

So the cost is that of the period's tasks, visits and notices.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from eventsourcing.utils import get_topic

from domain.evaluation import Evaluation
from domain.months import month_of
from domain.registry import Campaign
from domain.task import Task
from ledger.chain import Record
from ledger.indicators import TARGET_PREFIX
from projections.events import EventIndex
from projections.evaluation import Evaluator, known_unit
from projections.facts import Context, decode
from projections.metric_sources import MemorySource, OverlaySource, Source, TableSource
from projections.metrics import Metrics, Units
from projections.positions import log_table
from projections.summary import Period, Summary, _Book, _holders, counted

if TYPE_CHECKING:
    from projections.read import ReadSide

NOTICE = get_topic(Task.NoticeIssued)  # the event table's topic of a notice
CHUNK = 500
BATCH = 200  # records whose events one statement reads


def from_read_models(read: ReadSide, period: Period, unit: str | None = None) -> Summary:
    """The summary of ``period`` for ``unit`` and the units below it (None: all), as the
    read side sees the ledger (now, or as of its moment or position)."""
    ctx = Context(read.store.ledger.zone())
    evaluator = Evaluator(read)

    def compute(source: Source) -> Summary:
        upto = evaluator.position() if read.maintained else read.upto
        return _summary(read, source, upto, ctx, period, unit)
    return evaluator.stable(compute)[1]


def _summary(read: ReadSide, source: Source, upto: int | None, ctx: Context,
             period: Period, unit: str | None) -> Summary:
    ledger = read.store.ledger
    units = Units(source.units())
    members: list[str] | None = None
    scope = ""
    if unit is not None:
        known_unit(units, unit)
        members, scope = units.below(unit), units.rows[unit]["name"]
    inside = (lambda code: True) if members is None else set(members).__contains__

    book = _Book()
    recorder = ledger.recorder
    # The records with events after the position read: theirs are read one by one, up to
    # it; every other record's events, several records at a time.
    later = source.changed if isinstance(source, OverlaySource) else \
        {r.originator_id for r in ledger.records(upto)} if upto is not None else set()

    def fold(aggregates: Iterable[str]) -> None:
        wanted = list(aggregates)
        whole = [a for a in wanted if a not in later]
        for i in range(0, len(whole), BATCH):
            found = recorder.select_events_after({a: 0 for a in whole[i:i + BATCH]})
            for events in found.values():
                for e in events:
                    book.read(decode(Record(0, e.originator_id, e.originator_version,
                                            e.topic, e.state, "", "", "")))
        for aggregate in (a for a in wanted if a in later):
            for record in recorder.select_aggregate_records(aggregate):
                if upto is None or record.position <= upto:
                    book.read(decode(record))

    fold([Campaign.ID, Evaluation.ID])
    fold(ledger.recorder.ids_with_prefix(TARGET_PREFIX))
    first_month, last_month = period.months
    fold(sorted({v["inspection"] for v in source.visits(members, first_month, last_month)}))
    fold(sorted({s["survey"] for s in source.surveys(members, first_month, last_month)}))

    # Closures within the recurrence window before the period's first day count too.
    earliest = month_of(period.start - timedelta(days=book.window_days + 1))
    items = [item for row in source.tasks(members, earliest, last_month)
             for item in row["items"] if inside(item["unit"])]

    book.notices = _notices(read, upto, period, members)
    holders = _holders(_task_events(read, source, {task for task, _ in book.notices}))
    return counted(book, items, holders, ctx, period, members, scope)


def _notices(read: ReadSide, upto: int | None, period: Period,
             members: Collection[str] | None) -> list[tuple[str, str]]:
    """The notices issued on the period's days (as entered: a notice's moment is not
    corrected), as (task, moment), from the event index by day: for units in scope, those
    the index gives to one of them, and those of any task ever reassigned or corrected (the
    index's unit is the task's unit as then entered; which unit held it when is worked out
    from its events)."""
    index = EventIndex().tables
    events, corrections = index["events"], index["event_corrections"]
    # The index keeps what the event table does not: the task and the kind are the
    # event table's own columns, joined by position.
    log = log_table(read.store.ledger.recorder.events_table_name)
    query = (sa.select(log.c.originator_id, events.c.occurred_at)
             .select_from(events.join(log, log.c.notification_id == events.c.position))
             .where(events.c.occurred_on >= period.start.isoformat(),
                    events.c.occurred_on <= period.end.isoformat(), log.c.topic == NOTICE))
    if members is not None:
        held = Metrics().tables["metric_held"]
        query = query.where(sa.or_(
            events.c.unit.in_(sorted(members)),
            sa.exists().where(held.c.task == log.c.originator_id),
            sa.exists().where(corrections.c.originator == log.c.originator_id)))
    if upto is not None:
        query = query.where(events.c.position <= upto)
    with read.live.engine.connect() as conn:
        return [(task, at) for task, at in conn.execute(query)]


def _task_events(read: ReadSide, source: Source, tasks: Collection[str]
                 ) -> dict[str, list[dict[str, Any]]]:
    """The kept (compacted) events of these tasks, from the metrics' rows the source reads."""
    found: dict[str, list[dict[str, Any]]] = {}
    wanted = set(tasks)
    if isinstance(source, OverlaySource):
        for key, row in source.memory.rows.table("metric_tasks").items():
            if key[0] in wanted:
                found[key[0]] = row["events"]
        wanted -= source.changed
        source = source.table
    if isinstance(source, MemorySource):
        for key, row in source.rows.table("metric_tasks").items():
            if key[0] in wanted:
                found[key[0]] = row["events"]
        return found
    assert isinstance(source, TableSource)
    table = source.t["metric_tasks"]
    ordered = sorted(wanted)
    with source.engine.connect() as conn:
        for i in range(0, len(ordered), CHUNK):
            query = sa.select(table.c.task, table.c.events).where(
                table.c.task.in_(ordered[i:i + CHUNK]))
            found.update({task: events for task, events in conn.execute(query)})
    return found
