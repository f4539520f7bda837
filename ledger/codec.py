"""How the ledger's events are stored: the mapper from an event to a stored event and back,
and the transcoder writing its state as JSON (the bytes the audit chain hashes)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from eventsourcing.persistence import (Cipher, Compressor, DatetimeAsISO, DecimalAsStr,
                                       JSONTranscoder, Mapper, StoredEvent, Transcoder,
                                       Transcoding, UUIDAsHex)
from eventsourcing.utils import get_topic

from ledger.chain import Tampered


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


# What orjson writes byte for byte as the library's encoder (compact, UTF-8) writes it, or
# hands to the transcodings as the library's encoder does. Floats only from 1e-4 to 1e16
# and zero (orjson spells 1e16, 1e-5 and NaN otherwise; a task's coordinates are within);
# not UUIDs, dataclasses or enums (orjson writes them itself).
_ALIKE = frozenset({str, int, bool, type(None), datetime, date, Decimal})
_DEPTH = 32


def _alike(value: Any, depth: int = 0) -> bool:
    """Whether orjson encodes ``value`` exactly as the library's JSON encoder does."""
    kind = type(value)
    if kind is dict:
        if depth > _DEPTH:
            return False  # deep, or circular: the library's encoder says what is wrong
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _ALIKE
                                        and not _alike(item, depth + 1)):
                return False
        return True
    if kind is list or kind is tuple:
        if depth > _DEPTH:
            return False
        for item in value:
            if type(item) not in _ALIKE and not _alike(item, depth + 1):
                return False
        return True
    if kind is float:
        return value == 0.0 or 1e-4 <= abs(value) < 1e16  # (NaN is neither)
    return kind in _ALIKE


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON transcoder, encoding with orjson where that writes the very same
    bytes (twice as fast; the audit chain hashes those bytes): events whose values are
    text, integers, booleans, dates and times, decimals, lists and dicts. Anything else,
    and anything orjson refuses (integers beyond 64 bits, lone surrogates), goes to the
    library's encoder."""

    def encode(self, obj: Any) -> bytes:
        if _alike(obj):
            try:
                return orjson.dumps(obj, default=self._encode_obj,
                                    option=orjson.OPT_PASSTHROUGH_DATETIME)
            except orjson.JSONEncodeError:
                pass
        return super().encode(obj)


_NOT_STATE = frozenset({"originator_id", "originator_version"})
# The library's transcodings (and the ledger's) whose encoding is one call giving text, by
# the function that makes that text (their ``encode`` calls it).
_TEXT: dict[type[Transcoding], Callable[[Any], str]] = {
    DatetimeAsISO: datetime.isoformat, DateAsISO: date.isoformat, DecimalAsStr: str,
    UUIDAsHex: lambda value: value.hex}
# Values that orjson writes as the library's encoder does; and those it does if ``alike``
# says so (floats in range, lists and dicts of such values).
_PLAIN = frozenset({str, int, bool, type(None)})
_CHECKED = frozenset({float, list, tuple, dict})
_PLANS_PER_CLASS = 8  # past that many kinds of values, a class's events take the general path
# Built-in kinds json writes itself (a transcoding registered for a subclass is not used).
_JSON_NATIVE = (str, int, float, list, tuple, dict)

Plan = Callable[[Mapping[str, Any]], "bytes | None"]


def make_plan(cls: type, transcoder: JSONTranscoder, fields: Mapping[str, Any]
              ) -> Plan | None:
    """The plan for ``cls``'s events with ``fields``' names, in their order, and values of
    their kinds (None if a value is of a kind no plan writes: the general path's)."""
    keys = tuple(fields)
    if "class_version" in keys or any(type(key) is not str for key in keys):
        return None
    names: dict[str, Any] = {"dumps": orjson.dumps, "alike": _alike, "PLAIN": _PLAIN,
                             "default": transcoder._encode_obj, "KEYS": keys,
                             "option": orjson.OPT_PASSTHROUGH_DATETIME,
                             "JSONEncodeError": orjson.JSONEncodeError}
    checks, items = [], []
    # Only a list or dict can hold a value that needs the transcoder (orjson then passes
    # times to it). A time in the event's own fields orjson writes itself, four times
    # faster than ``isoformat`` and the very same text where the offset is whole minutes;
    # written into the rest as it is, or, beside a list or dict, as a fragment.
    nested = any(type(value) in _CHECKED and type(value) is not float
                 for key, value in fields.items() if key not in _NOT_STATE)
    names.update(UTC=timezone.utc, whole_minutes=_whole_minutes, Fragment=orjson.Fragment)
    for i, (key, value) in enumerate(fields.items()):
        kind, a = type(value), f"a{i}"
        if key in _NOT_STATE:
            continue
        if key == "entered_by" and value is None:
            checks.append(f"{a} is None")  # entered by the actor: left out (see the mapper)
            continue
        names[f"k{i}"] = key
        if kind in _PLAIN:
            checks.append(f"type({a}) in PLAIN"
                          + (f" and {a} is not None" if key == "entered_by" else ""))
            items.append(f"k{i}: {a}")
        elif kind in _CHECKED:
            names[f"t{i}"] = kind
            checks.append(f"type({a}) is t{i} and alike({a}, 1)")
            items.append(f"k{i}: {a}")
        elif kind is datetime and type(transcoder.types.get(kind)) is DatetimeAsISO:
            names[f"t{i}"], names[f"n{i}"] = kind, transcoder.types[kind].name
            checks.append(f"type({a}) is t{i} and ({a}.tzinfo is UTC or whole_minutes({a}))")
            text = f"Fragment(dumps({a}))" if nested else a
            items.append(f"k{i}: {{'_type_': n{i}, '_data_': {text}}}")
        else:
            transcoding = transcoder.types.get(kind)
            text = _TEXT.get(type(transcoding))
            if text is None or issubclass(kind, _JSON_NATIVE):
                return None
            names[f"t{i}"], names[f"n{i}"], names[f"e{i}"] = kind, transcoding.name, text
            checks.append(f"type({a}) is t{i}")
            items.append(f"k{i}: {{'_type_': n{i}, '_data_': e{i}({a})}}")
    class_version = getattr(cls, "class_version", 1)
    if class_version > 1:
        names["version"] = class_version
        items.append("'class_version': version")
    values = "".join(f"a{i}, " for i in range(len(keys)))
    source = "\n".join([
        "def plan(fields):",
        "    if tuple(fields) != KEYS:",
        "        return None",
        f"    ({values}) = fields.values()",
        f"    if not ({' and '.join(checks) or 'True'}):",
        "        return None",
        "    try:",
        f"        return dumps({{{', '.join(items)}}}"
        + (", default=default, option=option)" if nested else ")"),
        "    except JSONEncodeError:",
        "        return None",
        ""])
    exec(compile(source, f"<encoding of {cls.__qualname__}>", "exec"), names)  # noqa: S102
    return names["plan"]  # type: ignore[no-any-return]


def _whole_minutes(moment: datetime) -> bool:
    """Whether orjson writes ``moment`` as ``isoformat`` does: naive, or its offset from UTC
    whole minutes (orjson rounds a local mean time's seconds away)."""
    offset = moment.utcoffset()
    return offset is None or not (offset.seconds % 60 or offset.microseconds)


class LedgerMapper(Mapper[str]):
    """The library's mapper, turning an event into a stored event in one pass over its
    fields (a bulk write maps thousands of events per save): the same state, in the same
    order, through the same transcoder, compressor and cipher.

    An event is encoded by its class's plan for its kinds of values (:func:`make_plan`,
    made the first time they are seen), which gives the bytes of :meth:`encoded_state`,
    the general path, and leaves it what it does not fit."""

    def __init__(self, transcoder: Transcoder, compressor: Compressor | None = None,
                 cipher: Cipher | None = None) -> None:
        super().__init__(transcoder, compressor, cipher)
        # Each class's plans, and the kinds of fields it has been seen with.
        self._plans: dict[type, list[Plan]] = {}
        self._seen: dict[type, set[tuple[Any, ...]]] = {}

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = domain_event.__class__
        fields = vars(domain_event)
        for plan in self._plans.get(cls, ()):
            data = plan(fields)
            if data is not None:
                break
        else:
            data = self._planned(cls, fields)
            if data is None:
                data = self.encoded_state(domain_event)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(domain_event.originator_id, domain_event.originator_version,
                           get_topic(cls), data)

    def _planned(self, cls: type, fields: dict[str, Any]) -> bytes | None:
        """The event's state by a new plan for its class and kinds of values (None where
        there is none: another transcoder, values no plan writes, or kinds already seen)."""
        if type(self.transcoder) not in (FastJSONTranscoder, JSONTranscoder):
            return None
        kinds = (tuple(fields), tuple(map(type, fields.values())))
        seen = self._seen.setdefault(cls, set())
        if kinds in seen or len(seen) >= _PLANS_PER_CLASS:
            return None
        seen.add(kinds)
        plan = make_plan(cls, self.transcoder, fields)
        if plan is None:
            return None
        self._plans.setdefault(cls, []).append(plan)
        return plan(fields)

    def encoded_state(self, domain_event: Any) -> bytes:
        """The event's state as the transcoder encodes it (before compression and
        encryption): every field but the originator's id and version, in their order;
        ``entered_by`` left out when None; the class's version when above 1."""
        cls = domain_event.__class__
        state = {k: v for k, v in vars(domain_event).items() if k not in _NOT_STATE}
        if state.get("entered_by", "") is None:
            # Entered by the actor: stored as before proxy entries existed (the event reads
            # back with the field's default, None).
            del state["entered_by"]
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return self.transcoder.encode(state)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """The library's mapping back, a stored event it cannot read (its topic, state or
        fields changed in the database) refused in one line, never a traceback."""
        try:
            return super().to_domain_event(stored_event)
        except Exception as e:  # noqa: BLE001 - whatever was stored, the answer is the same
            raise Tampered("存储的事件 {event} 第 {version} 版无法读取（{error}）",
                           event=stored_event.originator_id,
                           version=stored_event.originator_version,
                           error=type(e).__name__) from None
