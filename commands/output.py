"""The one way results are printed: ``--format table|csv|json`` (and jsonl where asked).

Tables are for people: their headers and labels in the language in use (:mod:`i18n`), and
they fit the terminal — on a terminal (or where ``COLUMNS`` says how wide it is) headers
wrap, the columns a command marks OPTIONAL are left out (a last line names them) and those
it marks TEXT wrap; a table that still does not fit is printed a row at a time, as labelled
lines. ``--wide``, or output into a file or a pipe, keeps every row on one line. CSV and
JSON are for programs: their keys are the rows' own, in every language.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click

from i18n import N_, _

FORMATS = ("table", "csv", "json")
GAP = 2  # spaces between the columns of tabulate's "simple" format
TEXT_AT_LEAST = 10  # OPTIONAL columns are left out before TEXT ones get narrower than this

# (key in the row, header: a message shown in the language in use[, how it may give way to
# a narrow terminal: TEXT wraps, OPTIONAL is left out (the last such first), else it is kept
# whole as long as it can be])
Column = tuple[str, str] | tuple[str, str, str]
TEXT = "text"
OPTIONAL = "optional"

# The labels of a record's fields (emit_record, task show's details): a field without one
# is shown by its key.
FIELDS: dict[str, str] = {
    "task": N_("任务"), "unit": N_("责任单位"), "category": N_("问题类别"),
    "source": N_("来源"), "location": N_("地点"), "description": N_("问题描述"),
    "state": N_("状态"), "closure": N_("销号方式"), "acknowledged": N_("是否签收"),
    "notice_no": N_("整改通知书编号"), "deadline": N_("整改期限"), "overdue": N_("是否超期"),
    "cycle": N_("整改轮次"), "rework_count": N_("返工次数"), "escalations": N_("督办次数"),
    "inspection": N_("巡查"), "assigned_at": N_("交办于"), "latitude": N_("纬度"),
    "longitude": N_("经度"), "version": N_("版本"), "name": N_("名称"),
    "time_zone": N_("时区"), "categories": N_("问题类别表"),
    "required_inspections": N_("每月应巡查次数"),
    "recurrence_window_days": N_("反弹认定天数"),
    "recurrence_lookback_months": N_("反弹回看月数"),
    "note": N_("备注"), "reason": N_("理由"), "evidence": N_("证据"),
    "requirements": N_("整改要求"), "deadline_rule": N_("期限规则"),
    "previous_deadline": N_("原期限"), "previous_unit": N_("原责任单位"),
    "current_deadline": N_("当前期限"), "request": N_("申请"), "entered_by": N_("代录人"),
    "account": N_("账户"), "kind": N_("类型"), "month": N_("月份"), "position": N_("位置"),
    "head": N_("链头"), "changes": N_("更改"), "corrects_event": N_("所更正的事件"),
    "previous": N_("原值"), "current": N_("现值"),
    # What an import says of a file (commands/importing.py, commands/template.py).
    "file": N_("导入文件"), "mapping": N_("映射文件"), "template": N_("模板"),
    "outcome": N_("导入结果"), "rows read": N_("读取行数"), "tasks created": N_("新建任务数"),
    "events": N_("事件数"), "already imported": N_("此前已导入"),
    "already recorded": N_("此前已记录"), "rows rejected": N_("拒收行数"),
    "surveys recorded": N_("已记录测评"), "targets assigned": N_("已交办指标任务"),
    "units registered": N_("新登记单位"), "categories added": N_("新增问题类别数"),
    "rejects written to": N_("拒收行已写入"), "rows unchanged": N_("未变行数"),
    "rows updated": N_("更新行数"), "rows conflicting (not applied)": N_("冲突行数（未应用）"),
    "rows new": N_("新增行数"),
    "rows missing from the file (not closed)": N_("文件中缺少的行数（未销号）"),
    "missing": N_("缺少的行"),
}


def output_options(formats: Sequence[str] = FORMATS) -> Callable[[Any], Any]:
    """The shared ``--format`` option of every listing command, and ``--wide``."""
    def decorate(f: Any) -> Any:
        f = click.option("--wide", is_flag=True, expose_value=False,
                         callback=_remember_wide,
                         help="表格：每个单元格只占一行，不管终端多宽。")(f)
        return click.option("--format", "fmt", type=click.Choice(list(formats)),
                            default="table", show_default=True,
                            help="结果的输出格式。")(f)
    return decorate


def _remember_wide(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["taizhang.wide"] = True


def label(key: str) -> str:
    """A field's label in the language in use (its key when it has none)."""
    found = FIELDS.get(key)
    return _(found) if found else key


def render(rows: Sequence[dict[str, Any]], columns: Sequence[Column], fmt: str,
           labelled: bool = False) -> str:
    """Rows as a table (Chinese text aligned, fitting the terminal), CSV, JSON or JSON
    lines. A CSV's header row holds the rows' keys, or (``labelled``: a spreadsheet for
    people) the columns' headers in the language in use."""
    keys = [column[0] for column in columns]
    if fmt == "json":
        return json.dumps([{k: row.get(k) for k in keys} for row in rows],
                          ensure_ascii=False, indent=2)
    if fmt == "jsonl":
        return "\n".join(json.dumps({k: row.get(k) for k in keys}, ensure_ascii=False)
                         for row in rows)
    if fmt == "csv":
        import csv

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([_(column[1]) for column in columns] if labelled else keys)
        for row in rows:
            writer.writerow(["" if row.get(k) is None else _cell(row.get(k), human=False)
                             for k in keys])
        return buffer.getvalue().rstrip("\n")
    if not rows:
        return _("（无）")
    # (text, most cells, as it is: a board prints some 25,000)
    return table([[v if type(v) is str else _cell(v) for v in map(row.get, keys)]
                  for row in rows],
                 [_(column[1]) for column in columns],
                 [column[2] if len(column) > 2 else "" for column in columns])


def table(cells: list[list[str]], headers: list[str], ways: Sequence[str] = ()) -> str:
    """A table of text that fits :func:`width`: its headers wrapped, then its OPTIONAL
    columns left out (a last line names them) and its TEXT columns wrapped; where that is
    not enough, each row as labelled lines."""
    import tabulate as tabulate_module  # (and importlib.metadata, which it loads) for tables only
    from tabulate import tabulate

    room = width()
    if room is None or not headers:
        with _as_text(tabulate_module):
            return tabulate(cells, headers=headers, disable_numparse=True)
    all_cells, all_headers = cells, headers
    ways = list(ways) or [""] * len(headers)
    left_out: list[str] = []
    optional = [i for i, way in enumerate(ways) if way == OPTIONAL]
    while optional and not _fits(cells, headers, ways, room):
        gone = optional.pop()
        left_out.insert(0, headers[gone])
        cells = [row[:gone] + row[gone + 1:] for row in cells]
        headers, ways = headers[:gone] + headers[gone + 1:], ways[:gone] + ways[gone + 1:]
        optional = [i - (i > gone) for i in optional]
    if not _fits(cells, headers, ways, room):
        return _stacked(all_cells, all_headers, room)
    natural = _natural(cells, headers)
    limits = [w if w < n else None
              for w, n in zip(_widths(cells, headers, ways, room), natural, strict=True)]
    # On a terminal a header needs no padding of its own: the gap between columns is there.
    tabulate_module.MIN_PADDING, padding = 0, tabulate_module.MIN_PADDING
    try:
        with _as_text(tabulate_module):
            text = tabulate(cells, headers=headers, disable_numparse=True,
                            maxcolwidths=limits, maxheadercolwidths=limits)
    finally:
        tabulate_module.MIN_PADDING = padding
    if left_out:
        text += "\n" + paragraph(_("（未显示：{columns}；--wide 显示全部）").format(
            columns=_("、").join(left_out)))
    return text


@contextlib.contextmanager
def _as_text(tabulate_module: Any) -> Iterator[None]:
    """tabulate told what it would otherwise find out cell by cell: every column is text.
    Our cells are text (``_cell``) and numbers are not parsed (``disable_numparse``), so the
    type it deduces for a column (``_column_type``: an ANSI-stripping regex and several
    tests on every cell, about half of printing a board of 2,000 rows) can only be text —
    or, for a column of empty cells or of "True"/"False", a type it formats and aligns as
    text all the same. (tests/tier3_cli/test_board_read.py prints tables both ways.) A
    tabulate without that private function deduces as it does."""
    deduce = getattr(tabulate_module, "_column_type", None)
    if deduce is None:
        yield
        return

    def text(strings: Any, has_invisible: bool = True, numparse: bool = True) -> type:
        return str if not numparse else deduce(strings, has_invisible, numparse)

    tabulate_module._column_type = text
    try:
        yield
    finally:
        tabulate_module._column_type = deduce


def _fits(cells: list[list[str]], headers: list[str], ways: Sequence[str],
          room: int) -> bool:
    return sum(_widths(cells, headers, ways, room)) + _gaps(headers) <= room


def _stacked(cells: list[list[str]], headers: list[str], room: int) -> str:
    """Rows too wide for the terminal, each as its labelled lines, a blank line between."""
    blocks = []
    for row in cells:
        lines = []
        for i, (header, cell) in enumerate(zip(headers, row, strict=True)):
            if not cell:
                continue
            indent = "" if i == 0 else "  "
            head = f"{indent}{header}{_('：')}"
            pieces = _wrap(cell.replace("\n", " "), max(room - _width(head), 10), room - 4)
            lines.append(head + pieces[0])
            lines.extend("    " + piece for piece in pieces[1:])
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def width() -> int | None:
    """How wide a table may be: the terminal's width on a terminal, or where ``COLUMNS``
    says; none (as wide as its rows) under ``--wide``, or into a file or a pipe."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get("taizhang.wide"):
        return None
    if not os.environ.get("COLUMNS") and not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def _gaps(headers: list[str]) -> int:
    return GAP * (len(headers) - 1)


def _natural(cells: list[list[str]], headers: list[str]) -> list[int]:
    """Each column's width: its widest cell or header."""
    return [max([_width(h)] + [_width(row[i]) for row in cells])
            for i, h in enumerate(headers)]


def _widths(cells: list[list[str]], headers: list[str], ways: Sequence[str],
            room: int) -> list[int]:
    """How wide each column may be for the table to fit ``room``: headers wrap onto two
    lines first, then TEXT columns are cut down to one common width, not below
    TEXT_AT_LEAST (other columns are never cut: :func:`table` stacks the rows instead)."""
    natural = _natural(cells, headers)
    budget = room - _gaps(headers)
    if sum(natural) <= budget:
        return natural
    cell = [max([0] + [_width(row[i]) for row in cells]) for i in range(len(headers))]
    # Headers on two lines (an English word of a header is never cut).
    narrow = [max(c, _longest_word(h), (_width(h) + 1) // 2)
              for c, h in zip(cell, headers, strict=True)]
    text = [i for i, way in enumerate(ways) if way == TEXT]
    if sum(narrow) > budget and text:
        cap = max(narrow[i] for i in text)
        while cap > TEXT_AT_LEAST and sum(min(w, cap) if i in text else w
                                          for i, w in enumerate(narrow)) > budget:
            cap -= 1
        narrow = [min(w, cap) if i in text else w for i, w in enumerate(narrow)]
    return narrow


def _longest_word(text: str) -> int:
    """The widest word of a header that may not be cut (Chinese breaks anywhere)."""
    return max((_width(word) if word.isascii() else 4 for word in text.split()), default=0)


def _width(text: str) -> int:
    from wcwidth import wcswidth

    return max((max(wcswidth(line), len(line)) for line in text.splitlines()), default=0)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[Column], fmt: str) -> None:
    click.echo(render(rows, columns, fmt))


def emit_record(record: dict[str, Any], fmt: str) -> None:
    """One record: a two-column table of labelled fields, or the record itself as JSON."""
    if fmt == "json":
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    if fmt != "table":
        rows = [{"field": k, "value": v} for k, v in record.items()]
        emit(rows, [("field", "field"), ("value", "value")], fmt)
        return
    rows = [{"field": label(k), "value": v} for k, v in record.items()]
    emit(rows, [("field", N_("字段")), ("value", N_("值"))], fmt)


def labelled(record: dict[str, Any], indent: str = "") -> list[str]:
    """A record's fields as lines ``label: value`` (those with a value), a long value
    continued on lines of its own so that each fits :func:`width`."""
    room = width()
    lines = []
    for k, v in record.items():
        if v in (None, "", [], {}):
            continue
        head = f"{indent}{label(k)}{_('：')}"
        text = _cell(v) if not isinstance(v, list) else "; ".join(
            _cell(item) if not isinstance(item, dict) else ", ".join(
                f"{label(ik)}{_('：')}{_cell(iv)}" for ik, iv in item.items()) for item in v)
        if room is None:
            lines.append(head + text)
            continue
        pieces = _wrap(text, max(room - _width(head), 10), room - len(indent) - 2)
        lines.append(head + pieces[0])
        lines.extend(indent + "  " + piece for piece in pieces[1:])
    return lines


def paragraph(text: str) -> str:
    """A line of text for people, continued on further lines to fit :func:`width`."""
    room = width()
    return text if room is None else "\n".join(_wrap(text, room, room))


def _wrap(text: str, first: int, rest: int) -> list[str]:
    """``text`` cut into pieces of at most ``first`` (then ``rest``) display columns, at a
    space where there is one."""
    pieces: list[str] = []
    room = first
    while _width(text) > room:
        cut, used = 0, 0
        for i, char in enumerate(text):
            used += max(_width(char), 0)
            if used > room:
                break
            cut = i + 1
        space = text.rfind(" ", 0, cut + 1)
        if space > cut // 2:
            cut = space
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
        room = max(rest, 10)
    pieces.append(text)
    return pieces


@contextlib.contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """The one progress bar of long commands: on stderr, and only on a terminal, so that a
    script's stdout stays clean and its stderr keeps just the one-line errors."""
    with click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True,
                           hidden=not sys.stderr.isatty()) as bar:
        yield bar.update


def _cell(value: Any, human: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        if not human:
            return "yes" if value else "no"
        return _("是") if value else _("否")
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
