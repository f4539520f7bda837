"""Writes the example indicator workbook (测评体系) beside this file: one sheet, the Chinese
headings 编码, 上级编码, 指标名称, 类别, 分值, 测评方法 in its first row.

    python examples/indicators/make_indicators.py

The README imports it (``taizhang indicators import examples/indicators/测评体系2024.xlsx``)
and decomposes indicator 1.1 into a target for 幸福社区."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
HEADER = ["编码", "上级编码", "指标名称", "类别", "分值", "测评方法"]
ROWS = [
    ("1", "", "公共环境", "环境卫生", 30, "实地考察"),
    ("1.1", "1", "公益广告设置", "文化环境", 10, "实地考察：主要街道、广场公益广告数量"),
    ("1.2", "1", "背街小巷环境卫生", "环境卫生", 10, "实地考察：无乱贴乱画、无垃圾堆积"),
    ("1.3", "1", "农贸市场规范管理", "市场秩序", 10, "实地考察：划行归市、无占道经营"),
    ("2", "", "志愿服务", "志愿服务", 20, "材料审核"),
    ("2.1", "2", "注册志愿者占常住人口比例", "志愿服务", 10, "材料审核：注册率（%）"),
    ("2.2", "2", "志愿服务站点建设", "志愿服务", 10, "实地考察：社区志愿服务站"),
    ("3", "", "群众满意度", "群众工作", 20, "问卷调查"),
    ("3.1", "3", "群众对创建工作的满意度", "群众工作", 20, "问卷调查：满意率（%）"),
]


def main() -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "测评体系"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(list(row))
    book.save(HERE / "测评体系2024.xlsx")


if __name__ == "__main__":
    main()
