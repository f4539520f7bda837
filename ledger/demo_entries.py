"""Events entered as people enter them: some minutes after they happened, some days, a few
weeks — in the order they were entered, each stored with its moment of entry as its
transaction time.

The demo's simulation decides what happens in valid-time order; this is the desk where
it is typed in. Each act (a visit with its findings, an acknowledgement, a report …) is
entered some while after it happened; an aggregate's events are entered in their own order,
so a report is never entered before the assignment it answers. The events are written in
the order of entry, through the ledger's verbatim path (``insert_records``, which checks
every link of the chain as it goes), so ``--as-of`` any moment replays the ledger as it
grew, and a late entry shows as late.
"""

from __future__ import annotations

import heapq
import random
from datetime import datetime, time, timedelta
from typing import Any

from domain.base import LedgerAggregate
from eventsourcing.persistence import StoredEvent
from ledger.app import Ledger
from ledger.chain import Record, link, stamp

# How long after an act it is entered: (share of acts, shortest, longest).
USUAL = ((0.55, timedelta(minutes=2), timedelta(minutes=90)),   # at once, at the desk
         (0.30, timedelta(hours=2), timedelta(hours=16)),       # that evening, next morning
         (0.12, timedelta(days=1), timedelta(days=6)),          # after a few days
         (0.03, timedelta(days=7), timedelta(days=28)))         # weeks late, as happens
# A higher-level unannounced check's findings reach the office with its notice.
NOTIFIED = ((1.0, timedelta(days=3), timedelta(days=20)),)
OPENS, CLOSES = time(8), time(21)


def entry_account(ledger: Ledger) -> str:
    """The account the store records for this process's writes: the OS user on SQLite,
    the database user on PostgreSQL (as the recorders stamp them)."""
    recorder: Any = ledger.recorder
    account = getattr(recorder, "account", None)
    if account:
        return str(account)
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute("SELECT current_user AS account")
        row = curs.fetchone()
    return str(row["account"] if isinstance(row, dict) else row[0])


class Entries:
    """The events waiting to be entered, by moment of entry."""

    def __init__(self, ledger: Ledger, rng: random.Random, batch: int = 500) -> None:
        self.ledger = ledger
        self.rng = rng
        self.batch = batch
        self.threshold = batch
        self.account = entry_account(ledger)
        self.waiting: list[tuple[datetime, int, StoredEvent]] = []
        self.seq = 0
        self.last: dict[str, datetime] = {}  # each aggregate's latest entry
        self.written = 0
        self.written_ids: set[str] = set()
        self.late: set[str] = set()  # aggregates with an event entered on a later day

    def delay(self, shape: tuple[tuple[float, timedelta, timedelta], ...] = USUAL
              ) -> timedelta:
        """How long after an act it is entered."""
        roll = self.rng.random()
        for share, shortest, longest in shape:
            if roll < share:
                break
            roll -= share
        seconds = self.rng.uniform(shortest.total_seconds(), longest.total_seconds())
        return timedelta(seconds=round(seconds))

    def moment(self, act: datetime, shape: tuple[tuple[float, timedelta, timedelta], ...]
               = USUAL) -> datetime:
        """When an act is entered: some while after it happened, in working hours (8:00
        to 21:00 where it happened; later is entered the next morning)."""
        entered = act + self.delay(shape)
        if OPENS <= entered.time() < CLOSES:
            return entered
        day = entered.date() + timedelta(days=1 if entered.time() >= CLOSES else 0)
        return datetime.combine(day, OPENS, entered.tzinfo) + timedelta(
            minutes=self.rng.randint(0, 60))

    def enter(self, aggregate: LedgerAggregate, at: datetime) -> None:
        """Queue the aggregate's new events for entry at ``at`` (or after its own last
        entry, whichever is later)."""
        to_stored = self.ledger.mapper.to_stored_event
        for event in aggregate.collect_events():
            entered = max(at, self.last.get(aggregate.id, at))
            self.last[aggregate.id] = entered
            if entered.date() > event.occurred_at.astimezone(entered.tzinfo).date():
                self.late.add(aggregate.id)  # entered on a later day: shown as late
            self.seq += 1
            heapq.heappush(self.waiting, (entered, self.seq, to_stored(event)))

    def full(self) -> bool:
        """Whether a batch has gathered since the last write (beside those still waiting
        for a later moment of entry then)."""
        return len(self.waiting) >= self.threshold

    def write(self, upto: datetime) -> int:
        """Enter everything due by ``upto``, in order of entry, in one transaction."""
        rows = []
        while self.waiting and self.waiting[0][0] <= upto:
            rows.append(heapq.heappop(self.waiting))
        self.threshold = len(self.waiting) + self.batch
        if not rows:
            return 0
        position, previous = self.ledger.head()
        last_time = next(self.ledger.records(position - 1, position)).recorded_at \
            if position else ""
        records = []
        for entered, _, event in rows:
            position += 1
            at = max(stamp(entered), last_time)
            previous = link(previous, position, event.originator_id,
                            event.originator_version, event.topic, event.state, at,
                            self.account)
            records.append(Record(position, event.originator_id, event.originator_version,
                                  event.topic, event.state, at, self.account, previous))
            last_time = at
            self.written_ids.add(event.originator_id)
        self.ledger.recorder.insert_records(records)  # type: ignore[attr-defined]
        self.written += len(records)
        return len(records)

    def left(self) -> int:
        """Events that would be entered after the end: never written."""
        return len(self.waiting)
