"""The one way listings are printed: ``--format table|csv|json`` (and jsonl where asked)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click

FORMATS = ("table", "csv", "json")

Column = tuple[str, str]  # (key in the row, header)


def output_options(formats: Sequence[str] = FORMATS) -> Callable[[Any], Any]:
    """The shared ``--format`` option of every listing command."""
    return click.option("--format", "fmt", type=click.Choice(list(formats)), default="table",
                        show_default=True, help="How to print the result.")


def render(rows: Sequence[dict[str, Any]], columns: Sequence[Column], fmt: str) -> str:
    """Rows as a table (Chinese text aligned), CSV, JSON or JSON lines."""
    keys = [key for key, _ in columns]
    if fmt == "json":
        return json.dumps([{k: row.get(k) for k in keys} for row in rows],
                          ensure_ascii=False, indent=2)
    if fmt == "jsonl":
        return "\n".join(json.dumps({k: row.get(k) for k in keys}, ensure_ascii=False)
                         for row in rows)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow(["" if row.get(k) is None else _cell(row.get(k)) for k in keys])
        return buffer.getvalue().rstrip("\n")
    if not rows:
        return "(none)"
    from tabulate import tabulate  # (and importlib.metadata, which it loads) for tables only

    return tabulate([[_cell(row.get(k)) for k in keys] for row in rows],
                    headers=[header for _, header in columns], disable_numparse=True)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[Column], fmt: str) -> None:
    click.echo(render(rows, columns, fmt))


def emit_record(record: dict[str, Any], fmt: str) -> None:
    """One record: a two-column table, or the record itself as JSON."""
    if fmt == "json":
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    rows = [{"field": k, "value": v} for k, v in record.items()]
    emit(rows, [("field", "field"), ("value", "value")], fmt)


@contextlib.contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """The one progress bar of long commands: on stderr, and only on a terminal, so that a
    script's stdout stays clean and its stderr keeps just the one-line errors."""
    with click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True,
                           hidden=not sys.stderr.isatty()) as bar:
        yield bar.update


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
