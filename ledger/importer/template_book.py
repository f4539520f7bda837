"""A template as an Excel workbook: the data sheet (headers, the example row, data
validation), the instructions (填写说明) and the lists its validation reads (选项, hidden)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ledger.importer.template import Choices, Column, Template, example_row

LISTS = "选项"
INSTRUCTIONS = "填写说明"
ROWS = 2000  # rows of the data sheet under validation, below the header
REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
OPTIONAL_FILL = PatternFill("solid", fgColor="E2EFDA")
NUMBERS = {  # a numeric column's validation: (type, operator, bounds, what it says)
    "percent": ("decimal", "between", (0, 100), "0 到 100 之间的数"),
    "whole": ("whole", "greaterThanOrEqual", (1,), "不小于 1 的整数"),
    "number": ("decimal", "greaterThan", (0,), "大于 0 的数"),
}


def template_workbook(template: Template, choices: Choices, today: date,
                      command: str) -> bytes:
    """The workbook of ``template``, its lists as ``choices`` has them; ``command`` is how
    a filled copy is imported (said in the instructions)."""
    book = Workbook()
    sheet = book.active
    sheet.title = template.sheet
    lists = book.create_sheet(LISTS)
    ranges = _lists(lists, template, choices)
    sheet.append(template.headings())
    sheet.append(_example(template, choices, today))
    for position, column in enumerate(template.columns, 1):
        letter = get_column_letter(position)
        head = sheet.cell(row=1, column=position)
        head.font = Font(bold=True, color="C00000" if column.required else "000000")
        head.fill = REQUIRED_FILL if column.required else OPTIONAL_FILL
        head.alignment = Alignment(horizontal="center")
        sheet.column_dimensions[letter].width = column.width
        example = sheet.cell(row=2, column=position)
        example.font = Font(italic=True, color="808080")
        cells = f"{letter}2:{letter}{ROWS + 1}"
        # The column's style, for the cells typed into it (a month as text, so that Excel
        # keeps 2024-05 as written); no cell is made below the example row.
        style = {"date": "yyyy-mm-dd", "month": "@"}.get(column.kind)
        if style is not None:
            sheet.column_dimensions[letter].number_format = style
            example.number_format = style
        validation = _validation(column, ranges)
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(cells)
    sheet.freeze_panes = "A2"
    _instructions(book.create_sheet(INSTRUCTIONS), template, choices, command)
    book.move_sheet(LISTS, offset=1)  # last: data, instructions, lists
    lists.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _example(template: Template, choices: Choices, today: date) -> list[object]:
    row = example_row(template, choices, today)
    return [date.fromisoformat(v) if c.kind == "date" and isinstance(v, str) and v else v
            for c, v in zip(template.columns, row)]


def _lists(sheet: Worksheet, template: Template, choices: Choices) -> dict[str, str]:
    """Each list the template's columns use, in a column of the lists sheet: the range
    each validation reads (a list with no values has none)."""
    ranges: dict[str, str] = {}
    used = list(dict.fromkeys(c.choices for c in template.columns if c.choices))
    for position, name in enumerate(used, 1):
        values = choices.of(name)
        sheet.cell(row=1, column=position, value=_LIST_NAMES.get(name, name))
        for row, value in enumerate(values, 2):
            sheet.cell(row=row, column=position, value=value)
        if values:
            letter = get_column_letter(position)
            ranges[name] = (f"{quote_sheetname(LISTS)}!${letter}$2:${letter}"
                            f"${len(values) + 1}")
    return ranges


_LIST_NAMES = {"units": "责任单位", "categories": "问题类别", "sources": "发现方式",
               "indicators": "指标编码", "measures": "计量单位", "methods": "测评方式"}


def _validation(column: Column, ranges: dict[str, str]) -> DataValidation | None:
    if column.choices is not None:
        if column.choices not in ranges:
            return None
        return DataValidation(
            type="list", formula1=ranges[column.choices], allow_blank=not column.required,
            showErrorMessage=column.strict, errorTitle=column.heading,
            error=f"请从下拉列表中选择{column.heading}。", promptTitle=column.heading,
            prompt=column.help[:255], showInputMessage=True)
    if column.kind in NUMBERS:
        kind, operator, bounds, said = NUMBERS[column.kind]
        formulas = {f"formula{i}": str(b) for i, b in enumerate(bounds, 1)}
        return DataValidation(
            type=kind, operator=operator, allow_blank=not column.required,
            showErrorMessage=True, errorTitle=column.heading,
            error=f"{column.heading}应为{said}。", promptTitle=column.heading,
            prompt=column.help[:255], showInputMessage=True, **formulas)
    return None


def _instructions(sheet: Worksheet, template: Template, choices: Choices,
                  command: str) -> None:
    sheet.append([f"{template.title}填写说明"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([template.purpose])
    sheet.append([f"在“{template.sheet}”工作表中逐行填写，不要改动第一行的列名；红色列名为必填项。"])
    sheet.append(["第二行是示例（第一列以“示例”开头），导入时跳过，可保留或删除。"])
    sheet.append(["有误的行不会导入，导入结果会逐行列出（行号、列名、填写的值和原因），改正后再次导入即可；"
                  "已导入的行不会重复导入。"])
    sheet.append([f"导入命令：{command}"])
    sheet.append([])
    header = ["列名", "是否必填", "填写说明", "可选值"]
    sheet.append(header)
    for position in range(1, len(header) + 1):
        sheet.cell(row=sheet.max_row, column=position).font = Font(bold=True)
    for column in template.columns:
        values = choices.of(column.choices) if column.choices else []
        said = "、".join(values[:30]) + ("……（见下拉列表）" if len(values) > 30 else "")
        if column.choices and not values:
            said = "（台账中尚无，请先登记）"
        sheet.append([column.heading, "必填" if column.required else "选填", column.help, said])
    for letter, width in zip("ABCD", (14, 10, 60, 50)):
        sheet.column_dimensions[letter].width = width
