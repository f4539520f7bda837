"""Writes the two example 台账 workbooks beside this file, as offices keep them: a title and
a 填报单位 line above the header, 责任单位 merged over each unit's block of rows, dates typed
in full-width digits or as Excel dates, cells padded with ideographic spaces, a 合计 row, a
signature line and a note below the table.

    python examples/workbooks/make_workbooks.py

- 建设街道2024年5月问题整改台账.xlsx: one sheet (named 5月, not 台账); its units are those of
  the README's tour (幸福社区, 和平社区, 城管局). Import it with
  examples/mappings/taizhang_workbook.toml.
- 城关街道2024年6月台账.xlsx: a 说明 sheet first, then the 台账; its 社区 and 物业 are new
  to the ledger: examples/mappings/jiedao_register.toml registers them under 城关街道 (CG).
- 和平社区2024年5月台账.csv: a 社区's own list as Excel saves "CSV" on a Chinese Windows
  (GB18030, the header in the first row). Import it with examples/mappings/taizhang_csv.toml
  and ``--encoding gb18030``.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment

HERE = Path(__file__).resolve().parent
HEADER = ["序号", "问题类别", "问题描述", "地点", "责任单位", "发现时间", "发现方式", "整改\n时限",
          "整改情况", "复查结果", "销号时间"]
S = "\u3000"  # the ideographic space offices pad cells with

# 建设街道, May 2024: (category, description, place, found, how, limit, done, result, closed)
JIANSHE = {
    "幸福社区": [
        ("环境卫生", "电线杆牛皮癣", "幸福路12号", datetime(2024, 5, 3, 10), "巡查",
         datetime(2024, 5, 10), "已清除", "合格", datetime(2024, 5, 8, 16, 30)),
        ("交通秩序", "占道经营", f"{S}幸福路口{S}", "２０２４年５月４日", "群众举报", "７天",
         None, None, None),
        ("环境卫生", "垃圾桶满溢", "幸福路20号", "2024/05/06", "巡查发现", "3天",
         "已清运", "合格", "2024年5月8日"),
        ("文化环境", "公益广告破损", "幸福广场", datetime(2024, 5, 7, 9), "督查", "2024-05-14",
         "已更换", "通过", datetime(2024, 5, 12, 15)),
        ("环境卫生", "绿化带垃圾", "幸福路35号", datetime(2024, 5, 9, 8, 30), "巡查", "5天",
         "正在整改", "不合格", None),
        ("交通秩序", "非机动车乱停", "幸福小区北门", "2024.05.10", "12345热线", "7天",
         None, None, None),
        ("集贸市场", "门前堆物", "幸福菜场", datetime(2024, 5, 13, 10), "巡查", "2天",
         "已清理", "合格", datetime(2024, 5, 14, 17)),
    ],
    "和平社区": [
        ("环境卫生", "卫生死角", "和平街3号", "2024/05/05", "媒体曝光", "2024-05-12",
         "已清理并设专人保洁", "合格", "2024年5月15日"),
        ("集贸市场", "乱堆乱放", "和平菜市场", datetime(2024, 5, 7), "巡查发现",
         datetime(2024, 5, 9), "已整改", "通过", datetime(2024, 5, 9, 11)),
        ("环境卫生", "楼道堆物", f"和平小区5栋{S}", "２０２４－０５－０８", "群众反映", "10天",
         None, None, None),
        ("文化环境", "宣传栏内容过期", "和平街口", datetime(2024, 5, 11, 9), "上级暗访", "3天",
         "已更新", "合格", datetime(2024, 5, 13, 10)),
        ("交通秩序", "占用盲道", "和平街18号", datetime(2024, 5, 14, 15), "巡查", "5天",
         None, None, None),
        ("环境卫生", "下水道堵塞", "和平小区2栋", "2024/05/16", "12345热线", "7天",
         "已疏通", "整改到位", "2024/05/20"),
        ("集贸市场", "活禽宰杀", "和平菜市场东侧", datetime(2024, 5, 20, 8), "暗访", "3天",
         "已取缔", "合格", datetime(2024, 5, 22, 16)),
    ],
    "城管局": [
        ("建筑工地", "工地围挡破损", "建设路88号", datetime(2024, 5, 6, 14), "暗访", None,
         "正在整改", "不合格", None),
        ("建筑工地", "渣土车未覆盖", "建设路与幸福路口", datetime(2024, 5, 15, 7), "巡查",
         "2天", "已处罚并整改", "合格", datetime(2024, 5, 16, 18)),
        ("环境卫生", "夜市油烟", "建设夜市", "2024年5月21日", "群众举报", "７天",
         None, None, None),
        ("交通秩序", "违章停车", "建设路66号", datetime(2024, 5, 27, 9), "巡查", "3天",
         "已劝离", "合格", datetime(2024, 5, 28, 10)),
    ],
}

# 城关街道, June 2024: new 社区 and a 物业 company.
CHENGGUAN = {
    "东关社区": [
        ("环境卫生", "垃圾乱倒", "东关路1号", datetime(2024, 6, 3, 9), "巡查", "5天",
         "已清理", "合格", datetime(2024, 6, 5, 10)),
        ("交通秩序", "占道经营", "东关路口", "２０２４年６月４日", "群众举报", "７天",
         None, None, None),
        ("文化环境", "小广告", "东关小区", datetime(2024, 6, 10, 14), "巡查", "3天",
         "已清除", "合格", datetime(2024, 6, 12, 9)),
    ],
    "西关社区": [
        ("环境卫生", "绿化带毁损", "西关路9号", "2024/06/05", "督查", "10天",
         None, None, None),
        ("集贸市场", "出店经营", "西关菜场", datetime(2024, 6, 11, 8), "暗访", "2天",
         "已整改", "合格", datetime(2024, 6, 12, 17)),
    ],
    "阳光物业服务中心": [
        ("环境卫生", "楼道杂物", "阳光小区3栋", datetime(2024, 6, 6, 10), "巡查", "3天",
         "已清理", "合格", datetime(2024, 6, 8, 11)),
        ("环境卫生", "垃圾分类不到位", "阳光小区", datetime(2024, 6, 18, 9), "群众反映", "7天",
         None, None, None),
    ],
}

# 和平社区's own list, late May 2024 (a CSV: dates as text, 责任单位 on every row).
HEPING_CSV = [
    ("1", "环境卫生", "垃圾桶破损", "和平街20号", "和平社区", "2024-05-23 09:00", "巡查",
     "2024-05-27", "已更换", "合格", "2024-05-26 15:00"),
    ("2", "交通秩序", "电动车飞线充电", "和平小区7栋", "和平社区", "2024-05-24 20:00",
     "12345热线", "3天", "", "", ""),
    ("3", "文化环境", "墙面涂鸦", "和平街口西侧", "和平社区", "2024/05/28", "巡查发现",
     "5个工作日", "", "", ""),
]


def write_csv(path: Path) -> None:
    """The CSV in GB18030, as a Chinese Excel saves it."""
    with path.open("w", encoding="gb18030", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([h.replace("\n", "") for h in HEADER])
        writer.writerows(HEPING_CSV)


def write_ledger(sheet: Any, title: str, office: str, day: str,
                 units: dict[str, list[tuple[Any, ...]]]) -> None:
    """A 台账 on ``sheet``: title, 填报单位 line, a blank row, header, blocks, 合计, signature."""
    width = len(HEADER)
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append([f"填报单位：{office}", None, None, None, None, None, None, None,
                  f"填报日期：{day}"])
    sheet.append([])
    sheet.append(HEADER)
    header_row = sheet.max_row
    number = 0
    for unit, rows in units.items():
        first = sheet.max_row + 1
        for index, (category, what, place, found, how, limit, done, result, closed) in \
                enumerate(rows):
            number += 1
            named = f"{S}{unit}{S}" if index == 0 else None  # the block's merged cell
            sheet.append([number, category, what, place, named, found, how, limit, done,
                          result, closed])
        if len(rows) > 1:
            sheet.merge_cells(start_row=first, start_column=5, end_row=sheet.max_row,
                              end_column=5)
            sheet.cell(first, 5).alignment = Alignment(vertical="center")
    sheet.append(["合　计", None, None, None, f"共{number}条"])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row,
                      end_column=4)
    sheet.append([])
    sheet.append([f"制表人：王芳{S * 4}审核人：李强{S * 4}"])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row,
                      end_column=width)
    sheet.append(["填报说明：整改时限填写日期或天数；已销号的问题填写销号时间。"])
    for column, size in zip("ABCDEFGHIJK", (6, 10, 18, 16, 12, 18, 10, 12, 16, 10, 18),
                            strict=True):
        sheet.column_dimensions[column].width = size
    sheet.freeze_panes = sheet.cell(header_row + 1, 1)


def main() -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "5月"
    write_ledger(sheet, "建设街道文明创建问题整改台账（2024年5月）", "建设街道办事处",
                 "2024年5月31日", JIANSHE)
    book.save(HERE / "建设街道2024年5月问题整改台账.xlsx")

    book = Workbook()
    notes = book.active
    notes.title = "说明"
    notes.append(["本台账按月填报，责任单位相同的问题合并单元格。"])
    write_ledger(book.create_sheet("6月台账"), "城关街道文明创建问题整改台账（2024年6月）",
                 "城关街道办事处", "2024年6月28日", CHENGGUAN)
    book.save(HERE / "城关街道2024年6月台账.xlsx")

    write_csv(HERE / "和平社区2024年5月台账.csv")


if __name__ == "__main__":
    main()
