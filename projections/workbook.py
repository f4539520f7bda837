"""The supervision bulletin as an Excel workbook: a cover sheet, a sheet per table, and the
trend with a line chart per figure."""

from __future__ import annotations

import io
from typing import Any

from domain.rounding import exact, rounded
from projections.bulletin import Bulletin, sections, title_lines


def to_xlsx(b: Bulletin) -> bytes:
    """A workbook: a sheet per section, the trend with a line chart per figure."""
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    title, lines = title_lines(b)
    cover = book.active
    cover.title = "通报" if b.lang == "zh" else "bulletin"
    cover.append([title])
    cover["A1"].font = Font(bold=True, size=14)
    for line in lines:
        cover.append([line])
    used: set[str] = {cover.title}
    for section in sections(b):
        for table in section.tables:
            heading = section.heading + (f" · {table.label}" if table.label else "")
            sheet = book.create_sheet(_sheet_name(heading, used))
            sheet.append([f"{section.heading} {table.title}" if table.title else heading])
            sheet["A1"].font = Font(bold=True)
            sheet.append(table.header)
            for cell in sheet[2]:
                cell.font = Font(bold=True)
            for row in table.rows:
                sheet.append([_cell(c) for c in row])
    if b.trend:
        sheet = book.create_sheet(_sheet_name(b.label("chart_scores"), used))
        window = sorted({p["month"] for s in b.trend.values() for p in s})
        levels = list(b.trend)
        sheet.append([b.label("month"), *(b.level(lv) for lv in levels),
                      *(f"{b.level(lv)} {b.label('on_time_rate')}" for lv in levels)])
        for month in window:
            points = [{p["month"]: p for p in b.trend[lv]}.get(month) for lv in levels]
            sheet.append([month, *(p["mean_score"] if p else None for p in points),
                          *(rounded(exact(p["on_time_rate"]) * 100, 1) if p and p["on_time_rate"]
                            is not None else None for p in points)])
        for offset, key, anchor in ((0, "chart_scores", "H2"),
                                    (len(levels), "chart_on_time", "H20")):
            chart = LineChart()
            chart.title = b.label(key)
            chart.height, chart.width = 7.5, 16
            data = Reference(sheet, min_col=2 + offset, max_col=1 + offset + len(levels),
                             min_row=1, max_row=1 + len(window))
            chart.add_data(data, titles_from_data=True)
            chart.set_categories(Reference(sheet, min_col=1, min_row=2,
                                           max_row=1 + len(window)))
            sheet.add_chart(chart, anchor)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(heading: str, used: set[str]) -> str:
    # Excel sheet names: at most 31 characters, none of []:*?/\ .
    name = "".join(c for c in heading if c not in "[]:*?/\\").strip()[:31]
    base, n = name, 2
    while name in used:
        name = f"{base[:28]}({n})"
        n += 1
    used.add(name)
    return name


def _cell(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
