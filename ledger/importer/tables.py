"""The file: a CSV file or a worksheet, opened, its header found and its rows read."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from domain.base import Refused
from ledger.importer.mapping import Mapping, check_encoding

# Rows that are not data, by the first text in them (spaces removed): a mapping's [skip]
# adds its own markers to these.
SKIP_MARKERS = {
    "total row": ("合计", "小计", "总计"),
    "signature line": ("制表人", "填表人", "填报人", "审核人", "负责人", "签字", "签名", "填报日期",
                       "报送日期"),
    "note line": ("填报说明", "备注", "说明：", "说明:", "注：", "注:"),
}
HEADER_SCAN = 30  # rows searched for the header when the mapping does not give its row
Records = Callable[[], Iterator[tuple[int, list[Any]]]]
# Row number → position → (the merged range, its value) for the cells a merge covers.
Merged = dict[int, dict[int, tuple[str, Any]]]


@dataclass
class Table:
    """An opened CSV file or worksheet: its identity, header and data rows, and the rows
    that are not data (skipped, counted by kind)."""

    name: str
    digest: str
    kind: str
    encoding: str
    sheet: str | None
    header: list[str]
    header_row: int
    count: int
    _rows: Callable[[], Iterator[tuple[int, list[Any]]]]
    skipped: Counter[str] = field(default_factory=Counter)
    # Row number → column → where its value came from, for a value not in its own cell
    # (a merged cell's, or filled down as [fill] down says).
    filled: dict[int, dict[str, str]] = field(default_factory=dict)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number, cells) for every data row, as a spreadsheet numbers them."""
        return self._rows()


def open_table(path: str | Path, mapping: Mapping, encoding: str | None = None,
               sheet: str | None = None) -> Table:
    """Open FILE as the mapping (or the overriding encoding and sheet) says.

    The whole file is read and decoded first, so that an encoding mistake anywhere refuses
    the import before anything is written."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise Refused("无法读取 {file}：{why}", file=path.name, why=e.strerror) from None
    digest = hashlib.sha256(data).hexdigest()
    # The file's own extension decides, so that a workbook's rejects (a CSV) import with
    # the workbook's mapping; the mapping's format serves files named otherwise.
    suffix = path.suffix.lower()
    kind = ("csv" if suffix == ".csv" else "xlsx" if suffix in (".xlsx", ".xlsm")
            else mapping.format or "csv")
    if kind == "xlsx":
        return _open_xlsx(path.name, data, digest, mapping, sheet or mapping.sheet)
    encoding = encoding or mapping.encoding
    check_encoding(encoding, "--encoding")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise Refused("{file} 不是 {encoding} 编码的文本：第 {byte} 字节（第 {line} 行）无法解码；"
                      "请用 --encoding 指明文件的编码（例如中文 Excel 导出的文件用 gb18030）",
                      file=path.name, encoding=encoding, byte=e.start, line=line) from None
    # A UTF-8 file written by Excel starts with a byte-order mark, whatever was said.
    text = text.removeprefix("\ufeff")

    def records() -> Iterator[tuple[int, list[Any]]]:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            yield from enumerate(reader, 1)
        except csv.Error as e:
            raise Refused("{file} 在第 {record} 条记录附近不是可读的 CSV 文件：{why}",
                          file=path.name, record=reader.line_num, why=e) from None

    return _framed(path.name, digest, "csv", encoding, None, records, {}, mapping)


def _open_xlsx(name: str, data: bytes, digest: str, mapping: Mapping,
               sheet: str | None) -> Table:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Not read-only: a read-only sheet does not say which cells are merged.
        book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise Refused("{file} 不是 xlsx 工作簿", file=name) from None
    if sheet is not None and sheet not in book.sheetnames:
        raise Refused("{file} 没有名为 {sheet!r} 的工作表（工作表有：{sheets}）", file=name,
                      sheet=sheet, sheets=", ".join(book.sheetnames))
    chosen = sheet
    if chosen is None:  # the one sheet, else the first that holds the mapping's columns
        chosen = book.sheetnames[0]
        if len(book.sheetnames) > 1:
            wanted = {_key(c) for c in mapping.headings()}
            for candidate in book.sheetnames:
                top = book[candidate].iter_rows(max_row=HEADER_SCAN, values_only=True)
                if any(wanted <= {_key(cell_text(c)) for c in cells} for cells in top):
                    chosen = candidate
                    break
    worksheet = book[chosen]
    body = [(number, list(cells)) for number, cells in
            enumerate(worksheet.iter_rows(values_only=True), 1)]
    merged: Merged = {}
    for block in worksheet.merged_cells.ranges:
        value = body[block.min_row - 1][1][block.min_col - 1]
        for row in range(block.min_row, block.max_row + 1):
            for column in range(block.min_col, block.max_col + 1):
                if (row, column) != (block.min_row, block.min_col):
                    merged.setdefault(row, {})[column - 1] = (block.coord, value)
    book.close()
    return _framed(name, digest, "xlsx", "", chosen, lambda: iter(body), merged, mapping)


def _key(text: str) -> str:
    """A heading as compared: without any space (整改 时限, 整改\n时限 are 整改时限)."""
    return "".join(text.split())


def _find_header(name: str, records: Records, mapping: Mapping) -> tuple[int, list[str]]:
    """The header: the mapping's ``header_row``, else the first row holding every column
    the mapping reads (else the one holding most: the reader names what it lacks)."""
    wanted = {_key(c): c for c in mapping.headings()}
    best: tuple[int, int, list[str]] | None = None
    for number, cells in records():
        if mapping.header_row is not None and number < mapping.header_row:
            continue
        header = [" ".join(cell_text(c).split()) for c in cells]
        header = [wanted.get(_key(h), h) for h in header]
        if mapping.header_row is not None:
            return number, header
        found = len(set(wanted.values()) & set(header))
        if found == len(wanted):
            return number, header
        if found and (best is None or found > best[0]):
            best = (found, number, header)
        if number >= HEADER_SCAN:
            break
    if mapping.header_row is not None:
        raise Refused("{file} 没有第 {row} 行表头", file=name, row=mapping.header_row)
    if best is None:
        raise Refused("{file} 的前 {scan} 行中没有一行包含映射文件的列（{columns}）", file=name,
                      scan=HEADER_SCAN, columns=", ".join(wanted.values()))
    return best[1], best[2]


def _framed(name: str, digest: str, kind: str, encoding: str, sheet: str | None,
            records: Records, merged: Merged, mapping: Mapping) -> Table:
    """The table: its header found, then its data rows — merged cells' values in every
    cell they span, columns filled down as the mapping says, rows that are not data
    skipped and counted (empty rows only between others: not a sheet's formatted tail)."""
    header_row, header = _find_header(name, records, mapping)
    for column in mapping.fill_down:
        if column not in header:
            raise Refused("映射文件 {mapping}：[fill] down：列 {column!r} 不在 {file} 的表头中"
                          "（表头有：{header}）", mapping=mapping.name, column=column,
                          file=name, header=", ".join(h for h in header if h))
    down = [(header.index(c), c) for c in mapping.fill_down]
    markers = {kind_: (*found, *mapping.skip_markers.get(kind_, ()))
               for kind_, found in SKIP_MARKERS.items()}
    initials = frozenset(m[0] for found in markers.values() for m in found)

    def data(skipped: Counter[str], filled: dict[int, dict[str, str]]
             ) -> Iterator[tuple[int, list[Any]]]:
        last: dict[int, tuple[Any, int]] = {}
        blank = 0
        for number, cells in records():
            if number <= header_row:
                continue
            spans = merged.get(number)
            if spans:  # a merged cell's value belongs to every cell it spans
                cells = [*cells, *[None] * (max(spans) + 1 - len(cells))]
                for position, (_, value) in spans.items():
                    cells[position] = value
            if _blank(cells):
                blank += 1
                continue
            skipped["empty row"] += blank
            blank = 0
            what = _not_data(cells, markers, initials)
            if what is not None:
                skipped[what] += 1
                continue
            came = {header[p]: f"from merged cell {coord}" for p, (coord, value) in
                    (spans or {}).items() if p < len(header) and header[p]
                    and value is not None}
            for position, column in down:
                value = cells[position] if position < len(cells) else None
                if cell_text(value):
                    last[position] = (value, number)
                elif position in last:
                    cells = [*cells, *[None] * (position + 1 - len(cells))]
                    cells[position] = last[position][0]
                    came[column] = f"filled down from row {last[position][1]}"
            if came:
                filled[number] = came
            yield number, cells

    skipped: Counter[str] = Counter()
    filled: dict[int, dict[str, str]] = {}
    count = sum(1 for _ in data(skipped, filled))
    return Table(name, digest, kind, encoding, sheet, header, header_row, count,
                 lambda: data(Counter(), filled), +skipped, filled)


def _not_data(cells: list[Any], markers: dict[str, tuple[str, ...]],
              initials: frozenset[str]) -> str | None:
    """What a row that is not data is (a total row, a signature or note line), or None."""
    for cell in cells:
        text = cell_text(cell)
        if text:
            if text[0] not in initials:  # most rows: a 序号, an id, a date …
                return None
            text = _key(text)
            for what, found in markers.items():
                if text.startswith(found):
                    return what
            return None
    return None


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


# Not spaces to Python, but as invisible at a cell's ends: zero-width spaces and joiners,
# and a byte-order mark pasted in.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def cell_text(value: Any) -> str:
    """A cell as text: trimmed of spaces of every width (U+3000, no-break …) and invisible
    characters, line ends as \\n; dates as ISO, whole numbers without a decimal point."""
    if type(value) is str:
        text = value.strip()
        if text and (text[0] in _INVISIBLE or text[-1] in _INVISIBLE):
            while text and (text[0] in _INVISIBLE or text[-1] in _INVISIBLE):
                text = text.strip(_INVISIBLE).strip()
        return text.replace("\r\n", "\n") if "\r" in text else text
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
