"""The file: a CSV file or a worksheet, opened, its header found and its rows read."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from domain.base import Refused
from ledger.importer.mapping import Mapping, check_encoding

@dataclass
class Table:
    """An opened CSV file or worksheet: its identity, header and rows."""

    name: str
    digest: str
    kind: str
    encoding: str
    sheet: str | None
    header: list[str]
    header_row: int
    count: int
    _rows: Callable[[], Iterator[tuple[int, list[Any]]]]

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
        raise Refused(f"cannot read {path.name}: {e.strerror}") from None
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
        raise Refused(f"{path.name} is not {encoding} text: byte {e.start} (line {line}) "
                      "cannot be decoded; name the file's encoding with --encoding "
                      "(e.g. gb18030 for Chinese Excel exports)") from None
    # A UTF-8 file written by Excel starts with a byte-order mark, whatever was said.
    text = text.removeprefix("\ufeff")

    def records() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            yield from enumerate(reader, 1)
        except csv.Error as e:
            raise Refused(f"{path.name} is not a readable CSV file near record "
                          f"{reader.line_num}: {e}") from None

    header: list[str] | None = None
    count = 0
    for number, cells in records():
        if number == mapping.header_row:
            header = [c.strip() for c in cells]
        elif number > mapping.header_row and any(c.strip() for c in cells):
            count += 1
    if header is None:
        raise Refused(f"{path.name} has no header row {mapping.header_row}")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in records():
            if number > mapping.header_row:
                yield number, cells

    return Table(path.name, digest, "csv", encoding, None, header, mapping.header_row,
                 count, rows)


def _open_xlsx(name: str, data: bytes, digest: str, mapping: Mapping,
               sheet: str | None) -> Table:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise Refused(f"{name} is not an xlsx workbook") from None
    if sheet is None:
        sheet = book.sheetnames[0]
    elif sheet not in book.sheetnames:
        raise Refused(f"{name} has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
    # All rows at once: counting them (for the progress bar) takes a pass anyway, and the
    # workbook is closed before the import starts.
    all_rows = list(book[sheet].iter_rows(min_row=mapping.header_row, values_only=True))
    book.close()
    if not all_rows:
        raise Refused(f"{name} sheet {sheet!r} has no header row {mapping.header_row}")
    header = ["" if c is None else str(c).strip() for c in all_rows[0]]
    body = [(mapping.header_row + i, list(cells)) for i, cells in enumerate(all_rows[1:], 1)]
    count = sum(1 for _, cells in body if not _blank(cells))
    return Table(name, digest, "xlsx", "", sheet, header, mapping.header_row, count,
                 lambda: iter(body))


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def cell_text(value: Any) -> str:
    """A cell as text: dates as ISO, whole numbers without a decimal point."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
