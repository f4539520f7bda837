"""The supervision bulletin (督查通报) of a month: summary figures, each level's ranking, the
red and black lists (红黑榜), overdue and recurring problems by unit, and each level's scores
and on-time rate over the last twelve months — as Markdown or HTML (with the chart as an
inline SVG picture) here; as an Excel workbook in :mod:`projections.workbook`, as a Word
document in :mod:`projections.word`. What it says is collected in
:mod:`projections.bulletin_gather`.

A published month's bulletin is computed from what the publication froze; any other month's
from the ledger as it stands. Either way it quotes the audit head it was computed at.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from domain.figures import FIGURES, RATE
from domain.scoring import ScoreLine
from domain.rounding import exact, fixed
from domain.task_fields import SOURCES
from i18n import _
from projections import charts
from projections.fonts import CSS_FONT_STACK
from projections.evaluation import Ranking
from projections.times import for_people

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{campaign}督查通报（{year}年{month}月）",
        "basis": "依据台账第 {position} 条记录（审计链哈希 {head}）计算；评分细则第 {version} 版"
                 "《{rules}》。",
        "published": "本月评比已于 {at} 发布，以下为发布时冻结的结果。",
        "unpublished": "本月评比尚未发布，以下按台账当前记录计算。",
        "summary": "总体情况", "ranking": "各层级评比排名", "lists": "红黑榜",
        "overdue": "超期未整改问题（截至月末）", "recurring": "反弹问题",
        "trend": "近12个月走势", "figure": "指标", "value": "数值",
        "rank": "名次", "unit": "单位", "score": "得分", "change": "升降",
        "terms": "扣分与加分", "red": "红榜", "black": "黑榜", "none": "无",
        "task": "任务", "category": "类别", "location": "地点", "source": "来源",
        "deadline": "期限", "days": "超期天数", "how": "情形", "at": "时间",
        "reopened": "销号后反弹重开", "recurring_after": "{task} 销号后 {days} 天内同一地点再现",
        "month": "月份", "level": "层级", "units": "单位数", "mean_score": "平均得分",
        "on_time_rate": "按期整改率", "chart_scores": "各层级平均得分",
        "chart_on_time": "各层级按期整改率", "new": "新",
    },
    "en": {
        "title": "{campaign} supervision bulletin, {year}-{month:02d}",
        "basis": "Computed from the ledger up to position {position} (audit chain hash {head}); "
                 "scoring rules version {version} ({rules}).",
        "published": "This month's ranking was published {at}; these are the frozen results.",
        "unpublished": "This month's ranking is not published; computed from the ledger as it "
                       "stands.",
        "summary": "Summary", "ranking": "Rankings by level",
        "lists": "Red and black lists", "overdue": "Overdue open at the month's end",
        "recurring": "Recurring problems", "trend": "The last 12 months",
        "figure": "figure", "value": "value", "rank": "rank", "unit": "unit",
        "score": "score", "change": "change", "terms": "deductions and rates",
        "red": "red list", "black": "black list", "none": "none", "task": "task",
        "category": "category", "location": "location", "source": "source",
        "deadline": "deadline", "days": "days overdue", "how": "what", "at": "when",
        "reopened": "reopened after closure",
        "recurring_after": "back {days} days after {task} was closed",
        "month": "month", "level": "level", "units": "units", "mean_score": "mean score",
        "on_time_rate": "on-time rate", "chart_scores": "Mean score by level",
        "chart_on_time": "On-time rectification rate by level", "new": "new",
    },
}
LEVEL_NAMES = {"en": {"社区": "communities", "街道": "subdistricts", "部门": "departments",
                      "物业": "property companies"}}
SUMMARY_FIGURES = ("assigned", "complaints", "media", "unannounced", "due", "on_time",
                   "on_time_rate", "rework_rate", "mean_days", "overdue_open", "recurrences",
                   "recurrence_rate", "inspections", "inspection_coverage",
                   "complaint_response_hours", "surveyed", "awareness", "participation",
                   "satisfaction")


@dataclass(frozen=True)
class Bulletin:
    """Everything a month's bulletin says, before it is laid out."""

    month: str
    lang: str
    campaign: str
    position: int
    head: str
    published_at: str | None
    rules_version: int
    rules_name: str
    totals: dict[str, Any]
    rankings: dict[str, Ranking]
    overdue: list[dict[str, Any]]
    recurring: list[dict[str, Any]]
    trend: dict[str, list[dict[str, Any]]]

    def label(self, key: str, **values: Any) -> str:
        return LABELS[self.lang][key].format(**values)

    def level(self, level: str) -> str:
        return LEVEL_NAMES.get(self.lang, {}).get(level, level)


# --- values as text -------------------------------------------------------------------------

def shown(name: str, value: Any) -> str:
    """A figure as people read it: rates in per cent, hours and days to one decimal."""
    if value is None:
        return "—"
    if FIGURES[name].nature == RATE:
        return f"{fixed(exact(value) * 100, 1)}%"
    if isinstance(value, (float, Fraction)):
        return fixed(value, 1)
    return str(value)


def term_text(line: ScoreLine, lang: str = "zh") -> str:
    """One term of a score: a deduction (count × points) or a rate (value × weight)."""
    label = FIGURES[line.figure].label(lang)
    if line.kind == "deduction":
        return f"{label} {line.used}×{points_text(line.factor)}={signed(line.points)}"
    text = "—" if line.value is None else shown(line.figure, line.value)
    if line.value is None or Fraction(line.value) != line.used:
        text += f"→{shown(line.figure, line.used)}"
    return f"{label} {text}×{points_text(line.factor)}={signed(line.points)}"


def points_text(value: Fraction) -> str:
    return f"{float(value):g}"


def signed(value: Fraction) -> str:
    return fixed(value, 2, sign=True)


def local_text(at: str, zone: Any) -> str:
    """A date as it is; a moment in the campaign's zone, to the minute."""
    return for_people(at, zone)


def item_detail(item: dict[str, Any], zone: Any) -> str:
    """What one item of ``metrics explain`` says about its task (deadline, days …), in the
    language in use."""
    kind = item["kind"]
    if kind == "due":
        return (_("整改期限 {deadline}，按期") if item["on_time"]
                else _("整改期限 {deadline}，超期")).format(deadline=item["deadline"])
    if kind == "overdue":
        if item["to"] == "9999-12":
            return _("整改期限 {deadline}，至今仍超期未整改").format(deadline=item["deadline"])
        return _("整改期限 {deadline}，超期至 {to}").format(deadline=item["deadline"],
                                                       to=item["to"])
    if kind == "verified":
        return _("{days} 天").format(days=fixed(item["days"], 1))
    if kind == "response":
        return _("{hours} 小时").format(hours=fixed(item["hours"], 1))
    if kind == "reinspection":
        return _("复查未通过（返工）") if item["failed"] else _("复查合格")
    if kind == "assigned":
        source = SOURCES.get(item["source"])
        text = _("{source}，{category}，{location}").format(
            source=_(source) if source else item["source"], category=item["category"],
            location=item["location"])
        if "after" in item:
            text += _("；在 {task} 于 {at} 销号后的观察期内").format(
                task=item["after"]["task"], at=local_text(item["after"]["at"], zone))
        return text
    if kind == "closed":
        return _("以整改到位销号，{category}，{location}").format(category=item["category"],
                                                         location=item["location"])
    return ""


def change_text(change: int | None) -> str:
    """A change of rank: ↑n, ↓n, – (none) or new."""
    if change is None:
        return _("新上榜")
    return "–" if change == 0 else (f"↑{change}" if change > 0 else f"↓{-change}")

def _change(change: int | None, b: Bulletin) -> str:
    if change is None:
        return b.label("new")
    return "–" if change == 0 else (f"↑{change}" if change > 0 else f"↓{-change}")


def _terms(placement: Any, lang: str) -> str:
    return "；".join(f"{FIGURES[line.figure].label(lang)} {fixed(line.points, 2, sign=True)}"
                    for line in placement.lines if line.points) or "—"


@dataclass(frozen=True)
class Table:
    """One table of a section; ``label`` names it when a section has several (a level),
    ``number`` numbers it within the section."""

    label: str | None
    header: list[str]
    rows: list[list[str]]
    number: str = ""

    @property
    def title(self) -> str | None:
        return f"{self.number}{self.label}" if self.label else None


@dataclass(frozen=True)
class Section:
    """A numbered section of the bulletin: its number and title as a 通报 prints them
    (一、… with （一）… below it; 1. … with 1.1 … in English) and its tables."""

    key: str
    number: str
    title: str
    tables: list[Table]

    @property
    def heading(self) -> str:
        return f"{self.number}{self.title}"


CHINESE_NUMERALS = "一二三四五六七八九十"


def section_number(index: int, lang: str) -> str:
    """The number of the ``index``-th section (from 1): 一、 or 1. """
    return f"{_chinese(index)}、" if lang == "zh" else f"{index}. "


def part_number(section: int, index: int, lang: str) -> str:
    """The number of a part within a section: （一） or 1.1 """
    return f"（{_chinese(index)}）" if lang == "zh" else f"{section}.{index} "


def _chinese(n: int) -> str:
    if n <= 10:
        return CHINESE_NUMERALS[n - 1]
    tens, units = divmod(n, 10)
    return (CHINESE_NUMERALS[tens - 1] if tens > 1 else "") + "十" + \
        (CHINESE_NUMERALS[units - 1] if units else "")


def sections(b: Bulletin) -> list[Section]:
    """The bulletin's sections in order, numbered consecutively: the rankings (one part
    per level) and the red and black lists only when some level was ranked."""
    found: list[tuple[str, list[Table]]] = [
        ("summary", [Table(None, [b.label("figure"), b.label("value")],
                           [[FIGURES[name].label(b.lang), shown(name, b.totals[name])]
                            for name in SUMMARY_FIGURES])])]
    if b.rankings:
        found.append(("ranking", [
            Table(b.level(level),
                  [b.label("rank"), b.label("unit"), b.label("score"), b.label("change"),
                   b.label("terms")],
                  [[str(p.placed.rank), f"{p.name}（{p.unit}）",
                    fixed(p.placed.score, 2), _change(p.placed.rank_change, b),
                    _terms(p, b.lang)] for p in ranking.placements])
            for level, ranking in b.rankings.items()]))
        found.append(("lists", [Table(None, [b.label("level"), b.label("red"),
                                             b.label("black")],
                                      [[b.level(level), _listed(r, "red", b),
                                        _listed(r, "black", b)]
                                       for level, r in b.rankings.items()])]))
    found.append(("overdue", [Table(
        None, [b.label("unit"), b.label("task"), b.label("category"), b.label("location"),
               b.label("deadline"), b.label("days")],
        [[f"{r['name']}（{r['unit']}）", r["task"], r.get("category", ""),
          r.get("location", ""), r["deadline"], str(r["days"])] for r in b.overdue])]))
    found.append(("recurring", [Table(
        None, [b.label("unit"), b.label("task"), b.label("category"), b.label("location"),
               b.label("how")],
        [[f"{r['name']}（{r['unit']}）", r["task"], r.get("category", ""),
          r.get("location", ""), r["how"]] for r in b.recurring])]))
    found.append(("trend", [Table(
        None, [b.label("level"), b.label("month"), b.label("units"), b.label("mean_score"),
               b.label("on_time_rate")],
        [[b.level(level), point["month"], str(point["units"]), fixed(point['mean_score'], 2),
          shown("on_time_rate", point["on_time_rate"])]
         for level, series in b.trend.items() for point in series])]))
    numbered = []
    for index, (key, tables) in enumerate(found, 1):
        if len(tables) > 1:
            tables = [Table(t.label, t.header, t.rows, part_number(index, i, b.lang))
                      for i, t in enumerate(tables, 1)]
        numbered.append(Section(key, section_number(index, b.lang), b.label(key), tables))
    return numbered


def _listed(ranking: Ranking, which: str, b: Bulletin) -> str:
    return "、".join(f"{p.name}（{fixed(p.placed.score, 2)}）"
                    for p in ranking.listed(which)) or b.label("none")


def title_lines(b: Bulletin) -> tuple[str, list[str]]:
    title = b.label("title", campaign=b.campaign, year=int(b.month[:4]),
                    month=int(b.month[5:]))
    lines = [b.label("basis", position=b.position, head=b.head, version=b.rules_version,
                     rules=b.rules_name),
             b.label("published", at=b.published_at) if b.published_at
             else b.label("unpublished")]
    return title, lines


# --- Markdown ----------------------------------------------------------------------------

def markdown(b: Bulletin) -> str:
    title, lines = title_lines(b)
    out = [f"# {title}", "", *lines, ""]
    for section in sections(b):
        out += [f"## {section.heading}", ""]
        for table in section.tables:
            if table.title:
                out += [f"### {table.title}", ""]
            if not table.rows:
                out += [b.label("none"), ""]
                continue
            out.append("| " + " | ".join(table.header) + " |")
            out.append("|" + "|".join(" --- " for _ in table.header) + "|")
            out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                    for row in table.rows]
            out.append("")
    return "\n".join(out)


# --- HTML ----------------------------------------------------------------------------------

def chart_titles(b: Bulletin) -> tuple[str, str]:
    return b.label("chart_scores"), b.label("chart_on_time")


def trend_svg(trend: dict[str, list[dict[str, Any]]], lang: str = "zh") -> str:
    """The chart of :meth:`Evaluator.trend`'s series as SVG, its labels text in the CJK
    font stack (the HTML bulletin's chart, the web's)."""
    return charts.trend_svg(trend, lambda level: LEVEL_NAMES.get(lang, {}).get(level, level),
                            (LABELS[lang]["chart_scores"], LABELS[lang]["chart_on_time"]))


def to_html(b: Bulletin) -> str:
    title, lines = title_lines(b)
    out = ["<!DOCTYPE html>", f'<html lang="{"zh-CN" if b.lang == "zh" else "en"}">',
           '<head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
           f"<style>body{{font-family:{CSS_FONT_STACK};max-width:1000px;margin:2em auto}}"
           f"svg text{{font-family:{CSS_FONT_STACK}}}"
           "table{border-collapse:collapse;margin:.5em 0 1.5em}"
           "td,th{border:1px solid #999;padding:.2em .6em;text-align:left}"
           "th{background:#eee}.basis{color:#444}figure.chart{margin:0}"
           "figure.chart svg{max-width:100%;height:auto}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    out += [f'<p class="basis">{html.escape(line)}</p>' for line in lines]
    for section in sections(b):
        out.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.key == "trend" and b.trend:
            out.append('<figure class="chart">'
                       f"{trend_svg(b.trend, b.lang)}</figure>")
        for table in section.tables:
            if table.title:
                out.append(f"<h3>{html.escape(table.title)}</h3>")
            if not table.rows:
                out.append(f"<p>{html.escape(b.label('none'))}</p>")
                continue
            out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>"
                                               for h in table.header) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    for row in table.rows]
            out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)
