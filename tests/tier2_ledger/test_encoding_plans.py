"""The bulk write's faster encoding and chaining store exactly the bytes and hashes of the
plain ones: every domain event class, with values of every kind its fields take and of
kinds they should not (which the plain path must then write, or refuse, as before)."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import (DatetimeAsISO, DecimalAsStr, JSONTranscoder,
                                       StoredEvent, UUIDAsHex)
from eventsourcing.utils import get_topic
from hypothesis import given, settings
from hypothesis import strategies as st

import domain
from domain.base import LedgerEvent
from ledger.chain import GENESIS, chained_rows, extend, link
from ledger.codec import DateAsISO, FastJSONTranscoder, LedgerMapper
from ledger.recorders import chain_rows

for _module in pkgutil.walk_packages(domain.__path__, "domain."):
    importlib.import_module(_module.name)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _named(cls: type) -> bool:
    """Whether ``cls`` is the class its module's name for it gives (the library remakes an
    aggregate's event classes for its subclasses; those are the same events)."""
    found: Any = importlib.import_module(cls.__module__)
    for part in cls.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is cls


EVENT_CLASSES = sorted({c for c in _subclasses(LedgerEvent) if c.__module__.startswith("domain.")
                        and dataclasses.is_dataclass(c) and _named(c)}, key=get_topic)
TRANSCODINGS = (UUIDAsHex, DecimalAsStr, DatetimeAsISO, DateAsISO)


def _transcoder(kind: type[JSONTranscoder]) -> JSONTranscoder:
    transcoder = kind()
    for transcoding in TRANSCODINGS:
        transcoder.register(transcoding())
    return transcoder


LIBRARY = _transcoder(JSONTranscoder)
# One mapper for every example, as a ledger has: its plans are made as kinds of values
# come, and later events of the same class go through them.
MAPPER = LedgerMapper(_transcoder(FastJSONTranscoder))


def stored_before(event: Any) -> StoredEvent | type[Exception]:
    """The stored event as the mapper wrote it before the plans (its state through the
    library's JSON transcoder), or the kind of error it refused it with."""
    state = {k: v for k, v in vars(event).items()
             if k not in ("originator_id", "originator_version")}
    if state.get("entered_by", "") is None:
        del state["entered_by"]
    if getattr(type(event), "class_version", 1) > 1:
        state["class_version"] = type(event).class_version
    try:
        data = LIBRARY.encode(state)
    except Exception as e:  # noqa: BLE001 - the same refusal either way
        return type(e)
    return StoredEvent(event.originator_id, event.originator_version, get_topic(type(event)),
                       data)


def stored_now(event: Any, mapper: LedgerMapper = MAPPER) -> StoredEvent | type[Exception]:
    try:
        return mapper.to_stored_event(event)
    except Exception as e:  # noqa: BLE001
        return type(e)


texts = st.text(st.characters(blacklist_categories=()), max_size=12)  # any code point
encodable = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
moments = st.datetimes(timezones=st.none() | st.timezones() | st.just(timezone.utc))
floats = st.floats() | st.sampled_from([0.0, -0.0, 1e-4, 9.999e-5, 1e16, 39.2904])
ints = st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
odd_scalars = (st.none() | st.booleans() | texts | ints | floats | moments | st.dates()
               | st.decimals(allow_nan=False) | st.uuids())
odd_values = st.recursive(odd_scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.tuples(inner, inner)
                          | st.dictionaries(texts | st.integers(0, 3), inner, max_size=3),
                          max_leaves=8)
BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "str": texts, "int": ints, "datetime": moments, "date": st.dates(), "float": floats,
    "dict[str, Any]": st.dictionaries(texts, odd_values, max_size=3),
    "list[str]": st.lists(texts, max_size=3),
    "list[dict[str, str]]": st.lists(st.dictionaries(texts, texts, max_size=3), max_size=3),
    "list[dict[str, Any]]": st.lists(st.dictionaries(texts, odd_values, max_size=3),
                                     max_size=3),
}


def _field_values(field: dataclasses.Field[Any]) -> st.SearchStrategy[Any]:
    """Values of the field's declared type (None too where it may be None), or of any
    other kind."""
    declared = str(field.type)
    strategy = BY_TYPE.get(declared.removesuffix(" | None"), odd_values)
    if declared.endswith(" | None"):
        strategy = st.none() | strategy
    return st.one_of(strategy, odd_values)


@st.composite
def events(draw: st.DrawFn) -> Any:
    cls = draw(st.sampled_from(EVENT_CLASSES))
    values = {f.name: draw(_field_values(f)) for f in dataclasses.fields(cls)}
    values["originator_id"] = draw(texts)
    values["originator_version"] = draw(st.integers(1, 10 ** 6))
    return cls(**values)


def test_every_event_class_is_drawn() -> None:
    assert len(EVENT_CLASSES) > 70  # (81 when written)
    assert {str(f.type) for c in EVENT_CLASSES for f in dataclasses.fields(c)} \
        <= {f"{t}{none}" for t in [*BY_TYPE, "dict[str, Any]"] for none in ("", " | None")}


@settings(max_examples=500, deadline=None)
@given(st.lists(events(), min_size=1, max_size=4))
def test_the_mapper_stores_every_event_as_before(drawn: list[Any]) -> None:
    fresh = LedgerMapper(_transcoder(FastJSONTranscoder))  # its plans made by these events
    for event in drawn:
        assert stored_now(event) == stored_now(event, fresh) == stored_before(event)


def test_the_plans_take_what_a_ledger_stores() -> None:
    """The common events are the plans' (not all left to the general path)."""
    from zoneinfo import ZoneInfo

    mapper = LedgerMapper(_transcoder(FastJSONTranscoder))
    moment = datetime(2025, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    for cls in EVENT_CLASSES:
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            declared = str(f.type).removesuffix(" | None")
            values[f.name] = {"str": "幸福路1号 \"é\"\n", "int": 3, "float": 39.29,
                              "datetime": moment, "date": date(2025, 3, 20),
                              "list[str]": ["a", "乙"], "dict[str, Any]": {"k": [1, "v"]},
                              }.get(declared, [{"k": "v"}])
        values.update(originator_id="T-000001", originator_version=2,
                      timestamp=datetime(2025, 3, 1, 1, 2, 3, 4, tzinfo=timezone.utc))
        for entered_by in (None, "admin"):
            event = cls(**{**values, "entered_by": entered_by})
            assert mapper.to_stored_event(event) == stored_before(event)
        assert mapper._plans.get(cls), cls


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(encodable, st.integers(min_value=1, max_value=10 ** 9),
                          encodable, st.binary(max_size=64)), max_size=6),
       st.integers(min_value=0, max_value=10 ** 9), encodable,
       st.sampled_from(["2024-06-01T01:02:03.000004+00:00", "2025-12-31T23:59:59.999999+00:00"]))
def test_the_recorders_rows_carry_each_events_link(
        batch: list[tuple[str, int, str, bytes]], head: int, account: str,
        recorded_at: str) -> None:
    previous, expected = "a" * 64, []
    for offset, (originator_id, version, topic, state) in enumerate(batch, 1):
        previous = link(previous, head + offset, originator_id, version, topic, state,
                        recorded_at, account)
        expected.append((head + offset, originator_id, version, topic, state, recorded_at,
                         account, previous))
    assert chained_rows("a" * 64, head, batch, recorded_at, account) == expected
    assert extend("a" * 64, head, batch, recorded_at, account) == [r[-1] for r in expected]
    stored = [StoredEvent(*event) for event in batch]
    assert chain_rows(stored, head, "a" * 64, recorded_at, account) == expected
    assert extend(GENESIS, head, batch, recorded_at, account) == (
        [r[-1] for r in chained_rows(GENESIS, head, batch, recorded_at, account)])


def test_a_decimal_and_a_uuid_are_written_as_the_library_writes_them() -> None:
    import uuid

    cls = EVENT_CLASSES[0]
    values = {f.name: "x" for f in dataclasses.fields(cls)}
    for odd in (Decimal("1.10"), uuid.UUID(int=7), Decimal("-0E+3")):
        for name in values:
            if name in ("originator_id", "originator_version"):
                continue
            event = cls(**{**values, "originator_version": 1, name: odd})
            assert stored_now(event) == stored_before(event)


def test_a_time_is_written_as_the_library_writes_it_whatever_its_offset() -> None:
    """orjson writes the event's own times itself (beside a list or dict too), and rounds
    an offset's seconds away: a local mean time (Shanghai before 1901, +08:05:43) or an
    offset of seconds goes the library's way, through the same plan as the times around it."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    moments = (datetime(2025, 3, 1, 9, 30, tzinfo=shanghai),
               datetime(1890, 3, 1, 9, 30, tzinfo=shanghai),
               datetime(2025, 3, 1, 9, 30, 0, 7, tzinfo=timezone(timedelta(seconds=30))),
               datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-3.5))),
               datetime(2025, 3, 1, 9, 30), datetime(1, 1, 1, tzinfo=timezone.utc))
    for name in ("Task.Acknowledged", "Task.RectificationReported"):
        cls = next(c for c in EVENT_CLASSES if c.__qualname__ == name)
        values = {f.name: "x" if str(f.type).removesuffix(" | None") == "str"
                  else [{"file": "照片.jpg"}] for f in dataclasses.fields(cls)
                  if f.name not in ("timestamp", "occurred_at")}
        mapper = LedgerMapper(_transcoder(FastJSONTranscoder))
        for moment in moments:
            event = cls(**{**values, "originator_version": 1, "timestamp": moment,
                           "occurred_at": moment})
            assert stored_now(event, mapper) == stored_before(event), (name, moment)
        assert len(mapper._plans[cls]) == 1
