"""Every kind of event the ledger stores, found once from the aggregates that declare them.

An event kind is a class nested in its aggregate (``Task.Assigned``, ``Unit.Corrected``);
its name in the store is the class's qualified name. Nothing else lists them: the read
side dispatches on these classes (``projections/projection.py``), and its contract test
(``tests/tier2_ledger/test_projection_contract.py``) checks that every projection handles or ignores
each of them.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import domain
from domain.base import LedgerAggregate, LedgerEvent

# The bases each aggregate gets from the library, never stored as such.
_BASES = ("Event", "Created")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


@cache
def aggregates() -> tuple[type[LedgerAggregate], ...]:
    """Every aggregate class the domain declares (its modules imported first)."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"{domain.__name__}.{module.name}")
    return tuple(sorted({c for c in _subclasses(LedgerAggregate)
                         if c.__module__.startswith(f"{domain.__name__}.")},
                        key=lambda c: c.__qualname__))


@cache
def event_classes() -> tuple[type[LedgerEvent], ...]:
    """Every event class an aggregate declares, in a stable order."""
    found: list[type[LedgerEvent]] = []
    for aggregate in aggregates():
        for name, value in vars(aggregate).items():
            if (isinstance(value, type) and issubclass(value, LedgerEvent)
                    and name not in _BASES and value.__qualname__ == f"{aggregate.__name__}.{name}"):
                found.append(value)
    return tuple(found)


@cache
def by_kind() -> dict[str, type[LedgerEvent]]:
    """Each event class by the kind the store names it with (``Task.Assigned``). Two
    classes of one name would be one kind twice: refused."""
    kinds: dict[str, type[LedgerEvent]] = {}
    for cls in event_classes():
        if cls.__qualname__ in kinds:
            raise TypeError(f"event kind {cls.__qualname__} is declared twice")
        kinds[cls.__qualname__] = cls
    return kinds


def kind_of(cls: type[LedgerEvent]) -> str:
    """The kind the store names an event class with."""
    return cls.__qualname__


@cache
def _aggregates_by_event() -> dict[type[LedgerEvent], type[LedgerAggregate]]:
    return {cls: aggregate for aggregate in aggregates() for cls in event_classes()
            if cls.__qualname__.split(".", 1)[0] == aggregate.__name__
            and cls.__module__ == aggregate.__module__}


def aggregate_of(cls: type[LedgerEvent] | None) -> type[LedgerAggregate] | None:
    """The aggregate that declares an event class (None for a class no aggregate
    declares)."""
    found = _aggregates_by_event().get(cls) if cls is not None else None
    if found is None and cls is not None:
        # A class declared after the catalogue was read (a test's): found by its name.
        outer = cls.__qualname__.split(".", 1)[0]
        found = next((a for a in aggregates() if a.__name__ == outer
                      and a.__module__ == cls.__module__), None)
    return found
