"""The faster paths give exactly what the plain ones gave."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
import sqlalchemy as sa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.tier2_ledger.test_metrics import build

from ledger.app import Ledger
from ledger.chain import GENESIS, extend, link
from ledger.codec import DateAsISO, FastJSONTranscoder, LedgerMapper
from ledger.importer import strptime
from projections.facts import loads
from projections.rows import _insert, _load
from projections.read import ReadSide, all_projections

scalars = (st.none() | st.booleans() | st.text()
           | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
           | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64, -(2 ** 63),
                              -(2 ** 63) - 1, 10 ** 18, 1e300, -0.0, "\ud800"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20)


def same(a: object, b: object) -> bool:
    """Equal values of equal types all the way down (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))  # type: ignore
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore
    return a == b


@settings(max_examples=300, deadline=None)
@given(values, st.booleans())
def test_loads_reads_what_json_reads(value: object, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert same(loads(text), json.loads(text))
    assert same(loads(text.encode("utf-8", "surrogatepass")), json.loads(text))


def _library_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


def _fast_transcoder() -> FastJSONTranscoder:
    transcoder = FastJSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), DateAsISO()):
        transcoder.register(transcoding)
    return transcoder


event_scalars = (st.none() | st.booleans()
                 | st.text(st.characters(blacklist_categories=()), max_size=8)
                 | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
                 | st.floats() | st.datetimes(timezones=st.none() | st.timezones())
                 | st.dates() | st.decimals(allow_nan=False) | st.uuids())
event_values = st.recursive(
    event_scalars, lambda inner: st.lists(inner, max_size=3)
    | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4) | st.integers(0, 3), inner, max_size=3),
    max_leaves=12)


def _encoded(transcoder: JSONTranscoder, value: object) -> object:
    try:
        return transcoder.encode(value)
    except Exception as e:  # the same refusal either way
        return type(e)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), event_values, max_size=6))
def test_the_ledgers_transcoder_writes_the_librarys_bytes(state: dict[str, object]) -> None:
    assert _encoded(_fast_transcoder(), state) == _encoded(_library_transcoder(), state)


@pytest.mark.parametrize("value", [0.0, -0.0, 1e-4, 9.999e-5, 39.2904, -76.6122, 180.0,
                                   9.999999999999998e15, 1e16, 1e-5, 123456789.123,
                                   float("nan"), float("inf"), -1e300])
def test_floats_are_written_as_the_library_writes_them(value: float) -> None:
    state = {"latitude": value, "nested": [value, {"x": value}]}
    assert _encoded(_fast_transcoder(), state) == _encoded(_library_transcoder(), state)


def test_a_stored_event_is_written_as_the_library_writes_it(seeded: Ledger) -> None:
    library = _library_transcoder()
    assert isinstance(seeded.mapper.transcoder, FastJSONTranscoder)
    for record in seeded.records():
        event = seeded.mapper.to_domain_event(StoredEvent(
            record.originator_id, record.originator_version, record.topic, record.state))
        state = dict(vars(event))
        del state["originator_id"], state["originator_version"]
        assert seeded.mapper.transcoder.encode(state) == library.encode(state) == record.state


FORMATS = ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d",
           "%d.%m.%y %H:%M", "%Y%m%d", "%Y年%m月%d日 %H时", "%m/%d/%y", "%Y-%m-%dT%H:%M",
           "%I %p %d/%m/%Y", "%Y/%m/%d %I:%M", "%b %d %Y", "%Y-%m-%d %H:%M:%S.%f"]
date_texts = st.one_of(
    st.builds(lambda moment, fmt: moment.strftime(fmt),
              st.datetimes(min_value=datetime(1000, 1, 1)), st.sampled_from(FORMATS)),
    st.text(st.sampled_from("0123456789/-: APMapm.年月日时T"), max_size=24))


def _parsed(parse: Callable[[str, str], datetime], text: str, fmt: str) -> object:
    try:
        return parse(text, fmt)
    except ValueError:
        return ValueError


@settings(max_examples=400, deadline=None)
@given(date_texts, st.sampled_from(FORMATS))
def test_the_importers_date_parsing_is_strptimes(text: str, fmt: str) -> None:
    assert _parsed(strptime, text, fmt) == _parsed(datetime.strptime, text, fmt)


def _typed(rows: dict[object, dict[str, object]]) -> dict[object, object]:
    """Rows with each value's type beside it (True == 1, but a boolean is no integer)."""
    return {key: {name: (type(value), value) for name, value in row.items()}
            for key, row in rows.items()}


def test_rows_go_through_sqlites_driver_as_through_sqlalchemy(sqlite_url: str) -> None:
    """The engine loads and writes SQLite rows through the driver: every table of every
    projection, after a random campaign, reads back as SQLAlchemy reads it, and rows written
    the engine's way into fresh tables read back equal."""
    store = build(sqlite_url, seed=7, steps=200, split=0.5)
    try:
        ReadSide(store).current()
        scratch = all_projections(prefix="rm_copy_")
        with store.engine.begin() as conn:
            for projection, copy in zip(all_projections(), scratch, strict=True):
                copy.metadata.create_all(conn)
                for name, table in projection.tables.items():
                    rows = {projection.key_of(name, dict(r)): dict(r)
                            for r in conn.execute(sa.select(table)).mappings()}
                    assert _typed(_load(conn, projection, name, list(rows))) == _typed(rows), name
                    if rows:
                        _insert(conn, copy.tables[name], list(rows.values()))
                    copied = {copy.key_of(name, dict(r)): dict(r)
                              for r in conn.execute(sa.select(copy.tables[name])).mappings()}
                    assert _typed(copied) == _typed(rows), name
                    assert conn.execute(sa.select(sa.func.count()).select_from(
                        sa.select(table).except_(sa.select(copy.tables[name])).subquery())
                    ).scalar_one() == 0, name  # the same stored values, JSON text too
    finally:
        store.close()


stored_events = st.lists(st.tuples(st.text(min_size=1, max_size=12),
                                   st.integers(min_value=1, max_value=10 ** 6),
                                   st.sampled_from(["domain.task:Task.Assigned",
                                                    "domain.task:Task.Closed", "t\"é"]),
                                   st.binary(max_size=64)), max_size=8)


@settings(max_examples=200, deadline=None)
@given(stored_events, st.integers(min_value=0, max_value=10 ** 9), st.text(max_size=12))
def test_chaining_a_batch_gives_each_event_its_own_link(
        events: list[tuple[str, int, str, bytes]], head: int, account: str) -> None:
    recorded_at = "2024-06-01T01:02:03.000004+00:00"
    previous, expected = GENESIS, []
    for offset, (originator_id, version, topic, state) in enumerate(events, 1):
        previous = link(previous, head + offset, originator_id, version, topic, state,
                        recorded_at, account)
        expected.append(previous)
    assert extend(GENESIS, head, events, recorded_at, account) == expected


def test_the_ledgers_mapper_stores_what_the_librarys_stores(seeded: Ledger) -> None:
    assert isinstance(seeded.mapper, LedgerMapper)
    transcoder = seeded.mapper.transcoder
    for compressor in (None, ZlibCompressor()):
        ours = LedgerMapper(transcoder=transcoder, compressor=compressor)
        library = Mapper(transcoder=transcoder, compressor=compressor)
        for record in seeded.records():
            event = library.to_domain_event(StoredEvent(
                record.originator_id, record.originator_version, record.topic,
                compressor.compress(record.state) if compressor else record.state))
            assert ours.to_stored_event(event) == library.to_stored_event(event)
