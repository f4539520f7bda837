"""Moving a ledger to another store, hashes and all: :func:`export` writes it as JSON
lines, :func:`import_ledger` restores such a file into an empty store, checking every link
of the chain as it goes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from domain.audit import HASH_PATTERN
from ledger.app import Ledger
from ledger.audit import FORMAT_VERSION, AuditError, Head
from ledger.chain import GENESIS, ChainBroken, Record, odd_detail

EXPORT_FORMAT = "taizhang audit export"


def export(ledger: Ledger, out: IO[str]) -> Head:
    """Write the ledger as JSON lines: a header quoting the head, then every stored event
    with its transaction time, account and hash. Streams; returns the head written."""
    position, hash_ = ledger.head()
    out.write(json.dumps({"format": EXPORT_FORMAT, "version": FORMAT_VERSION,
                          "head": {"position": position, "hash": hash_}}) + "\n")
    for record in ledger.records(upto=position):
        odd = odd_detail(record)
        if odd is not None:
            raise AuditError("位置 {position}：存储的事件有误：{odd}；请运行 `taizhang audit verify`",
                             position=record.position, odd=odd)
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
        raise AuditError("存储中已有 {held} 个事件；导入需要一个空的存储", held=held)
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
            raise AuditError("第 {line} 行：文件止于位置 {end}，但文件头给出的链头是 "
                             "{position}:{hash}…（缺了若干行）", line=line_no,
                             end=last.position, position=header.position,
                             hash=header.hash[:16])

    try:
        return Head(*ledger.recorder.insert_records(records()))  # type: ignore[attr-defined]
    except ChainBroken as e:
        raise AuditError("第 {line} 行：{broken}", line=line_no, broken=e) from None


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
        raise AuditError("第 1 行：不是 {format}（第 {version} 版）的文件头",
                         format=EXPORT_FORMAT, version=FORMAT_VERSION) from None
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
        raise AuditError("第 {line} 行：不是导出的事件（{error}: {why}）", line=line_no,
                         error=type(e).__name__, why=e) from None
    types = (int, str, int, str, bytes, str, str, str)
    if not all(isinstance(value, kind) and not isinstance(value, bool)
               for value, kind in zip(record, types, strict=True)):
        raise AuditError("第 {line} 行：导出事件的字段类型不对", line=line_no)
    return record
