"""The audit chain: each stored event's hash covers the previous hash and this event.

The encoding is fixed here, once, so that the recorders that write the chain and the
auditors' verification compute exactly the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import NamedTuple

GENESIS = "0" * 64


class Record(NamedTuple):
    """One stored event as the ledger holds it: position, event, and the store's stamp."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    recorded_at: str
    account: str
    hash: str


def canonical(position: int, originator_id: str, originator_version: int, topic: str,
              state: bytes, recorded_at: str, account: str) -> bytes:
    """The canonical bytes of one stored event (the state enters by its SHA-256)."""
    return json.dumps(
        [position, originator_id, originator_version, topic,
         hashlib.sha256(state).hexdigest(), recorded_at, account],
        ensure_ascii=False, separators=(",", ":"),
    ).encode("utf-8")


def link(previous: str, position: int, originator_id: str, originator_version: int,
         topic: str, state: bytes, recorded_at: str, account: str) -> str:
    """The hash of one event, chained to the previous event's hash."""
    return hashlib.sha256(
        previous.encode("ascii") + b"\n"
        + canonical(position, originator_id, originator_version, topic, state,
                    recorded_at, account)
    ).hexdigest()


def stamp(moment: datetime) -> str:
    """Transaction time as stored: UTC, microseconds, so that text order is time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
