"""Every client is a witness: the highest position and hash each OS account has seen of
each store, kept in a small file of its own, so that a ledger that went back (a tail cut
off, events rewritten) is caught by anyone who looked at it before — without a checkpoint
kept outside, as Certificate Transparency clients keep the tree heads they saw.

The files live in ``$XDG_STATE_HOME/taizhang/`` (``~/.local/state/taizhang/`` by default),
one per store identity (the random id a store is made with, ``ledger.guards``) and
account: a restore into a new store is another store, with witnesses of its own.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domain.audit import HASH_PATTERN
from ledger.app import Ledger
from ledger.audit import AuditError
from ledger.audit_checkpoints import load_head_file
from ledger.chain import Tampered, odd_detail
from ledger.recorders import os_account
from i18n import N_

FORMAT = "taizhang witness"
VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


def state_dir() -> Path:
    """Where this account keeps what it has seen: ``$XDG_STATE_HOME/taizhang``."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else \
        Path.home() / ".local" / "state"
    return root / "taizhang"


@dataclass(frozen=True)
class Seen:
    """The head of one store as one account last saw it."""

    store: str  # the store's identity
    location: str  # the store as described when it was seen (for people reading the file)
    account: str
    position: int
    hash: str
    at: str  # when it was seen (UTC)

    def as_dict(self) -> dict[str, Any]:
        return {"witness": FORMAT, "version": VERSION, **asdict(self)}


def path_for(identity: str, account: str | None = None) -> Path:
    """This account's witness file for a store."""
    who = _UNSAFE.sub("_", account or os_account())
    return state_dir() / f"{identity}.{who}.json"


def load(path: Path) -> Seen:
    """A witness file, its fields checked."""
    data = load_head_file(path, N_("见证文件"), ("witness", FORMAT), N_("taizhang 见证"))
    fields = {k: data.get(k) for k in Seen.__dataclass_fields__}
    if not all(isinstance(v, int if k == "position" else str) for k, v in fields.items()):
        raise AuditError("见证文件 {file!r} 缺少见证应有的内容", file=str(path))
    return Seen(**fields)  # type: ignore[arg-type]


def went_back(ledger: Ledger, seen: Seen, path: Path) -> Tampered | None:
    """Whether the ledger still holds what was seen (the event at the position seen, with
    its hash): None if so, else the refusal to give."""
    if seen.position == 0:
        return None
    found = ledger.recorder.select_records(  # type: ignore[attr-defined]
        seen.position - 1, 1, seen.position)
    if found and found[0].hash == seen.hash:
        return None
    if not found:
        return Tampered("自本账户上次所见以来，账本从 {seen} 退回到了 {now}（见证 {path}）",
                        seen=seen.position, now=ledger.max_position(), path=str(path))
    odd = odd_detail(found[0])
    if odd:
        return Tampered("自本账户上次所见以来，账本从 {seen} 退回了：位置 {seen} 现在是另一个"
                        "事件（{odd}）（见证 {path}）", seen=seen.position, odd=odd,
                        path=str(path))
    return Tampered("自本账户上次所见以来，账本从 {seen} 退回了：位置 {seen} 现在是另一个事件"
                    "（哈希 {hash}…，所见为 {saw}…）（见证 {path}）", seen=seen.position,
                    hash=found[0].hash[:16], saw=seen.hash[:16], path=str(path))


def remember(ledger: Ledger, location: str, path: Path, seen: Seen | None) -> None:
    """Keep the ledger's head as this account's witness, if it is beyond what was seen.
    Written whole into place (another command of the account may write at once); a state
    folder that cannot be written keeps no witness rather than failing the command."""
    position, hash_ = ledger.head()
    if position <= (seen.position if seen else 0) or not HASH_PATTERN.match(hash_):
        return  # nothing new; or a head that is no hash (a changed ledger's), not kept
    identity = seen.store if seen else ledger.recorder.identity()  # type: ignore[attr-defined]
    head = Seen(store=identity, location=location, account=os_account(), position=position,
                hash=hash_, at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         prefix=".witness-", delete=False) as out:
            json.dump(head.as_dict(), out, ensure_ascii=False, indent=2)
        os.replace(out.name, path)
    except OSError:
        return
