"""The audit log: checkpoints of the ledger's head, recorded as events in the ledger itself.

A checkpoint says "at position P the chain's hash was H", by whom and when; optionally with
the signature of an auditor's key over the published statement. Being an event, each
checkpoint is itself chained: a later rewrite of the events it covers that recomputes their
hashes still disagrees with the hash the checkpoint quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from domain.base import Actor, LedgerAggregate, LedgerCreated, LedgerEvent, Refused
from domain.roles import authorize

HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Checkpoint:
    """One recorded checkpoint, numbered from 1 in the order recorded."""

    number: int
    ledger: str  # the campaign's name, as the statement gives it
    position: int
    hash: str
    recorded_at: str
    by: str
    at: datetime
    note: str
    key_id: str
    signature: str


class AuditLog(LedgerAggregate):
    """The ledger's checkpoints, in the order they were recorded."""

    ID = "audit"

    class Opened(LedgerCreated):
        def apply(self, log: AuditLog) -> None:
            log.checkpoints = []

    class CheckpointRecorded(LedgerEvent):
        ledger: str
        position: int
        hash: str
        recorded_at: str  # transaction time of the event at ``position``
        note: str
        key_id: str  # "" when unsigned
        signature: str  # base64 Ed25519 signature of the statement, "" when unsigned

        def apply(self, log: AuditLog) -> None:
            log.checkpoints.append(Checkpoint(
                number=len(log.checkpoints) + 1, ledger=self.ledger, position=self.position,
                hash=self.hash,
                recorded_at=self.recorded_at, by=self.actor, at=self.occurred_at,
                note=self.note, key_id=self.key_id, signature=self.signature))

    @classmethod
    def open(cls, *, actor: Actor, occurred_at: datetime) -> AuditLog:
        authorize(actor, "record_checkpoint")
        return cls._create(cls.Opened, id=cls.ID, occurred_at=occurred_at, **actor.stamp())

    def record_checkpoint(self, *, ledger: str, position: int, hash: str,  # noqa: A002
                          recorded_at: str, note: str, key_id: str, signature: str,
                          actor: Actor, occurred_at: datetime) -> Checkpoint:
        """Record that the chain's hash at ``position`` was ``hash`` (verified by the caller)."""
        authorize(actor, "record_checkpoint")
        if position < 1:
            raise Refused("检查点位置须为 1 或以上，收到 {position}", position=position)
        if not HASH_PATTERN.match(hash):
            raise Refused("检查点哈希须为 64 位十六进制数字，收到 {hash!r}", hash=hash)
        if self.checkpoints and position < self.checkpoints[-1].position:
            last = self.checkpoints[-1]
            raise Refused("检查点位置 {position} 早于第 {number} 个检查点的位置 {last}：台账丢失了事件",
                          position=position, number=last.number, last=last.position)
        if bool(key_id) != bool(signature):
            raise Refused("签名的检查点须同时有密钥编号和签名")
        self._stamp(self.CheckpointRecorded, actor, occurred_at, ledger=ledger,
                    position=position, hash=hash, recorded_at=recorded_at, note=note,
                    key_id=key_id, signature=signature)
        return self.checkpoints[-1]
