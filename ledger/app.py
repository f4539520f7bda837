"""The ledger application: every command of the 台账, as methods that return plain data.

Each command is a unit of work (``ledger/unit_of_work.py``): it loads what it acts on, lets
the domain decide with a small context (who acts, when, in which time zone), and saves the
new events in one transaction. When two people act on the same task at once, the second
save conflicts; the command is then decided again against the fresh state (so it either
still applies, or is refused with the reason the new state gives) a few times before
giving up with a conflict.

Here: the application over one store (its codec, loading, saving, reading the log); the
use cases are mixed in from ``registries.py``, ``tasks.py``, ``extensions.py`` and
``workdays.py``; what they answer is made in ``presenters.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import Mapper, Transcoder

from domain.base import Actor, LedgerAggregate, NotFound
from domain.registry import Campaign, Person, Unit
from domain.task import Task
from ledger import identity
from ledger.chain import GENESIS, Record
from ledger.codec import DateAsISO, FastJSONTranscoder, LedgerMapper
from ledger.extensions import ExtensionCommands
from ledger.presenters import describe_task, event_details
from ledger.registries import RegistryCommands
from ledger.tasks import Finding, TaskCommands
from ledger.unit_of_work import GIVES_UP, UnitOfWork, Wanted, load_many, retrying, utc_now
from ledger.workdays import WorkingDayCommands

R = TypeVar("R")
A = TypeVar("A", bound=LedgerAggregate)

# Also imported from here by commands/ and web/ (their homes are the modules above).
__all__ = ["Finding", "Ledger", "utc_now"]


class Ledger(TaskCommands, RegistryCommands, WorkingDayCommands, ExtensionCommands,
             Application[str]):
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

    # --- the unit of work ----------------------------------------------------------------

    def write(self, attempt: Callable[[UnitOfWork], R], *,
              on_conflict: Callable[[], None] | None = None,
              gives_up: str = GIVES_UP) -> R:
        """Run ``attempt`` (load, decide, save) as one unit of work, retried on conflict
        (``on_conflict`` looks at the store again first); ``Conflict`` saying ``gives_up``
        when others kept changing the same records."""
        return retrying(self, attempt, on_conflict=on_conflict, gives_up=gives_up)

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

    def load(self, kind: type[A], key: str, label: str) -> A:
        """The aggregate ``key`` as of now (``NotFound`` naming ``label`` if there is no
        such ``kind``)."""
        return load_many(self, (kind, key, label))[0]  # type: ignore[return-value]

    def load_many(self, *wanted: Wanted) -> list[LedgerAggregate]:
        """Aggregates by id, each with its class and label, in one read of the store."""
        return load_many(self, *wanted)

    def campaign(self) -> Campaign:
        try:
            return self.load(Campaign, Campaign.ID, "campaign")
        except NotFound:
            raise NotFound("本账本还没有专项行动：请运行 'taizhang campaign start'") from None

    def unit(self, code: str) -> Unit:
        return self.load(Unit, Unit.key(code), "unit")

    def person(self, person_id: str) -> Person:
        return self.load(Person, Person.key(person_id), "person")

    def task(self, task_id: str) -> Task:
        return self.load(Task, task_id.strip().upper(), "task")

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
        hash for an empty ledger); durable when returned, since a head is read to be quoted
        (a witness, an export, a published figure; docs/durability.md)."""
        position = self.max_position()
        if not position:
            return 0, GENESIS
        last = self.recorder.select_records(position - 1, 1)  # type: ignore[attr-defined]
        if self.recorder.wait_durable():  # type: ignore[attr-defined]
            # Read again: a crash between the read and the wait may have taken it back.
            again = self.recorder.select_records(position - 1, 1)  # type: ignore[attr-defined]
            if not again or again[0].hash != last[0].hash:
                return self.head()
        return position, last[0].hash

    def position_as_of(self, moment: datetime) -> int:
        return self.recorder.position_as_of(moment)  # type: ignore[attr-defined]
