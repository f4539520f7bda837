"""Event schema versions (docs/architecture.md, "A new event"): stored events never change;
an event class whose fields change carries ``class_version`` and an ``upcast_vN_vN+1`` for
each step, and the library's mapper upcasts an old event as it reads it. Shown on a small
aggregate whose event changed between two releases."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import field
from datetime import datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

import domain
from domain.base import Actor, LedgerAggregate, LedgerCreated, LedgerEvent
from ledger import audit
from ledger.app import Ledger

ADMIN = Actor("admin", "admin")


class Notebook(LedgerAggregate):
    """A notebook of notes. Release 1 stored ``Noted`` as ``{"note": …}``; release 2 named
    the field ``text`` and added ``language`` (release 1's notes were all Chinese), and
    ``pinned`` (which, having a plain default, needs no new version)."""

    class Opened(LedgerCreated):
        def apply(self, book: Notebook) -> None:
            book.notes: list[tuple[str, str, bool]] = []

    class Noted(LedgerEvent):
        class_version = 2

        text: str
        language: str
        pinned: bool = field(default=False, kw_only=True)

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["text"] = state.pop("note")
            state["language"] = "zh"

        def apply(self, book: Notebook) -> None:
            book.notes.append((self.text, self.language, self.pinned))

    @classmethod
    def open(cls, key: str, when: datetime) -> Notebook:
        return cls._create(cls.Opened, id=key, occurred_at=when, **ADMIN.stamp())

    def note(self, text: str, language: str, when: datetime) -> None:
        self._stamp(self.Noted, ADMIN, when, text=text, language=language)


def stored_by_release_1(ledger: Ledger, book: Notebook, note: str) -> None:
    """Store a ``Noted`` event as release 1 wrote it: no class version, ``note`` for the
    text, no language, no pinned."""
    when = ledger.clock()
    state = {"timestamp": when, "occurred_at": when, "actor": "admin", "role": "admin",
             "note": note}
    ledger.recorder.insert_events([StoredEvent(
        originator_id=book.id, originator_version=book.version + 1,
        topic=get_topic(Notebook.Noted), state=ledger.mapper.transcoder.encode(state))])


def test_an_event_stored_by_an_earlier_version_is_upcast_as_it_is_read(seeded: Ledger
                                                                      ) -> None:
    book = Notebook.open("notebook:1", seeded.clock())
    seeded.save(book)
    stored_by_release_1(seeded, book, "三楼楼道堆物")
    before = list(seeded.records())

    read = seeded.load(Notebook, "notebook:1", "notebook")
    assert read.notes == [("三楼楼道堆物", "zh", False)]
    assert read.version == 2

    # Reading changed nothing stored: the old bytes stay, and the chain holds.
    assert list(seeded.records()) == before
    assert audit.verify(seeded).broken is None


def test_an_event_of_the_current_version_is_stored_with_it_and_read_as_is(seeded: Ledger
                                                                          ) -> None:
    book = Notebook.open("notebook:2", seeded.clock())
    seeded.save(book)
    stored_by_release_1(seeded, book, "旧的")  # an old event, then a new one after it
    book = seeded.load(Notebook, "notebook:2", "notebook")
    book.note("stairs cleared", "en", seeded.clock())
    seeded.save(book)

    last = list(seeded.records())[-1]
    assert b'"class_version":2' in last.state and b'"text":"stairs cleared"' in last.state
    assert b'"note"' not in last.state
    assert seeded.load(Notebook, "notebook:2", "notebook").notes == [
        ("旧的", "zh", False), ("stairs cleared", "en", False)]
    assert audit.verify(seeded).broken is None


def missing_upcasters(event_class: type) -> list[str]:
    """The upcasters an event class of version N lacks (it needs ``upcast_v1_v2`` …
    ``upcast_vN-1_vN``, each a static method on the class)."""
    version = getattr(event_class, "class_version", 1)
    assert isinstance(version, int) and version >= 1, (event_class, version)
    return [f"{event_class.__qualname__}.upcast_v{v}_v{v + 1}" for v in range(1, version)
            if not callable(getattr(event_class, f"upcast_v{v}_v{v + 1}", None))]


def every_event_class() -> list[type]:
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    found, todo = [], [LedgerEvent]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.startswith("domain.")]


def test_every_versioned_event_of_the_domain_can_upcast_each_older_version() -> None:
    events = every_event_class()
    assert len(events) > 40
    assert [name for cls in events for name in missing_upcasters(cls)] == []


def test_a_version_without_its_upcaster_is_found() -> None:
    assert missing_upcasters(Notebook.Noted) == []

    class Skipped(LedgerEvent):
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["text"] = state.pop("note")

    assert missing_upcasters(Skipped) == [
        "test_a_version_without_its_upcaster_is_found.<locals>.Skipped.upcast_v2_v3"]
