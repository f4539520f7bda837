"""Checkpoints: the verified head recorded as an event of the audit log (itself chained),
optionally signed with an auditor's Ed25519 key, as a statement anyone can check with the
public key alone (:func:`check_signature`); and the files that quote a head (statements,
witnesses) read back."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError

from domain.audit import HASH_PATTERN, AuditLog, Checkpoint
from domain.base import Label
from i18n import N_
from ledger.app import Ledger
from ledger.audit import FORMAT_VERSION, AuditError, Head, record_at, verify
from ledger.unit_of_work import UnitOfWork

if TYPE_CHECKING:  # signatures load cryptography when a key is used, not for every audit
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                                   Ed25519PublicKey)

STATEMENT = "taizhang checkpoint"
SINCE_PATTERN = re.compile(r"^(\d+):([0-9a-f]{64})$")


def statement_of(checkpoint: Checkpoint) -> dict[str, Any]:
    """The published form of a checkpoint: small JSON an outside auditor can check."""
    statement: dict[str, Any] = {
        "statement": STATEMENT, "version": FORMAT_VERSION, "ledger": checkpoint.ledger,
        "checkpoint": checkpoint.number, "position": checkpoint.position,
        "hash": checkpoint.hash, "recorded_at": checkpoint.recorded_at,
        "by": checkpoint.by, "at": checkpoint.at.isoformat(),
    }
    if checkpoint.signature:
        statement["signature"] = {"algorithm": "Ed25519", "key_id": checkpoint.key_id,
                                  "value": checkpoint.signature}
    return statement


def signed_bytes(statement: dict[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers: the statement without its signature, as
    JSON with sorted keys, no spaces, UTF-8."""
    unsigned = {k: v for k, v in statement.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def record_checkpoint(ledger: Ledger, *, actor_id: str | None, note: str = "",
                      key: Ed25519PrivateKey | None = None,
                      progress: Callable[[int], None] | None = None
                      ) -> tuple[Checkpoint, dict[str, Any]]:
    """Verify the chain, then record its head as a checkpoint (signed with ``key`` if
    given). Returns the checkpoint and its statement. A broken chain is refused."""
    actor = ledger.actor(actor_id)
    name = ledger.campaign().name
    verification = verify(ledger, progress=progress)
    if verification.broken is not None:
        raise AuditError("哈希链已断开，不能记录检查点：{broken}", broken=verification.broken)
    at = verification.head
    recorded_at = head_record_time(ledger, at.position)

    def checkpoint_head(work: UnitOfWork) -> tuple[Checkpoint, dict[str, Any]]:
        try:
            log = ledger.repository.get(AuditLog.ID)
        except AggregateNotFoundError:
            log = AuditLog.open(actor=actor, occurred_at=ledger.clock())
        moment = ledger.clock()
        key_id = signature = ""
        if key is not None:
            key_id = key_fingerprint(key.public_key())
            draft = Checkpoint(number=len(log.checkpoints) + 1, ledger=name,
                               position=at.position, hash=at.hash, recorded_at=recorded_at,
                               by=actor.id, at=moment, note=note, key_id=key_id, signature="")
            signature = base64.b64encode(key.sign(signed_bytes(statement_of(draft)))
                                         ).decode("ascii")
        checkpoint = log.record_checkpoint(
            ledger=name, position=at.position, hash=at.hash, recorded_at=recorded_at,
            note=note, key_id=key_id, signature=signature, actor=actor, occurred_at=moment)
        work.save(log)
        return checkpoint, statement_of(checkpoint)

    return ledger.write(checkpoint_head)


def head_record_time(ledger: Ledger, position: int) -> str:
    record = record_at(ledger, position)
    return record.recorded_at if record is not None else ""


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key(path: Path) -> tuple[Path, str]:
    """Write a new Ed25519 private key to ``path`` (readable by its owner only) and its
    public key beside it (``path`` + ``.pub``). Returns the public key's path and id."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public_path = path.with_name(path.name + ".pub")
    for target in (path, public_path):
        if target.exists():
            raise AuditError("密钥文件 {file!r} 已存在，未覆盖", file=str(target))
    if not path.parent.is_dir():
        raise AuditError("密钥文件所在的文件夹 {folder!r} 不存在", folder=str(path.parent))
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return public_path, key_fingerprint(key.public_key())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as e:
        raise AuditError("密钥文件 {file!r}：{why}", file=str(path), why=e.strerror) from None
    except (ValueError, TypeError):
        raise AuditError("密钥文件 {file!r} 不是未加密的 PEM 私钥", file=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError("密钥文件 {file!r} 不是 Ed25519 私钥", file=str(path))
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as e:
        raise AuditError("公钥文件 {file!r}：{why}", file=str(path), why=e.strerror) from None
    except ValueError:
        raise AuditError("公钥文件 {file!r} 不是 PEM 公钥", file=str(path)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError("公钥文件 {file!r} 不是 Ed25519 公钥", file=str(path))
    return key


def load_statement(path: Path) -> dict[str, Any]:
    """A checkpoint statement from a file, its fields checked."""
    return load_head_file(path, N_("声明文件"), ("statement", STATEMENT),
                          N_("taizhang 检查点声明"))


def load_head_file(path: Path, what: str, kind: tuple[str, str],
                   described: str) -> dict[str, Any]:
    """A small JSON file quoting a head (a checkpoint statement, a witness): read, of the
    ``kind`` (field, value) expected, with a valid position and hash. ``what`` the file is
    and what it is ``described`` as are words of the catalogue (``N_``)."""
    what = Label(what)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise AuditError("{what} {file!r}：{why}", what=what, file=str(path),
                         why=e.strerror) from None
    except (ValueError, UnicodeDecodeError):
        raise AuditError("{what} {file!r} 不是 JSON", what=what, file=str(path)) from None
    if not isinstance(data, dict) or data.get(kind[0]) != kind[1]:
        raise AuditError("{what} {file!r} 不是{described}", what=what, file=str(path),
                         described=Label(described))
    position, hash_ = data.get("position"), data.get("hash")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0 \
            or not isinstance(hash_, str) or not HASH_PATTERN.match(hash_):
        raise AuditError("{what} {file!r} 没有有效的位置和哈希", what=what, file=str(path))
    return data


def check_signature(statement: dict[str, Any], public_key: Ed25519PublicKey) -> str:
    """Check a statement's signature with the public key alone; return the key's id."""
    from cryptography.exceptions import InvalidSignature

    signature = statement.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        raise AuditError("该检查点声明未签名（没有 Ed25519 签名）")
    key_id = key_fingerprint(public_key)
    try:
        public_key.verify(base64.b64decode(str(signature.get("value", "")), validate=True),
                          signed_bytes(statement))
    except (InvalidSignature, ValueError):
        raise AuditError("签名无效：检查点 {position}:{hash}… 不是由密钥 {key} 签名的，"
                         "或签名后被改动过", position=statement.get("position"),
                         hash=str(statement.get("hash"))[:16], key=key_id) from None
    return key_id


def parse_since(text: str, public_key: Ed25519PublicKey | None = None) -> Head:
    """A checkpoint given as a statement file (its signature checked when a public key is
    given) or as ``POSITION:HASH``."""
    path = Path(text)
    if path.is_file():
        statement = load_statement(path)
        if public_key is not None:
            check_signature(statement, public_key)
        return Head(statement["position"], statement["hash"])
    if public_key is not None:
        raise AuditError("--public-key 需要 --since 给出一个已签名的声明文件")
    match = SINCE_PATTERN.match(text.strip())
    if not match:
        raise AuditError("--since 必须是检查点声明文件或 POSITION:HASH（64 位十六进制），"
                         "而不是 {value!r}", value=text)
    return Head(int(match.group(1)), match.group(2))

