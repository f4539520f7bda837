"""The documents an office publishes as they are: sections numbered as a 通报 numbers them,
a CJK font stack in HTML and SVG, and Word documents (bulletin and work summary) with their
title, 文号 line, headings, tables, chart picture, page numbers and East Asian fonts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Cli
from docx import Document
from docx.oxml.ns import qn

from projections.fonts import CJK_FONTS, cjk_font
from tests.tier3_cli.test_metrics_example import built


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    runner = built(f"sqlite:///{tmp_path_factory.mktemp('docs') / 'ledger.db'}")
    yield runner
    runner.close()


def headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("#")][1:]


def test_sections_are_numbered_as_a_bulletin_numbers_them(worked: Cli) -> None:
    assert headings(worked.ok("bulletin", "--lang", "zh", "--month", "2024-05")) == [
        "## 一、总体情况", "## 二、各层级评比排名", "### （一）社区", "### （二）街道",
        "## 三、红黑榜", "## 四、超期未整改问题（截至月末）", "## 五、反弹问题",
        "## 六、近12个月走势"]
    assert headings(worked.ok("bulletin", "--month", "2024-05", "--lang", "en")) == [
        "## 1. Summary", "## 2. Rankings by level", "### 2.1 communities",
        "### 2.2 subdistricts", "## 3. Red and black lists",
        "## 4. Overdue open at the month's end", "## 5. Recurring problems",
        "## 6. The last 12 months"]


def test_without_a_ranking_the_numbers_run_on_without_a_gap(worked: Cli) -> None:
    """December 2023, before any unit was registered: nothing is ranked, so neither the
    rankings nor the red and black lists are sections, and the rest are 二、三、四."""
    assert headings(worked.ok("bulletin", "--lang", "zh", "--month", "2023-12")) == [
        "## 一、总体情况", "## 二、超期未整改问题（截至月末）", "## 三、反弹问题",
        "## 四、近12个月走势"]


def test_html_and_its_chart_name_a_cjk_font_stack(worked: Cli, tmp_path: Path) -> None:
    target = tmp_path / "b.html"
    worked.ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "html", "-o", str(target))
    page = target.read_text(encoding="utf-8")
    stack = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", ' \
            '"WenQuanYi Micro Hei", sans-serif'
    assert f"body{{font-family:{stack};" in page
    assert f"svg text{{font-family:{stack}}}" in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    families = set(re.findall(r"font-family: ([^;\"]+)", svg))
    assert families and all(f.startswith("'Noto Sans CJK SC', 'Source Han Sans SC'")
                            for f in families), families
    assert "<text" in svg and "各层级平均得分" in svg  # labels are text, not paths
    assert "<h2>二、各层级评比排名</h2>" in page and "<h3>（一）社区</h3>" in page


def runs_fonts(element: Any) -> dict[str, str | None]:
    fonts = element.find(qn("w:rFonts"))
    return {} if fonts is None else {k.split("}")[1]: v for k, v in fonts.attrib.items()}


@pytest.mark.skipif(cjk_font() is None, reason="no CJK font on this machine for the chart "
                                                "picture (install fonts-noto-cjk)")
def test_the_bulletin_as_a_word_document(worked: Cli, tmp_path: Path) -> None:
    target = tmp_path / "b.docx"
    assert worked.ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "docx", "-o",
                     str(target)) == f"bulletin of 2024-05 written to {target}\n"
    doc = Document(str(target))
    texts = [p.text for p in doc.paragraphs if p.text]
    assert texts[:2] == ["创建全国文明城市 2024督查通报（2024年5月）", "〔2024〕第5期"]
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == [
        "一、总体情况", "二、各层级评比排名", "三、红黑榜", "四、超期未整改问题（截至月末）",
        "五、反弹问题", "六、近12个月走势"]
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 2"] == [
        "（一）社区", "（二）街道"]
    ranking = doc.tables[1]
    assert [c.text for c in ranking.rows[0].cells] == ["名次", "单位", "得分", "升降",
                                                       "扣分与加分"]
    assert [c.text for c in ranking.rows[1].cells][:3] == ["1", "和平社区（JS02）", "97.50"]
    lists = doc.tables[3]
    assert [c.text for c in lists.rows[1].cells] == ["社区", "和平社区（97.50）",
                                                     "幸福社区（72.00）"]
    assert len(doc.inline_shapes) == 1  # the chart
    picture = doc.part.related_parts[doc.inline_shapes[0]._inline.graphic.graphicData
                                     .pic.blipFill.blip.embed].blob
    assert picture.startswith(b"\x89PNG")
    footer = doc.sections[0].footer._element.xml
    assert 'w:instr="PAGE"' in footer
    # East Asian fonts: 仿宋 for the text, 黑体 for the headings, as offices expect.
    assert runs_fonts(doc.styles["Normal"].element.rPr)["eastAsia"] == "仿宋"
    assert runs_fonts(doc.styles["Heading 1"].element.rPr)["eastAsia"] == "黑体"
    assert "eastAsiaTheme" not in runs_fonts(doc.styles["Heading 1"].element.rPr)


@pytest.mark.skipif(cjk_font() is None, reason="no CJK font on this machine for the chart "
                                                "picture (install fonts-noto-cjk)")
def test_the_fonts_and_the_number_are_configurable(worked: Cli, tmp_path: Path) -> None:
    target = tmp_path / "b.docx"
    worked.ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "docx", "-o", str(target),
              "--body-font", "宋体", "--heading-font", "方正黑体简体",
              "--number", "文明办督〔2024〕12号")
    doc = Document(str(target))
    assert doc.paragraphs[1].text == "文明办督〔2024〕12号"
    assert runs_fonts(doc.styles["Normal"].element.rPr)["eastAsia"] == "宋体"
    assert runs_fonts(doc.styles["Heading 2"].element.rPr)["eastAsia"] == "方正黑体简体"


def test_the_summary_as_a_word_document(worked: Cli, tmp_path: Path) -> None:
    target = tmp_path / "s.docx"
    assert worked.ok("summary", "--from", "2024-05-01", "--to", "2024-05-31", "--unit", "JS",
                     "--format", "docx", "-o", str(target)) == f"summary written to {target}\n"
    doc = Document(str(target))
    texts = [p.text for p in doc.paragraphs if p.text]
    assert texts[:4] == ["建设街道工作总结（2024年5月1日至2024年5月31日）", "〔2024〕5号",
                         "一、总体情况", texts[3]]
    assert texts[3].startswith("2024年5月1日至2024年5月31日，建设街道共开展巡查")
    assert "二、主要数据" in texts
    rows = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert rows[0] == ["项目", "数值"] and ["巡查（次）", "3"] in rows


@pytest.mark.parametrize("args, message", [
    (["bulletin", "--lang", "zh", "--month", "2024-05", "--format", "docx"],
     "--format docx writes a Word document: give --output FILE."),
    (["summary", "--from", "2024-05-01", "--to", "2024-05-31", "--format", "docx"],
     "--format docx writes a Word document: give --output FILE."),
    (["bulletin", "--lang", "zh", "--month", "2024-05", "--format", "docx", "-o", "x.docx", "--body-font", " "],
     "Invalid value for '--body-font': ' ' is not a font name"),
    (["summary", "--from", "2024-05-01", "--to", "2024-05-31", "--format", "pdf"],
     "Invalid value for '--format': 'pdf' is not one of 'md', 'docx', 'json'."),
])
def test_bad_document_options_are_one_error_line(worked: Cli, args: list[str],
                                                 message: str) -> None:
    worked.usage_refused(*args, message=message)


def test_a_chart_picture_is_drawn_with_a_font_that_has_the_glyphs() -> None:
    """The font found for chart pictures draws Chinese: matplotlib finds the glyphs (no
    fallback to a font without them)."""
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine (install fonts-noto-cjk)")
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    assert font in CJK_FONTS
    path = font_manager.findfont(font_manager.FontProperties(family=font),
                                 fallback_to_default=False)
    face = FT2Font(path)
    assert all(face.get_char_index(ord(c)) for c in "各层级平均得分按期整改率社区街道")
