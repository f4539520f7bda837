"""Word documents (.docx) as offices issue them: the supervision bulletin (督查通报) and the
work summary (工作总结), written with python-docx.

The layout follows the usual form of an official document (GB/T 9704): A4 with its margins,
the title centred in the heading font, the 文号 line under it, sections numbered 一、 with
parts （一）, body text in 仿宋 and headings in 黑体 (both configurable), tables with a
repeated header row, the chart as a picture, and the page number centred in the footer
(— 1 —). Chinese text takes the East Asian font of each style (``w:eastAsia``), Latin
letters and digits the Latin font. (The command line imports this module only when a
Word document is asked for.)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from wcwidth import wcswidth

from projections.bulletin import Bulletin, chart_titles, section_number, sections, title_lines
from projections.charts import trend_png
from projections.fonts import WordStyle

# Sizes in points, as offices name them.
BODY_SIZE = 16     # 三号
TITLE_SIZE = 22    # 二号
TABLE_SIZE = 10.5  # 五号
NOTE_SIZE = 12     # 小四
TEXT_WIDTH_CM = 15.6  # A4 less the margins
CHAR_CM = TABLE_SIZE / 72 * 2.54 / 2  # a Latin character of table text (a CJK one: two)
PADDING_CM = 0.45     # a cell's margins
SHORT_CM = 4.0        # a column this narrow keeps its text on one line


class WordDocument:
    """A document being written: title, 文号 line, numbered headings, text, tables,
    pictures; ``bytes()`` gives the .docx file."""
    def __init__(self, style: WordStyle) -> None:
        self.style = style
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
        self._style("Normal", style.body_font, BODY_SIZE)
        for name in ("Heading 1", "Heading 2"):
            self._style(name, style.heading_font, BODY_SIZE)
        self._page_numbers()

    def _style(self, name: str, east_asian: str, size: float) -> None:
        found = self.doc.styles[name]
        found.font.size = Pt(size)
        found.font.color.rgb = RGBColor(0, 0, 0)
        if name != "Normal":
            found.font.bold = False  # 黑体 is bold enough; offices do not embolden it
        _set_fonts(found.element.get_or_add_rPr(), self.style.latin_font, east_asian)

    def _page_numbers(self) -> None:
        footer = self.doc.sections[0].footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
        footer.add_run("— ")
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), "PAGE")
        number = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"
        number.append(text)
        field.append(number)
        footer._p.append(field)
        footer.add_run(" —")

    def title(self, text: str, number: str) -> None:
        """The title, centred, and the 文号 line under it."""
        heading = self.doc.add_paragraph()
        heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = heading.add_run(text)
        run.font.size = Pt(TITLE_SIZE)
        _set_fonts(run._r.get_or_add_rPr(), self.style.latin_font, self.style.heading_font)
        line = self.doc.add_paragraph(number)
        line.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def heading(self, text: str, level: int = 1) -> None:
        self.doc.add_heading(text, level=level)

    def paragraph(self, text: str, *, small: bool = False, indent: bool = True) -> None:
        paragraph = self.doc.add_paragraph()
        if indent:
            paragraph.paragraph_format.first_line_indent = Pt(32)  # two characters
        run = paragraph.add_run(text)
        if small:
            run.font.size = Pt(NOTE_SIZE)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        table = self.doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        first = table.rows[0]
        _repeat_header(first)
        for cell, text in zip(first.cells, header, strict=True):
            self._cell(cell, text, bold=True)
        for row in rows:
            cells = table.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                self._cell(cell, text)
        self._widths(table, [header, *rows])
        self.doc.add_paragraph()

    def _widths(self, table: Any, rows: Sequence[Sequence[str]]) -> None:
        """Columns as wide as their text needs, in the page's width: short columns (ids,
        dates, figures) whole on one line, long ones (deductions, what happened) sharing
        the rest."""
        needs = [max(wcswidth(row[i]) for row in rows) * CHAR_CM + PADDING_CM
                 for i in range(len(rows[0]))]
        if sum(needs) <= TEXT_WIDTH_CM:
            widths = [need * TEXT_WIDTH_CM / sum(needs) for need in needs]
        else:
            short = [need if need <= SHORT_CM else None for need in needs]
            left = TEXT_WIDTH_CM - sum(w for w in short if w is not None)
            long = sum(need for need, w in zip(needs, short, strict=True) if w is None)
            widths = [w if w is not None else max(2.0, left * need / long)
                      for need, w in zip(needs, short, strict=True)]
        table.autofit = False
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Cm(width)
            for cell in column.cells:
                cell.width = Cm(width)

    def _cell(self, cell: Any, text: str, bold: bool = False) -> None:
        paragraph = cell.paragraphs[0]
        run = paragraph.add_run(text)
        run.font.size = Pt(TABLE_SIZE)
        run.bold = bold
        if bold:
            _set_fonts(run._r.get_or_add_rPr(), self.style.latin_font, self.style.heading_font)

    def picture(self, png: bytes, width_cm: float = TEXT_WIDTH_CM) -> None:
        self.doc.add_picture(io.BytesIO(png), width=Cm(width_cm))
        self.doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    def bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()


def _set_fonts(rpr: Any, latin: str, east_asian: str) -> None:
    """Name the fonts of a style's or run's properties: Latin and East Asian, dropping the
    theme fonts that would otherwise win over them."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    for slot in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(slot), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def _repeat_header(row: Any) -> None:
    properties = row._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    properties.append(repeat)


# --- the documents ---------------------------------------------------------------------------

def bulletin_docx(b: Bulletin, number: str, style: WordStyle) -> bytes:
    """The bulletin as a Word document."""
    title, lines = title_lines(b)
    doc = WordDocument(style)
    doc.title(title, number)
    for line in lines:
        doc.paragraph(line, small=True)
    for section in sections(b):
        doc.heading(section.heading, 1)
        if section.key == "trend" and b.trend:
            doc.picture(trend_png(b.trend, b.level, chart_titles(b)))
        for table in section.tables:
            if table.title:
                doc.heading(table.title, 2)
            if table.rows:
                doc.table(table.header, table.rows)
            else:
                doc.paragraph(b.label("none"))
    return doc.bytes()


def summary_docx(title: str, number: str, text: str, rows: Sequence[Sequence[str]],
                 style: WordStyle) -> bytes:
    """The work summary as a Word document: its paragraph, then its figures."""
    doc = WordDocument(style)
    doc.title(title, number)
    doc.heading(f"{section_number(1, 'zh')}总体情况", 1)
    doc.paragraph(text)
    doc.heading(f"{section_number(2, 'zh')}主要数据", 1)
    doc.table(["项目", "数值"], rows)
    return doc.bytes()
