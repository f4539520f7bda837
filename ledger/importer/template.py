"""Batch templates (批量导入模板): workbooks an office fills and imports without a mapping.

Each template's columns are declared once, here (:data:`TEMPLATES`): the workbook
``taizhang template NAME`` writes (``template_book.py``) takes its headers, help texts and
data validation lists from the declaration, and ``import FILE --template NAME`` reads a
filled copy by the same declaration — the ``assign`` template through the task importer,
with the mapping :func:`task_mapping` builds from it; ``survey`` and ``targets`` through
``records.py``, with the indicator use cases. A row whose first cell starts with 示例 (the
example row every template carries) is skipped, as a note line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from domain.base import Refused
from domain.target import MEASURES
from domain.task_fields import SOURCES
from ledger.importer.mapping import Mapping, Spec
from ledger.importer.tables import Table

EXAMPLE = "示例"  # the first cell of a template's example row: never imported
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y年%m月%d日",
                "%Y.%m.%d")
SURVEY_METHODS = ("问卷调查", "入户问卷", "电话调查", "网络问卷", "街头拦访")


@dataclass(frozen=True)
class Column:
    """One column of a template: the field it fills, its header and how it is filled."""

    field: str  # the mapping's field (assign) or the use case's argument (survey, targets)
    heading: str
    help: str  # 填写说明, in the instructions sheet
    required: bool = True
    choices: str | None = None  # the list its cells are checked against (see Choices)
    strict: bool = True  # only values from the list (else the list only suggests)
    kind: str = "text"  # text | date | month | percent | whole | number
    default: str | None = None  # an empty cell's value
    refusals: tuple[str, ...] = ()  # how a domain refusal about this column begins
    width: int = 14


@dataclass(frozen=True)
class Template:
    name: str  # as the commands name it: assign, survey, targets
    title: str  # the workbook's title, 交办模板 …
    sheet: str  # the data sheet's name
    purpose: str  # one line for the instructions sheet
    columns: tuple[Column, ...]

    def headings(self) -> list[str]:
        return [c.heading for c in self.columns]

    def column(self, field_: str) -> Column:
        return next(c for c in self.columns if c.field == field_)


@dataclass
class Choices:
    """The lists a template's cells are checked against, as the ledger has them when the
    template is written: its active units (by name, by code where a name is shared), the
    campaign's categories and the indicator codes of the latest version."""

    units: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=lambda: list(SOURCES.values()))
    measures: list[str] = field(default_factory=lambda: list(MEASURES))
    methods: list[str] = field(default_factory=lambda: list(SURVEY_METHODS))

    def of(self, name: str) -> list[str]:
        return list(getattr(self, name))


def unit_choices(units: list[dict[str, Any]]) -> list[str]:
    """What a template's unit list offers: each active unit by its name, or by its code
    where another unit has the same name (the importers take either)."""
    active = [u for u in units if not u.get("retired")]
    names = [u["name"] for u in active]
    return [u["name"] if names.count(u["name"]) == 1 else u["code"] for u in active]


_SEQ = Column("seq", "序号", f"行号，可不填；以“{EXAMPLE}”开头的行是示例，不导入。",
              required=False, width=8)
_UNIT = Column("unit", "责任单位", "从下拉列表中选择（单位名称或编码）。", choices="units",
               width=18)

TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("assign", "交办模板", "交办", "批量交办问题整改任务：每行一个问题，导入后即交办给责任单位。", (
        Column("id", "编号", f"本批事项的编号，在全部交办模板中唯一（如 2024-06-001）；同一编号再次"
               f"导入不会重复交办。以“{EXAMPLE}”开头的行是示例，不导入。", width=14),
        _UNIT,
        Column("category", "问题类别", "从下拉列表中选择（测评活动的问题类别）。",
               choices="categories"),
        Column("source", "发现方式", "从下拉列表中选择。", choices="sources"),
        Column("description", "问题描述", "问题的具体情况。", width=30),
        Column("location", "地点", "问题所在的位置。", width=20),
        Column("assigned", "发现时间", "日期，或日期和时间（如 2024-06-03 或 2024-06-03 09:30）。",
               kind="date", width=18),
        Column("deadline", "整改时限", "日期（如 2024-06-10），或天数（7天），或工作日（5个工作日）。",
               width=14),
        Column("notes", "备注", "可不填，记入交办记录。", required=False, width=20),
    )),
    Template("survey", "测评结果模板", "测评结果", "录入群众满意度测评结果：每行一个单位一个月份的一次测评。", (
        _SEQ, _UNIT,
        Column("month", "测评月份", "年-月，如 2024-05。", kind="month",
               refusals=("survey month",), width=12),
        Column("awareness", "知晓率(%)", "百分数，0 到 100。", kind="percent",
               refusals=("awareness",), width=11),
        Column("participation", "参与率(%)", "百分数，0 到 100。", kind="percent",
               refusals=("participation",), width=11),
        Column("satisfaction", "满意度(%)", "百分数，0 到 100。", kind="percent",
               refusals=("satisfaction",), width=11),
        Column("sample", "样本量(人)", "参与测评的人数，整数。", kind="whole",
               refusals=("sample",), width=11),
        Column("source", "测评机构", "可不填，默认“文明办”（如 第三方测评机构）。", required=False,
               default="文明办", refusals=("survey source",), width=16),
        Column("method", "测评方式", "可从下拉列表中选择，也可填写其他方式；不填默认“问卷调查”。",
               required=False, choices="methods", strict=False, default="问卷调查",
               refusals=("survey method",), width=12),
        Column("note", "备注", "可不填。", required=False, width=20),
    )),
    Template("targets", "指标任务模板", "指标任务", "指标分解：把测评体系的指标分解为各单位的量化任务，每行一个。", (
        _SEQ,
        Column("code", "指标编码", "从下拉列表中选择（现行测评体系的指标编码）。",
               choices="indicators", refusals=("unknown indicator",), width=12),
        _UNIT,
        Column("target", "目标值", "大于 0 的数；期、块、人为整数，% 不超过 100。", kind="number",
               refusals=("target ",), width=10),
        Column("measure", "计量单位", "从下拉列表中选择：期、块、人或 %。", choices="measures",
               refusals=("unit of measure",), width=10),
        Column("due", "完成时限", "日期，如 2024-06-30。", kind="date",
               refusals=("due date",), width=14),
        Column("note", "备注", "可不填。", required=False, width=20),
    )),
)}


def template_named(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise Refused("模板必须是 {choices} 之一，而不是 {name!r}", choices=", ".join(TEMPLATES),
                      name=name) from None


def check_header(template: Template, table: Table) -> None:
    """Refuses a file that is not a filled copy of ``template``, naming a column it lacks."""
    every = template.name == "assign"  # the task importer reads every column it maps
    for column in template.columns:
        if (column.required or every) and column.heading not in table.header:
            raise Refused("{file} 不是填好的{title}（taizhang 模板 {template}）：表头中没有列 "
                          "{column!r}（表头有：{header}）", file=table.name,
                          title=template.title, template=template.name, column=column.heading,
                          header=", ".join(h for h in table.header if h))


def example_row(template: Template, choices: Choices, today: date) -> list[Any]:
    """The filled example row: values the import would take, from the ledger's own lists."""
    def first(name: str, fallback: str) -> str:
        found = choices.of(name)
        return found[0] if found else fallback

    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    values: dict[str, Any] = {
        "id": f"{EXAMPLE}-001", "seq": EXAMPLE, "unit": first("units", "幸福社区"),
        "category": first("categories", "环境卫生"), "source": first("sources", "巡查发现"),
        "description": "电线杆上张贴小广告", "location": "幸福路12号",
        "assigned": today.isoformat(), "deadline": "5个工作日", "notes": "",
        "month": month, "awareness": 85, "participation": 60.5, "satisfaction": 90,
        "sample": 200, "method": "入户问卷", "note": "",
        "code": first("indicators", "1.1"), "target": 20, "measure": "块",
        "due": (today + timedelta(days=30)).isoformat(),
    }
    values["source"] = values["source"] if template.name == "assign" else "第三方测评机构"
    return [values.get(c.field, "") for c in template.columns]


def task_mapping(template: Template) -> Mapping:
    """The mapping by which the task importer reads a filled ``assign`` template: its
    columns from the declaration, units and categories the ledger must already have, the
    deadline required, the example row skipped."""
    columns = {c.field: Spec((c.heading,)) for c in template.columns if c.field != "notes"}
    notes = tuple(c.heading for c in template.columns if c.field == "notes")
    return Mapping(
        path=f"template {template.name}", source=template.title, format="xlsx",
        encoding="utf-8", sheet=None, header_row=None, columns=columns, notes=notes,
        defaults={}, values={}, date_formats=DATE_FORMATS, time_zone=None, statuses={},
        deadline_missing="reject", deadline_days=None, deadline_days_by_category={},
        deadline_working_days=None, unknown_units="refuse", unit_kind="部门",
        unit_parent=None, unit_kinds=(), unknown_categories="refuse", reassign_to=None,
        skip_markers={"note line": (EXAMPLE,)})


def table_mapping(template: Template) -> Mapping:
    """What opening a filled ``survey`` or ``targets`` template needs of a mapping: its
    headings (to find the header row and sheet) and the example row's marker. Its rows are
    read by ``records.py``, by the declaration, not by the task importer."""
    return Mapping(
        path=f"template {template.name}", source=template.title, format="xlsx",
        encoding="utf-8", sheet=None, header_row=None, columns={},
        notes=tuple(template.headings()), defaults={}, values={}, date_formats=DATE_FORMATS,
        time_zone=None, statuses={}, deadline_missing="reject", deadline_days=None,
        deadline_days_by_category={}, deadline_working_days=None, unknown_units="refuse",
        unit_kind="部门", unit_parent=None, unit_kinds=(), unknown_categories="refuse",
        reassign_to=None, skip_markers={"note line": (EXAMPLE,)})
