"""Evidence files: kept in the store when a command cites them, given back by their hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from commands.params import output_option
from commands.session import Session, pass_session
from i18n import _
from domain.base import NotFound, Refused
from ledger.evidence import EvidenceFile, EvidenceStore, read_evidence

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def evidence_store(session: Session) -> EvidenceStore:
    return session.services.evidence


@contextmanager
def keeping(session: Session, values: tuple[str, ...]) -> Iterator[list[EvidenceFile]]:
    """The files that ``--evidence FILE[:DESCRIPTION]`` names here, checked (type and size)
    before anything is written, and kept in the evidence store once the command run inside
    has recorded its event: a refused command leaves nothing behind. (Should keeping fail
    after the event, ``audit verify --evidence`` names the file, and citing it again keeps
    it for both events, as files are kept by their content.)"""
    files = [read_evidence(Path(name), name) for name in
             (value.partition(":")[0] for value in values) if Path(name).is_file()]
    yield files
    evidence_store(session).keep(files)


def with_kept(entries: list[dict[str, Any]], kept: EvidenceStore) -> None:
    """Each hashed evidence item of the entries with the size and type of its kept file
    (``kept`` false where the store does not hold it), and the entry's evidence text
    saying so."""
    from projections.events import evidence_text  # the read side, loaded when it is read

    stats: dict[str, dict[str, Any] | None] = {}
    for entry in entries:
        for item in entry["evidence"]:
            digest = item.get("sha256")
            if not digest:
                continue
            if digest not in stats:
                stats[digest] = kept.stat(digest)
            stat = stats[digest]
            item.update(kept=stat is not None, **(stat or {}))
        if entry["evidence"]:
            entry["evidence_text"] = "; ".join(
                evidence_text([item]) + (f" {item['type']} {item['size']:,} bytes"
                                         if item.get("kept") else
                                         " (not kept)" if item.get("sha256") else "")
                for item in entry["evidence"])


@click.group("evidence")
def evidence_group() -> None:
    """台账按 SHA-256 保存的证据文件（照片、文档）。"""


@evidence_group.command("get")
@click.argument("sha256")
@output_option("把已保存的文件写入此文件。", required=True)
@pass_session
def evidence_get(session: Session, sha256: str, output: Path) -> None:
    """把 SHA-256 为此值的已保存文件写入 FILE。"""
    digest = sha256.strip().lower()
    if not SHA256.match(digest):
        raise Refused("SHA256 须为 64 位十六进制数字，而给出的是 {value}", value=repr(sha256))
    content = evidence_store(session).get(digest)
    if content is None:
        raise NotFound("没有保存 sha256 为 {digest} 的证据文件", digest=digest)
    if hashlib.sha256(content).hexdigest() != digest:
        raise Refused("为 sha256 {digest} 保存的证据文件的哈希已不再是它：文件被改动过（audit "
                      "verify --evidence 会列出引用它的事件）", digest=digest)
    output.write_bytes(content)
    click.echo(_("已写入 {n} 字节至 {path}").format(n=f"{len(content):,}", path=output))


COMMANDS = [evidence_group]
