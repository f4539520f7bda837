"""How the ledger's events are stored: the mapper from an event to a stored event and back,
and the transcoder writing its state as JSON (the bytes the audit chain hashes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoding
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


class LedgerMapper(Mapper[str]):
    """The library's mapper, turning an event into a stored event in one pass over its
    fields (a bulk write maps thousands of events per save): the same state, in the same
    order, through the same transcoder, compressor and cipher."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = domain_event.__class__
        state = {k: v for k, v in vars(domain_event).items() if k not in _NOT_STATE}
        if state.get("entered_by", "") is None:
            # Entered by the actor: stored as before proxy entries existed (the event reads
            # back with the field's default, None).
            del state["entered_by"]
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(originator_id=domain_event.originator_id,
                           originator_version=domain_event.originator_version,
                           topic=get_topic(cls), state=data)

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
