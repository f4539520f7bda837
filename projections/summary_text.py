"""The work summary as words: a paragraph in the style of a 工作总结 that states only the
summary's figures (:func:`paragraph` returns, beside the text, the names of the figures it
cites in order; every number in the text is one of them or a date of the period), its table
of figures, and its title as a document."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from domain.rounding import fixed
from domain.task_fields import SOURCES

if TYPE_CHECKING:
    from projections.summary import Summary

# The figures of a summary, in the order of its table, with their Chinese labels.
LABELS = {
    "visits": "巡查（次）",
    "person_visits": "巡查（人次）",
    "found": "发现问题（个）",
    "notices": "发出整改通知书（份）",
    "reinspections": "复查（次）",
    "rectified": "整改到位（个）",
    "rework": "返工（次）",
    "rework_rate": "返工率（%）",
    "closed": "整改销号（个）",
    "due": "到期整改（个）",
    "on_time": "按期整改（个）",
    "on_time_rate": "按期整改率（%）",
    "overdue_open": "期末超期未整改（个）",
    "reopened": "销号后反弹复开（个）",
    "recurrent_new": "同址同类复发（个）",
    "recurrences": "问题反弹（个）",
    "bulletins": "发布督查通报（期）",
    "targets_assigned": "下达指标任务（项）",
    "targets_completed": "完成指标任务（项）",
    "targets_due": "到期指标任务（项）",
    "targets_met": "按期完成指标任务（项）",
    "targets_overdue": "期末逾期未完成指标任务（项）",
    "surveys": "群众测评（次）",
    "survey_sample": "测评样本（人）",
    "awareness": "知晓率（%）",
    "participation": "参与率（%）",
    "satisfaction": "满意度（%）",
}


# --- the paragraph --------------------------------------------------------------------------


def chinese_day(day: date) -> str:
    """A day as an office writes it: 2024年5月3日."""
    return f"{day.year}年{day.month}月{day.day}日"


def document_title(summary: Summary) -> str:
    """The title of the summary as a document: its scope, and its period in words."""
    return (f"{summary.scope or ''}工作总结（{chinese_day(summary.period.start)}至"
            f"{chinese_day(summary.period.end)}）")


def number(value: int | float) -> str:
    """A figure as the paragraph and the table print it."""
    return fixed(value, 1) if isinstance(value, float) else str(value)


def paragraph(summary: Summary) -> tuple[str, list[str]]:
    """The summary as a paragraph of a 工作总结, and the figures it cites, in order.

    Breakdowns cite ``found_by_source.X`` and ``found_by_category.X``; a rate of nothing
    (no re-inspection, nothing due, no survey) is said in words, without a number."""
    f = summary.figures
    cited: list[str] = []

    def n(name: str) -> str:
        cited.append(name)
        value = f[name]
        assert value is not None, name
        return number(value)

    def part(prefix: str, counts: dict[str, int], labels: dict[str, str]) -> str:
        pieces = []
        for key, count in counts.items():
            cited.append(f"{prefix}.{key}")
            pieces.append(f"{labels.get(key, key)}{count}个")
        return "、".join(pieces)

    scope = summary.scope or "全域"
    text = (f"{chinese_day(summary.period.start)}至{chinese_day(summary.period.end)}，{scope}"
            f"共开展巡查{n('visits')}次、{n('person_visits')}人次，发现问题{n('found')}个")
    if summary.by_source:
        text += f"，其中{part('found_by_source', summary.by_source, SOURCES)}"
    if summary.by_category:
        text += f"；按类别分，{part('found_by_category', summary.by_category, {})}"
    text += (f"。发出整改通知书{n('notices')}份，复查{n('reinspections')}次，"
             f"整改到位{n('rectified')}个，返工{n('rework')}次")
    if f["rework_rate"] is not None:
        text += f"，返工率{n('rework_rate')}%"
    text += f"，整改销号{n('closed')}个。"
    if f["due"]:
        text += (f"本期到期整改{n('due')}个，按期整改{n('on_time')}个，"
                 f"按期整改率{n('on_time_rate')}%")
    else:
        text += "本期无到期整改问题"
    text += (f"；期末超期未整改{n('overdue_open')}个。问题反弹{n('recurrences')}个"
             f"（销号后反弹复开{n('reopened')}个，同址同类复发{n('recurrent_new')}个）。"
             f"发布督查通报{n('bulletins')}期。")
    text += (f"下达指标任务{n('targets_assigned')}项，完成{n('targets_completed')}项；"
             f"本期到期{n('targets_due')}项，按期完成{n('targets_met')}项；"
             f"期末逾期未完成{n('targets_overdue')}项。")
    if f["surveys"]:
        text += (f"开展群众测评{n('surveys')}次，样本{n('survey_sample')}人，"
                 f"知晓率{n('awareness')}%，参与率{n('participation')}%，"
                 f"满意度{n('satisfaction')}%。")
    else:
        text += "本期未开展群众测评。"
    return text, cited


def table(summary: Summary) -> list[dict[str, str]]:
    """The figures as rows (项目, 数值), breakdowns after the figure they break down."""
    rows = []
    for name, label in LABELS.items():
        value = summary.figures[name]
        rows.append({"figure": name, "label": label,
                     "value": "—" if value is None else number(value)})
        if name == "found":
            rows += [{"figure": f"found_by_source.{s}", "label": f"来源·{SOURCES[s]}",
                      "value": str(c)} for s, c in summary.by_source.items()]
            rows += [{"figure": f"found_by_category.{k}", "label": f"类别·{k}",
                      "value": str(c)} for k, c in summary.by_category.items()]
    return rows
