"""Audit integrity: the chain's head, and its verification.

Every stored event carries a SHA-256 link over the previous event's hash and this event
(``ledger/chain.py``), written by the recorders in the event's own transaction. Here:

- :func:`verify` recomputes the chain from the first event, streaming, and names the first
  broken position and what is wrong with it (changed, missing, inserted, out of order);
- :func:`head` is the head a publication (a ranking, a bulletin) quotes;
- :func:`recorded_checkpoints` are the heads the ledger recorded of itself, which
  :func:`verify` compares as it passes them.

Checkpoints are recorded and signed in ``ledger/audit_checkpoints.py``; a ledger is moved
to another store, hashes and all, by ``ledger/audit_transfer.py``.

What a chain kept in the store cannot show by itself: a tail cut off after the last event
(the rest still verifies), or a rewrite that recomputes every hash after the change. Both
show against a checkpoint kept outside the store (``verify --since``); a rewrite before a
checkpoint recorded in the ledger also shows against that checkpoint's quoted hash; a tail
cut, against the head any account saw before it (its witness, ``ledger.witness``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent

import i18n
from domain.audit import AuditLog, Checkpoint
from domain.base import DomainError, Said
from ledger.app import Ledger
from ledger.chain import GENESIS, ChainBroken, Record, fits, odd_detail

FORMAT_VERSION = 1


class AuditError(DomainError):
    """An audit command that cannot go on: a bad file, key, statement or store."""


class Head(NamedTuple):
    """A position in the ledger and the chain's hash there."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


def head(ledger: Ledger) -> Head:
    """The ledger's head now: what a published ranking or bulletin quotes as the state of
    the ledger it was computed from (0 and the genesis hash for an empty ledger)."""
    return Head(*ledger.head())


def head_at(ledger: Ledger, position: int) -> Head:
    """The chain's hash at ``position`` (for a figure computed as of that position)."""
    if position == 0:
        return Head(0, GENESIS)
    record = record_at(ledger, position)
    if record is None:
        raise AuditError("位置 {position} 不在账本中（链头为 {head}）", position=position,
                         head=ledger.max_position())
    return Head(position, record.hash)


# --- verification ------------------------------------------------------------------------

class Quote(NamedTuple):
    """A checkpoint recorded in the ledger: its number, the head it quotes, and the
    position of its own event."""

    number: int
    position: int
    hash: str
    recorded_in: int


# What a head verified against is, when nothing else says (a checkpoint given by --since).
CHECKPOINT = Said("所给检查点")


@dataclass
class Verification:
    """What :func:`verify` found: the verified prefix, and the first break if any."""

    events: int  # events verified, from position 1
    head: Head  # the last verified position and its hash
    broken: ChainBroken | None = None
    checkpoints_matched: int = 0  # checkpoints recorded in the ledger that were compared
    last_checkpoint: Quote | None = None
    since: Head | None = None
    since_what: Said = CHECKPOINT  # what ``since`` is: a checkpoint, a witness (words)

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ok": self.ok, "events": self.events,
            "head": {"position": self.head.position, "hash": self.head.hash},
            "checkpoints_matched": self.checkpoints_matched,
            "last_checkpoint": None if self.last_checkpoint is None else {
                "number": self.last_checkpoint.number,
                "position": self.last_checkpoint.position,
                "hash": self.last_checkpoint.hash,
                "recorded_in": self.last_checkpoint.recorded_in},
            "since": None if self.since is None else {
                "position": self.since.position, "hash": self.since.hash,
                "what": i18n.refusal(self.since_what, i18n.translation("en").gettext)},
            "broken": None,
        }
        if self.broken is not None:
            result["broken"] = {"position": self.broken.position, "kind": self.broken.kind,
                                "detail": self.broken.detail}
        return result


def verify(ledger: Ledger, since: Head | None = None,
           progress: Callable[[int], None] | None = None,
           since_what: Said = CHECKPOINT) -> Verification:
    """Recompute the chain from the first event to the head, in constant memory.

    Every checkpoint recorded in the ledger is compared as its position passes; ``since``
    (a checkpoint kept elsewhere) must be extended unchanged. ``progress`` is called with
    the number of events verified since its last call; ``since_what`` says in the findings
    what ``since`` is (a checkpoint; a witness: a head someone saw)."""
    quotes = _recorded_quotes(ledger)
    quoted_positions = {quote.position for quote in quotes.values()}
    seen: dict[int, str] = {}  # the chain's hash at each quoted position (a few)
    result = Verification(events=0, head=Head(0, GENESIS), since=since, since_what=since_what,
                          last_checkpoint=max(quotes.values(), default=None))
    if since is not None and since.position == 0 and since.hash != GENESIS:
        result.broken = ChainBroken(0, "changed", Said("位置 0 的{what}必须引用创世哈希",
                                                       what=since_what))
        return result
    previous = before_previous = GENESIS
    expected = 1
    for record in ledger.records():
        if record.position != expected or not fits(record, expected, previous):
            result.broken = _diagnose(ledger, expected, previous, before_previous)
            return result
        before_previous, previous = previous, record.hash
        result.events, result.head = expected, Head(expected, previous)
        if expected in quoted_positions:
            seen[expected] = previous
        quote = quotes.get(expected)
        if quote is not None:
            # Compared only once the checkpoint's own event has verified: its quote is
            # then the one it was recorded with.
            if seen.get(quote.position) != quote.hash:
                result.broken = ChainBroken(quote.position, "changed", Said(
                    "检查点 {number}（记录于位置 {recorded}）在此引用的哈希为 {quoted}…，"
                    "但哈希链现在给出 {now}…：此前的事件被改写，哈希被重新计算",
                    number=quote.number, recorded=expected, quoted=quote.hash[:16],
                    now=seen.get(quote.position, "")[:16]))
                return result
            result.checkpoints_matched += 1
        if since is not None and expected == since.position and previous != since.hash:
            result.broken = ChainBroken(expected, "changed", Said(
                "账本没有接续{what} {position}:{hash}…：此处的哈希为 {here}…"
                "（此前的事件被改动或替换）",
                what=since_what, position=since.position, hash=since.hash[:16],
                here=previous[:16]))
            return result
        if progress is not None and expected % 1000 == 0:
            progress(1000)
        expected += 1
    if progress is not None:
        progress(result.events % 1000)
    if since is not None and result.events < since.position:
        result.broken = ChainBroken(result.events + 1, "missing", Said(
            "账本止于位置 {end}，早于{what}的位置 {position}：事件 {first}–{position} 已被删除",
            end=result.events, what=since_what, position=since.position,
            first=result.events + 1))
    return result


def _recorded_quotes(ledger: Ledger) -> dict[int, Quote]:
    """The ledger's own checkpoints, by the position of their events (a few per ledger)."""
    quotes: dict[int, Quote] = {}
    records = ledger.recorder.select_aggregate_records(AuditLog.ID)  # type: ignore[attr-defined]
    for record in records:
        try:
            event = ledger.mapper.to_domain_event(StoredEvent(
                record.originator_id, record.originator_version, record.topic, record.state))
        except Exception:  # noqa: BLE001, S112 - a tampered event may not even decode; the
            continue  # chain pass names it, which is the report that matters
        if isinstance(event, AuditLog.CheckpointRecorded):
            quotes[record.position] = Quote(len(quotes) + 1, event.position, event.hash,
                                            record.position)
    return quotes


def record_at(ledger: Ledger, position: int) -> Record | None:
    rows = ledger.recorder.select_records(position - 1, 1, position)  # type: ignore[attr-defined]
    return rows[0] if rows else None


def _diagnose(ledger: Ledger, position: int, previous: str,
              before_previous: str) -> ChainBroken:
    """Why the chain breaks at ``position``, whose predecessor's verified hash is
    ``previous`` (and the one before that ``before_previous``).

    Each stored hash binds an event to its position and to the hash before it, so the rows
    around the break tell what happened to them; only the first break is examined."""
    found = ledger.recorder.select_records(position - 1, 1)  # type: ignore[attr-defined]
    row = found[0]
    if row.position > position:
        span = str(position) if row.position == position + 1 else \
            f"{position}–{row.position - 1}"
        return ChainBroken(position, "missing",
                           Said("位置 {span} 没有存储事件（已被删除）", span=span))
    odd = odd_detail(row)
    if odd is not None:
        return ChainBroken(position, "changed", Said("存储的事件有误：{odd}", odd=odd))
    if position > 1 and fits(row, position - 1, before_previous):
        return ChainBroken(position - 1, "inserted", Said(
            "位置 {position} 的事件不属于哈希链：原记录于此的事件现在位于 {now}，"
            "被插入的事件向后挤了一位", position=position - 1, now=position))
    following = record_at(ledger, position + 1)
    if following is not None and fits(following, position + 1, row.hash):
        return ChainBroken(position, "changed", Said("存储的事件与其哈希不符"))
    if following is not None and fits(following, position + 2, row.hash):
        return ChainBroken(position, "missing", Said(
            "记录于位置 {position} 的事件已被删除，其后的事件都向前移了一位",
            position=position))
    moved = next((r for r in ledger.records(after=position) if fits(r, position, previous)),
                 None)
    if moved is not None:
        before_moved = moved.hash if moved.position == position + 1 else \
            record_at(ledger, moved.position - 1).hash  # type: ignore[union-attr]
        if fits(row, moved.position, before_moved):
            return ChainBroken(position, "out of order", Said(
                "记录于位置 {position} 和 {other} 的事件互换了位置",
                position=position, other=moved.position))
        if moved.position == position + 1:
            return ChainBroken(position, "inserted", Said(
                "位置 {position} 的事件不属于哈希链：原记录于此的事件现在位于 {now}，"
                "被插入的这一个向后挤了一位", position=position, now=position + 1))
        return ChainBroken(position, "out of order", Said(
            "记录于位置 {position} 的事件被存放在 {other}", position=position,
            other=moved.position))
    return ChainBroken(position, "changed", Said(
        "存储的事件不接续位置 {previous}（事件或其哈希被改动）", previous=position - 1))



def recorded_checkpoints(ledger: Ledger) -> list[Checkpoint]:
    """The checkpoints recorded in the ledger, oldest first."""
    try:
        log = ledger.repository.get(AuditLog.ID)
    except AggregateNotFoundError:
        return []
    return list(log.checkpoints)

