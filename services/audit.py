"""Auditing the chain as an auditor asks for it: against which head the ledger must extend
(a checkpoint, a witness handed over, or this account's own witness), with the evidence
files checked too; and an export written whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.base import Refused, Said
from ledger import audit, audit_transfer, evidence

if TYPE_CHECKING:
    from ledger.witness import Seen
    from services.bootstrap import Services


@dataclass(frozen=True)
class Baseline:
    """The head the ledger must extend unchanged (none: it is verified from position 1
    alone), what it is in words of the catalogue (所给检查点 / checkpoint, sun 的见证 / the
    witness of sun, 本账户的见证 / this account's witness), and whether a witness gave it."""

    since: audit.Head | None
    what: Said = audit.CHECKPOINT
    witnessed: bool = False


def baseline(services: Services, *, since: audit.Head | None = None,
             handed: Seen | None = None, handed_from: str = "",
             own: Seen | None = None) -> Baseline:
    """A checkpoint ``since``; or a witness ``handed`` over (from the file
    ``handed_from``), which must be of this store; or else this account's own witness."""
    if handed is not None:
        identity = services.ledger.recorder.identity()  # type: ignore[attr-defined]
        if handed.store != identity:
            raise Refused("见证文件 {file!r} 属于账本库 {store}，不是这一个（{identity}）",
                          file=handed_from, store=handed.store, identity=identity)
        return Baseline(audit.Head(handed.position, handed.hash),
                        Said("{account} 的见证", account=handed.account), True)
    if since is None and own is not None:
        return Baseline(audit.Head(own.position, own.hash), Said("本账户的见证"), True)
    return Baseline(since)


@dataclass
class Verified:
    """The chain's verification, and with the evidence how many citations were checked
    and the problems found (a missing or altered file)."""

    result: audit.Verification
    evidence: tuple[int, list[dict[str, Any]]] | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok and not (self.evidence is not None and self.evidence[1])


def verify(services: Services, against: Baseline, *, with_evidence: bool = False,
           progress: Callable[[int], None] | None = None) -> Verified:
    """Recompute the chain from the first event (extending ``against``), and with
    ``with_evidence`` check every cited file is kept and unaltered."""
    ledger = services.ledger
    result = audit.verify(ledger, since=against.since, progress=progress,
                          since_what=against.what)
    checked = evidence.check(ledger, services.evidence) if with_evidence else None
    return Verified(result, checked)


@dataclass
class Exported:
    """An export's head, and with the evidence the files copied and those cited but not
    kept."""

    head: audit.Head
    folder: Path
    copied: int = 0
    missing: list[str] = field(default_factory=list)


def export(services: Services, file: Path, *, with_evidence: bool = False) -> Exported:
    """Every stored event to ``file`` (JSON lines), and with ``with_evidence`` every cited
    file to the folder beside it; written to a partial file first, so that an export that
    fails leaves nothing under the name asked for."""
    ledger = services.ledger
    folder = evidence.export_folder(file)
    partial = file.with_name(file.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            done = Exported(audit_transfer.export(ledger, out), folder)
        if with_evidence:
            done.copied, done.missing = evidence.copy_cited(
                ledger, services.evidence, evidence.FolderStore(folder))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(file)
    return done
