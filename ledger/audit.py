"""Audit integrity: verify the chain, record and sign checkpoints, export and import.

Every stored event carries a SHA-256 link over the previous event's hash and this event
(``ledger/chain.py``), written by the recorders in the event's own transaction. Here:

- :func:`verify` recomputes the chain from the first event, streaming, and names the first
  broken position and what is wrong with it (changed, missing, inserted, out of order);
- :func:`record_checkpoint` records the verified head as an event of the audit log (itself
  chained), optionally signed with an auditor's Ed25519 key, as a statement anyone can check
  with the public key alone (:func:`check_signature`);
- :func:`head` is the head a publication (a ranking, a bulletin) quotes;
- :func:`export` and :func:`import_ledger` move a ledger, hashes and all, to another store.

What a chain kept in the store cannot show by itself: a tail cut off after the last event
(the rest still verifies), or a rewrite that recomputes every hash after the change. Both
show against a checkpoint kept outside the store (``verify --since``); a rewrite before a
checkpoint recorded in the ledger also shows against that checkpoint's quoted hash; a tail
cut, against the head any account saw before it (its witness, ``ledger.witness``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import StoredEvent

from domain.audit import HASH_PATTERN, AuditLog, Checkpoint
from domain.base import DomainError
from ledger.app import Ledger
from ledger.chain import GENESIS, ChainBroken, Record, fits, odd_detail
from ledger.unit_of_work import UnitOfWork

if TYPE_CHECKING:  # signatures load cryptography when a key is used, not for every audit
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                                   Ed25519PublicKey)

STATEMENT = "taizhang checkpoint"
EXPORT_FORMAT = "taizhang audit export"
FORMAT_VERSION = 1
SINCE_PATTERN = re.compile(r"^(\d+):([0-9a-f]{64})$")


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
    record = _at(ledger, position)
    if record is None:
        raise AuditError(f"position {position} is not in the ledger "
                         f"(its head is {ledger.max_position()})")
    return Head(position, record.hash)


# --- verification ------------------------------------------------------------------------

class Quote(NamedTuple):
    """A checkpoint recorded in the ledger: its number, the head it quotes, and the
    position of its own event."""

    number: int
    position: int
    hash: str
    recorded_in: int


@dataclass
class Verification:
    """What :func:`verify` found: the verified prefix, and the first break if any."""

    events: int  # events verified, from position 1
    head: Head  # the last verified position and its hash
    broken: ChainBroken | None = None
    checkpoints_matched: int = 0  # checkpoints recorded in the ledger that were compared
    last_checkpoint: Quote | None = None
    since: Head | None = None
    since_what: str = "checkpoint"  # what ``since`` is: a checkpoint, a witness

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
                "what": self.since_what},
            "broken": None,
        }
        if self.broken is not None:
            result["broken"] = {"position": self.broken.position, "kind": self.broken.kind,
                                "detail": self.broken.detail}
        return result


def verify(ledger: Ledger, since: Head | None = None,
           progress: Callable[[int], None] | None = None,
           since_what: str = "checkpoint") -> Verification:
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
        result.broken = ChainBroken(0, "changed", f"a {since_what} at position 0 must quote "
                                    "the genesis hash")
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
                result.broken = ChainBroken(
                    quote.position, "changed",
                    f"checkpoint {quote.number} (recorded at position {expected}) quotes "
                    f"hash {quote.hash[:16]}… here, but the chain now gives "
                    f"{seen.get(quote.position, '')[:16]}…: the events up to here were "
                    "rewritten and their hashes recomputed")
                return result
            result.checkpoints_matched += 1
        if since is not None and expected == since.position and previous != since.hash:
            result.broken = ChainBroken(
                expected, "changed",
                f"the ledger does not extend {since_what} {since.position}:{since.hash[:16]}…: "
                f"its hash here is {previous[:16]}… (events up to here were changed or "
                "replaced)")
            return result
        if progress is not None and expected % 1000 == 0:
            progress(1000)
        expected += 1
    if progress is not None:
        progress(result.events % 1000)
    if since is not None and result.events < since.position:
        result.broken = ChainBroken(
            result.events + 1, "missing",
            f"the ledger ends at position {result.events}, before {since_what} position "
            f"{since.position}: events {result.events + 1}–{since.position} were removed")
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


def _at(ledger: Ledger, position: int) -> Record | None:
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
                           f"no event is stored at position {span} (removed)")
    odd = odd_detail(row)
    if odd is not None:
        return ChainBroken(position, "changed", f"the stored event {odd}")
    if position > 1 and fits(row, position - 1, before_previous):
        return ChainBroken(position - 1, "inserted",
                           f"the event at position {position - 1} is not part of the "
                           f"chain: the event recorded there is now at {position}, moved "
                           "up by an inserted event")
    following = _at(ledger, position + 1)
    if following is not None and fits(following, position + 1, row.hash):
        return ChainBroken(position, "changed",
                           "the stored event does not match its hash")
    if following is not None and fits(following, position + 2, row.hash):
        return ChainBroken(position, "missing",
                           f"the event recorded at position {position} was removed and "
                           "the events after it moved down by one")
    moved = next((r for r in ledger.records(after=position) if fits(r, position, previous)),
                 None)
    if moved is not None:
        before_moved = moved.hash if moved.position == position + 1 else \
            _at(ledger, moved.position - 1).hash  # type: ignore[union-attr]
        if fits(row, moved.position, before_moved):
            return ChainBroken(position, "out of order",
                               f"the events recorded at positions {position} and "
                               f"{moved.position} have changed places")
        if moved.position == position + 1:
            return ChainBroken(position, "inserted",
                               f"the event at position {position} is not part of the "
                               f"chain: the event recorded there is now at {position + 1}, "
                               "moved up by the inserted one")
        return ChainBroken(position, "out of order",
                           f"the event recorded at position {position} is stored at "
                           f"{moved.position}")
    return ChainBroken(position, "changed",
                       f"the stored event does not follow from position {position - 1} "
                       "(the event or its hash was changed)")


# --- checkpoints -------------------------------------------------------------------------

def recorded_checkpoints(ledger: Ledger) -> list[Checkpoint]:
    """The checkpoints recorded in the ledger, oldest first."""
    try:
        log = ledger.repository.get(AuditLog.ID)
    except AggregateNotFoundError:
        return []
    return list(log.checkpoints)


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
        raise AuditError(f"cannot checkpoint a broken chain: {verification.broken}")
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
    record = _at(ledger, position)
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
            raise AuditError(f"key file {str(target)!r} already exists; not overwritten")
    if not path.parent.is_dir():
        raise AuditError(f"folder {str(path.parent)!r} of the key file does not exist")
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
        raise AuditError(f"key file {str(path)!r}: {e.strerror}") from None
    except (ValueError, TypeError):
        raise AuditError(f"key file {str(path)!r} is not an unencrypted PEM private key") \
            from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"key file {str(path)!r} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as e:
        raise AuditError(f"public key file {str(path)!r}: {e.strerror}") from None
    except ValueError:
        raise AuditError(f"public key file {str(path)!r} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError(f"public key file {str(path)!r} is not an Ed25519 public key")
    return key


def load_statement(path: Path) -> dict[str, Any]:
    """A checkpoint statement from a file, its fields checked."""
    return load_head_file(path, "statement file", ("statement", STATEMENT),
                          "a taizhang checkpoint")


def load_head_file(path: Path, what: str, kind: tuple[str, str],
                   described: str) -> dict[str, Any]:
    """A small JSON file quoting a head (a checkpoint statement, a witness): read, of the
    ``kind`` (field, value) expected, with a valid position and hash."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise AuditError(f"{what} {str(path)!r}: {e.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise AuditError(f"{what} {str(path)!r} is not JSON") from None
    if not isinstance(data, dict) or data.get(kind[0]) != kind[1]:
        raise AuditError(f"{what} {str(path)!r} is not {described}")
    position, hash_ = data.get("position"), data.get("hash")
    if not isinstance(position, int) or isinstance(position, bool) or position < 0 \
            or not isinstance(hash_, str) or not HASH_PATTERN.match(hash_):
        raise AuditError(f"{what} {str(path)!r} has no valid position and hash")
    return data


def check_signature(statement: dict[str, Any], public_key: Ed25519PublicKey) -> str:
    """Check a statement's signature with the public key alone; return the key's id."""
    from cryptography.exceptions import InvalidSignature

    signature = statement.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != "Ed25519":
        raise AuditError("the checkpoint statement is not signed (no Ed25519 signature)")
    key_id = key_fingerprint(public_key)
    try:
        public_key.verify(base64.b64decode(str(signature.get("value", "")), validate=True),
                          signed_bytes(statement))
    except (InvalidSignature, ValueError):
        raise AuditError(f"BAD SIGNATURE: checkpoint {statement.get('position')}:"
                         f"{str(statement.get('hash'))[:16]}… was not signed by key "
                         f"{key_id}, or was changed after signing") from None
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
        raise AuditError("--public-key needs --since to name a signed statement file")
    match = SINCE_PATTERN.match(text.strip())
    if not match:
        raise AuditError(f"--since must be a checkpoint statement file or POSITION:HASH "
                         f"(64 hex digits), got {text!r}")
    return Head(int(match.group(1)), match.group(2))


# --- export and import -------------------------------------------------------------------

def export(ledger: Ledger, out: IO[str]) -> Head:
    """Write the ledger as JSON lines: a header quoting the head, then every stored event
    with its transaction time, account and hash. Streams; returns the head written."""
    position, hash_ = ledger.head()
    out.write(json.dumps({"format": EXPORT_FORMAT, "version": FORMAT_VERSION,
                          "head": {"position": position, "hash": hash_}}) + "\n")
    for record in ledger.records(upto=position):
        odd = odd_detail(record)
        if odd is not None:
            raise AuditError(f"position {record.position}: the stored event {odd}; run "
                             "`taizhang audit verify`")
        out.write(json.dumps(_record_line(record), ensure_ascii=False) + "\n")
    return Head(position, hash_)


def _record_line(record: Record) -> dict[str, Any]:
    line: dict[str, Any] = {"position": record.position,
                            "originator_id": record.originator_id,
                            "originator_version": record.originator_version,
                            "topic": record.topic}
    try:
        line["state"] = record.state.decode("utf-8")
    except UnicodeDecodeError:
        line["state_b64"] = base64.b64encode(record.state).decode("ascii")
    line.update(recorded_at=record.recorded_at, account=record.account, hash=record.hash)
    return line


def import_ledger(ledger: Ledger, lines: Iterable[str]) -> Head:
    """Restore an export into an empty store: every event verbatim, each checked to be the
    next link of the chain as it goes, all in one transaction. A broken file is refused,
    naming its line, and nothing is written."""
    held = ledger.max_position()
    if held:
        raise AuditError(f"the store already holds {held} events; import needs an empty "
                         "store")
    numbered = enumerate(lines, 1)
    header = _header(next(numbered, (1, "")))
    line_no = 1

    def records() -> Iterator[Record]:
        nonlocal line_no
        last = Head(0, GENESIS)
        for line_no, text in numbered:
            record = _parse_record(line_no, text)
            last = Head(record.position, record.hash)
            yield record
        if last != header:
            raise AuditError(f"line {line_no}: the file ends at position {last.position}, "
                             f"but its header gives the head as {header.position}:"
                             f"{header.hash[:16]}… (lines are missing)")

    try:
        return Head(*ledger.recorder.insert_records(records()))  # type: ignore[attr-defined]
    except ChainBroken as e:
        raise AuditError(f"line {line_no}: position {e.position}: {e.kind}: {e.detail}") \
            from None


def _header(numbered_line: tuple[int, str]) -> Head:
    _, text = numbered_line
    try:
        header = json.loads(text)
        if header["format"] != EXPORT_FORMAT or header["version"] != FORMAT_VERSION:
            raise ValueError
        position, hash_ = header["head"]["position"], header["head"]["hash"]
        if not isinstance(position, int) or not HASH_PATTERN.match(hash_):
            raise ValueError
    except (ValueError, TypeError, KeyError):
        raise AuditError(f"line 1: not a {EXPORT_FORMAT} (version {FORMAT_VERSION}) "
                         "header") from None
    return Head(position, hash_)


def _parse_record(line_no: int, text: str) -> Record:
    try:
        line = json.loads(text)
        if "state_b64" in line:
            state = base64.b64decode(line["state_b64"], validate=True)
        else:
            state = line["state"].encode("utf-8")
        record = Record(line["position"], line["originator_id"], line["originator_version"],
                        line["topic"], state, line["recorded_at"], line["account"],
                        line["hash"])
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise AuditError(f"line {line_no}: not an exported event ({type(e).__name__}: "
                         f"{e})") from None
    types = (int, str, int, str, bytes, str, str, str)
    if not all(isinstance(value, kind) and not isinstance(value, bool)
               for value, kind in zip(record, types, strict=True)):
        raise AuditError(f"line {line_no}: an exported event's fields have the wrong types")
    return record
