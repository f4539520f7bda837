"""The evidence store: the photos and documents that events cite, kept by their SHA-256.

An event records each evidence item's file name, SHA-256 and description; the file itself
is kept here, content-addressed by that hash, so the same photo cited twice is kept once and
a kept file can be checked against every event that cites it.

- SQLite: a folder beside the store file, ``ledger.db.evidence/ab/cdef…`` (the hash's first
  two hex digits, then the other 62), each file written once, read-only.
- PostgreSQL: a table ``evidence`` in the store's schema (hash, size, type, content).

Only photos and documents are kept: JPEG, PNG, HEIC and PDF, known by their first bytes
(the ``filetype`` library), never by the name; at most ``MAX_BYTES`` each.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filetype

from domain.base import Refused

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ledger.app import Ledger
    from ledger.store import Store

MAX_BYTES = 20 * 1024 * 1024  # 20 MiB: a phone photo is a few MiB, a scanned notice less
TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "HEIC",
         "application/pdf": "PDF"}
# The events whose ``evidence`` lists cite files.
CITING = ("Task.RectificationReported", "Task.ReinspectionPassed", "Task.ReinspectionFailed",
          "Task.EvidenceAttached")


@dataclass(frozen=True)
class EvidenceFile:
    """A file read and checked, ready to keep: its name as given, hash, size and type."""

    name: str
    sha256: str
    size: int
    content_type: str
    content: bytes


def content_type(content: bytes) -> str | None:
    """The MIME type the first bytes say, if it is one that is kept."""
    kind = filetype.guess(content[:8192])
    return kind.mime if kind is not None and kind.mime in TYPES else None


def read_evidence(path: Path, name: str | None = None) -> EvidenceFile:
    """Read ``path`` and check it may be kept: a JPEG, PNG, HEIC or PDF within the size
    limit; otherwise refused, naming the file."""
    name = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise Refused("证据文件 {name!r} 有 {size} 字节，超过了 {limit} 字节（{mib} MiB）的上限",
                          name=name, size=format(size, ","), limit=format(MAX_BYTES, ","),
                          mib=MAX_BYTES // 2**20)
        content = path.read_bytes()
    except OSError as e:
        raise Refused("证据文件 {name!r} 无法读取：{why}", name=name, why=e.strerror) from None
    kind = content_type(content)
    if kind is None:
        found = filetype.guess(content[:8192])
        kept = ", ".join(TYPES.values())
        if found:
            raise Refused("证据文件 {name!r} 是 {mime} 文件：只保存 {kept}", name=name,
                          mime=found.mime, kept=kept)
        raise Refused("证据文件 {name!r} 不是可识别的照片或文档：只保存 {kept}", name=name,
                      kept=kept)
    return EvidenceFile(name, hashlib.sha256(content).hexdigest(), len(content), kind,
                        content)


class EvidenceStore(ABC):
    """Where a store keeps its evidence files (see the module's doc)."""

    @abstractmethod
    def put(self, file: EvidenceFile) -> bool:
        """Keep the file; False if it was already kept."""

    @abstractmethod
    def get(self, sha256: str) -> bytes | None:
        """The kept file's content (None if it is not kept)."""

    @abstractmethod
    def kept(self) -> Iterator[str]:
        """The hashes of every file kept."""

    def stat(self, sha256: str) -> dict[str, Any] | None:
        """Size and type of a kept file (None if it is not kept)."""
        content = self.get(sha256)
        if content is None:
            return None
        return {"size": len(content), "type": TYPES.get(content_type(content) or "", "?")}

    def keep(self, files: Iterable[EvidenceFile]) -> int:
        """Keep the files; the number newly kept."""
        return sum(self.put(f) for f in files)


class FolderStore(EvidenceStore):
    """``FOLDER/ab/cdef…``: one read-only file per hash, written whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def put(self, file: EvidenceFile) -> bool:
        target = self.path(file.sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        with os.fdopen(fd, "wb") as out:
            out.write(file.content)
        os.chmod(temporary, 0o444)
        os.replace(temporary, target)
        return True

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def kept(self) -> Iterator[str]:
        if self.root.is_dir():
            for path in sorted(self.root.glob("??/*")):
                if not path.name.startswith("."):
                    yield path.parent.name + path.name


class TableStore(EvidenceStore):
    """The ``evidence`` table of a PostgreSQL store's schema, reached through the engine
    ``engine_of`` gives when first used (SQLAlchemy loaded then, for PostgreSQL only: a
    history whose events cite no kept file opens no engine)."""

    def __init__(self, engine_of: Callable[[], sa.Engine]) -> None:
        self._engine_of = engine_of
        self._made = False

    @cached_property
    def engine(self) -> sa.Engine:
        return self._engine_of()

    @cached_property
    def table(self) -> sa.Table:
        import sqlalchemy as sa

        return sa.Table(
            "evidence", sa.MetaData(),
            sa.Column("sha256", sa.String(64), primary_key=True),
            sa.Column("size", sa.BigInteger, nullable=False),
            sa.Column("content_type", sa.Text, nullable=False),
            sa.Column("content", sa.LargeBinary, nullable=False))

    def make(self) -> None:
        """Create the table if it is missing (``access setup`` does, as the owner, so that
        writers' logins, which may not create tables, find it)."""
        import sqlalchemy as sa

        if not self._made:
            with self.engine.begin() as conn:
                if not sa.inspect(conn).has_table("evidence"):
                    self.table.create(conn, checkfirst=True)
            self._made = True

    def put(self, file: EvidenceFile) -> bool:
        from sqlalchemy.dialects.postgresql import insert

        self.make()
        with self.engine.begin() as conn:
            # RETURNING says whether the row was inserted (rowcount does not, here).
            inserted = conn.execute(insert(self.table).values(
                sha256=file.sha256, size=file.size, content_type=file.content_type,
                content=file.content).on_conflict_do_nothing()
                .returning(self.table.c.sha256)).first()
        return inserted is not None

    def get(self, sha256: str) -> bytes | None:
        import sqlalchemy as sa

        self.make()
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(self.table.c.content)
                                 .where(self.table.c.sha256 == sha256)).scalar()
        return None if found is None else bytes(found)

    def kept(self) -> Iterator[str]:
        import sqlalchemy as sa

        self.make()
        with self.engine.connect() as conn:
            yield from conn.execute(sa.select(self.table.c.sha256)
                                    .order_by(self.table.c.sha256)).scalars()


def open_evidence(store: Store) -> EvidenceStore:
    """The evidence store of a store: the folder beside an SQLite file, the table of a
    PostgreSQL schema."""
    if store.url.kind == "sqlite":
        return FolderStore(Path(store.url.path + ".evidence"))
    return TableStore(lambda: store.engine)


# --- checking what the events cite --------------------------------------------------------


def cited(ledger: Ledger) -> Iterator[dict[str, Any]]:
    """Every evidence item an event cites with a hash: the task, the event's number and
    position, its kind, the file's name and hash."""
    for record in ledger.records():
        kind = record.topic.rsplit(":", 1)[-1]
        if kind not in CITING:
            continue
        for item in json.loads(record.state).get("evidence") or []:
            if item.get("sha256"):
                yield {"task": record.originator_id, "event": record.originator_version,
                       "position": record.position, "kind": kind.split(".", 1)[1],
                       "file": item["file"], "sha256": item["sha256"]}


def check(ledger: Ledger, kept: EvidenceStore) -> tuple[int, list[dict[str, Any]]]:
    """Check every cited file is kept and hashes to what its event says: the number of
    citations checked, and each problem (``missing`` or ``altered``) with its citation."""
    checked, problems = 0, []
    verdicts: dict[str, str | None] = {}
    for item in cited(ledger):
        checked += 1
        digest = item["sha256"]
        if digest not in verdicts:
            content = kept.get(digest)
            verdicts[digest] = ("missing" if content is None else
                                None if hashlib.sha256(content).hexdigest() == digest
                                else "altered")
        if verdicts[digest] is not None:
            problems.append({**item, "problem": verdicts[digest]})
    return checked, problems


# --- carried with an export ---------------------------------------------------------------


def export_folder(export_file: Path) -> Path:
    """Where ``audit export --evidence`` puts the files beside the export (same layout as
    an SQLite store's folder), and where ``audit import`` looks for them."""
    return Path(str(export_file) + ".evidence")


def copy_cited(ledger: Ledger, source: EvidenceStore, target: FolderStore
               ) -> tuple[int, list[str]]:
    """Copy every file the ledger cites from ``source`` to ``target``: the number copied,
    and the hashes cited but not kept (not copied)."""
    copied, missing = 0, []
    for digest in sorted({item["sha256"] for item in cited(ledger)}):
        content = source.get(digest)
        if content is None:
            missing.append(digest)
            continue
        target.put(EvidenceFile(digest, digest, len(content), content_type(content) or "",
                                content))
        copied += 1
    return copied, missing


def checked_folder(folder: FolderStore) -> list[str]:
    """The hashes of a carried folder's files, each checked to hash to its name; a file
    that does not is refused, naming it."""
    found = []
    for digest in folder.kept():
        content = folder.get(digest) or b""
        if hashlib.sha256(content).hexdigest() != digest:
            raise Refused("证据文件 {path} 的哈希与其文件名不符：文件被改动过",
                          path=folder.path(digest))
        found.append(digest)
    return found


def restore(folder: FolderStore, digests: list[str], target: EvidenceStore) -> int:
    """Keep the carried files in ``target``; the number newly kept."""
    kept = 0
    for digest in digests:
        content = folder.get(digest) or b""
        kept += target.put(EvidenceFile(digest, digest, len(content),
                                        content_type(content) or "", content))
    return kept
