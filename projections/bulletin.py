"""The supervision bulletin (督查通报) of a month: summary figures, each level's ranking, the
red and black lists (红黑榜), overdue and recurring problems by unit, and each level's scores
and on-time rate over the last twelve months — as Markdown, HTML (with the chart as an
inline SVG picture) or an Excel workbook (with a line chart).

A published month's bulletin is computed from what the publication froze; any other month's
from the ledger as it stands. Either way it quotes the audit head it was computed at.
"""

from __future__ import annotations

import html
import io
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from domain.evaluation import FIGURES, RATE, ScoreLine, last_day
from ledger.evaluation import Evaluations
from projections.evaluation import LEVELS, Evaluator, Ranking, RulesFor
from projections.metrics import MonthBook, Source, Tally, Units, figures

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{campaign}督查通报（{year}年{month}月）",
        "basis": "依据台账第 {position} 条记录（审计链哈希 {head}）计算；评分细则第 {version} 版"
                 "《{rules}》。",
        "published": "本月评比已于 {at} 发布，以下为发布时冻结的结果。",
        "unpublished": "本月评比尚未发布，以下按台账当前记录计算。",
        "summary": "一、总体情况", "ranking": "二、各层级评比排名", "lists": "三、红黑榜",
        "overdue": "四、超期未整改问题（截至月末）", "recurring": "五、反弹问题",
        "trend": "六、近12个月走势", "figure": "指标", "value": "数值",
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
        "summary": "1. Summary", "ranking": "2. Rankings by level",
        "lists": "3. Red and black lists", "overdue": "4. Overdue open at the month's end",
        "recurring": "5. Recurring problems", "trend": "6. The last 12 months",
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


def gather(evaluator: Evaluator, source: Source, month: str, rules_for: RulesFor, *,
           lang: str, campaign: str, position: int, head: str,
           published_at: str | None) -> Bulletin:
    """Collect a month's bulletin from a source of metrics (current or as published)."""
    units = Units(source.units())
    roots = [c for c, row in units.rows.items() if row["parent"] is None
             and units.active(c, month)]
    book = MonthBook(source, units, roots, [month]) if roots else None
    whole = Tally()
    for root in roots:
        whole.merge(book.tally(root, month))  # type: ignore[union-attr]
    rankings = {level: r for level, r in
                evaluator.rankings(source, month, LEVELS, rules_for).items() if r.placements}
    details = _task_details(source, units, month)
    end = last_day(month)
    overdue = sorted(({**details.get(i["task"], {}), "unit": i["unit"],
                       "name": units.rows[i["unit"]]["name"], "task": i["task"],
                       "deadline": i["deadline"],
                       "days": (end - date.fromisoformat(i["deadline"])).days}
                      for i in whole.overdue), key=lambda r: (r["unit"], -r["days"], r["task"]))
    recurring = sorted(
        [{**details.get(i["task"], {}), "unit": i["unit"],
          "name": units.rows[i["unit"]]["name"], "task": i["task"], "at": i["at"],
          "how": LABELS[lang]["reopened"]} for i in whole.reopened]
        + [{**details.get(i["task"], {}), "unit": i["unit"],
            "name": units.rows[i["unit"]]["name"], "task": i["task"], "at": i["at"],
            "how": LABELS[lang]["recurring_after"].format(
                task=i["after"]["task"], days=_days_between(i["after"]["at"], i["at"]))}
           for i in whole.recurring], key=lambda r: (r["unit"], r["at"], r["task"]))
    rules = rules_for(month)
    return Bulletin(month, lang, campaign, position, head, published_at, rules.version,
                    rules.rules.name, figures(whole), rankings, overdue, recurring,
                    evaluator.trend(source, month, rules_for))


def of_month(evaluator: Evaluator, evaluations: Evaluations, month: str, lang: str
             ) -> Bulletin:
    """A month's bulletin as ``taizhang bulletin`` gives it: a published month's from what
    the publication froze (its position and head), any other month's from the ledger as it
    stands (read again if it moved meanwhile)."""
    campaign = evaluations.ledger.campaign()
    publication = evaluations.publication(month)

    def gather_at(source: Any, position: int, head: str) -> Bulletin:
        return gather(evaluator, source, month, evaluations.rules_for, lang=lang,
                      campaign=campaign.name, position=position, head=head,
                      published_at=publication["published_at"][:10] if publication else None)

    if publication:
        _, found = evaluator.stable(lambda source: gather_at(
            source, publication["position"], publication["head"]), publication["position"])
    else:
        _, found = evaluator.stable(lambda source: gather_at(
            source, evaluator.position(), evaluations.hash_at(evaluator.position())))
    return found


def _days_between(earlier: str, later: str) -> int:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).days


def _task_details(source: Source, units: Units, month: str) -> dict[str, dict[str, Any]]:
    """Category, location and source of the tasks with items in the month."""
    found = {}
    for row in source.tasks(None, month, month):
        assigned = next(i for i in row["items"] if i["kind"] == "assigned")
        found[row["task"]] = {"category": assigned["category"],
                              "location": assigned["location"], "source": assigned["source"]}
    return found


# --- values as text -------------------------------------------------------------------------

def shown(name: str, value: Any) -> str:
    """A figure as people read it: rates in per cent, hours and days to one decimal."""
    if value is None:
        return "—"
    if FIGURES[name].nature == RATE:
        return f"{float(value) * 100:.1f}%"
    if isinstance(value, (float, Fraction)):
        return f"{float(value):.1f}"
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
    return f"{float(value):+.2f}"


def local_text(at: str, zone: Any) -> str:
    """A date as it is; a moment in the campaign's zone, to the minute."""
    if len(at) == 10:
        return at
    return datetime.fromisoformat(at).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def item_detail(item: dict[str, Any], zone: Any) -> str:
    """What one item of ``metrics explain`` says about its task (deadline, days …)."""
    kind = item["kind"]
    if kind == "due":
        return f"deadline {item['deadline']}" + (", on time" if item["on_time"] else ", late")
    if kind == "overdue":
        until = "still open" if item["to"] == "9999-12" else f"through {item['to']}"
        return f"deadline {item['deadline']}, overdue {until}"
    if kind == "verified":
        return f"{item['days']:.1f} days"
    if kind == "response":
        return f"{item['hours']:.1f} hours"
    if kind == "reinspection":
        return "failed (rework)" if item["failed"] else "passed"
    if kind == "assigned":
        text = f"{item['source']}, {item['category']}, {item['location']}"
        if "after" in item:
            text += (f"; within the window after {item['after']['task']} closed "
                     f"{local_text(item['after']['at'], zone)}")
        return text
    if kind == "closed":
        return f"closed as verified, {item['category']}, {item['location']}"
    return ""


def change_text(change: int | None) -> str:
    """A change of rank: ↑n, ↓n, – (none) or new."""
    if change is None:
        return "new"
    return "–" if change == 0 else (f"↑{change}" if change > 0 else f"↓{-change}")


def _change(change: int | None, b: Bulletin) -> str:
    if change is None:
        return b.label("new")
    return "–" if change == 0 else (f"↑{change}" if change > 0 else f"↓{-change}")


def _terms(placement: Any, lang: str) -> str:
    return "；".join(f"{FIGURES[line.figure].label(lang)} {float(line.points):+.2f}"
                    for line in placement.lines if line.points) or "—"


def sections(b: Bulletin) -> list[tuple[str, list[str], list[list[str]]]]:
    """The bulletin's tables: (heading, header, rows), in order, as text."""
    found = [(b.label("summary"), [b.label("figure"), b.label("value")],
              [[FIGURES[name].label(b.lang), shown(name, b.totals[name])]
               for name in SUMMARY_FIGURES])]
    for level, ranking in b.rankings.items():
        found.append((f"{b.label('ranking')} · {b.level(level)}",
                      [b.label("rank"), b.label("unit"), b.label("score"), b.label("change"),
                       b.label("terms")],
                      [[str(p.placed.rank), f"{p.name}（{p.unit}）",
                        f"{float(p.placed.score):.2f}", _change(p.placed.rank_change, b),
                        _terms(p, b.lang)] for p in ranking.placements]))
    found.append((b.label("lists"), [b.label("level"), b.label("red"), b.label("black")],
                  [[b.level(level),
                    "、".join(f"{p.name}（{float(p.placed.score):.2f}）"
                             for p in r.listed("red")) or b.label("none"),
                    "、".join(f"{p.name}（{float(p.placed.score):.2f}）"
                             for p in r.listed("black")) or b.label("none")]
                   for level, r in b.rankings.items()]))
    found.append((b.label("overdue"),
                  [b.label("unit"), b.label("task"), b.label("category"), b.label("location"),
                   b.label("deadline"), b.label("days")],
                  [[f"{r['name']}（{r['unit']}）", r["task"], r.get("category", ""),
                    r.get("location", ""), r["deadline"], str(r["days"])]
                   for r in b.overdue]))
    found.append((b.label("recurring"),
                  [b.label("unit"), b.label("task"), b.label("category"), b.label("location"),
                   b.label("how")],
                  [[f"{r['name']}（{r['unit']}）", r["task"], r.get("category", ""),
                    r.get("location", ""), r["how"]] for r in b.recurring]))
    found.append((b.label("trend"),
                  [b.label("level"), b.label("month"), b.label("units"),
                   b.label("mean_score"), b.label("on_time_rate")],
                  [[b.level(level), point["month"], str(point["units"]),
                    f"{point['mean_score']:.2f}", shown("on_time_rate", point["on_time_rate"])]
                   for level, series in b.trend.items() for point in series]))
    return found


def _heading(b: Bulletin) -> tuple[str, list[str]]:
    title = b.label("title", campaign=b.campaign, year=int(b.month[:4]),
                    month=int(b.month[5:]))
    lines = [b.label("basis", position=b.position, head=b.head, version=b.rules_version,
                     rules=b.rules_name),
             b.label("published", at=b.published_at) if b.published_at
             else b.label("unpublished")]
    return title, lines


# --- Markdown ----------------------------------------------------------------------------

def markdown(b: Bulletin) -> str:
    title, lines = _heading(b)
    out = [f"# {title}", "", *lines, ""]
    for heading, header, rows in sections(b):
        out += [f"## {heading}", ""]
        if not rows:
            out += [b.label("none"), ""]
            continue
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(" --- " for _ in header) + "|")
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                for row in rows]
        out.append("")
    return "\n".join(out)


# --- HTML ----------------------------------------------------------------------------------

def chart_svg(b: Bulletin) -> str:
    """Each level's mean score and on-time rate by month, as an SVG picture whose text is
    text (the reader's fonts draw the Chinese labels)."""
    return trend_svg(b.trend, b.lang)


def trend_svg(trend: dict[str, list[dict[str, Any]]], lang: str = "zh") -> str:
    """The chart of :meth:`Evaluator.trend`'s series (``chart_svg`` of a bulletin)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    with warnings.catch_warnings(), matplotlib.rc_context({"svg.fonttype": "none",
                                                          "svg.hashsalt": "taizhang"}):
        warnings.simplefilter("ignore")  # glyphs the build machine's fonts lack
        figure, (scores, rates) = plt.subplots(1, 2, figsize=(10, 3.6))
        for level, series in trend.items():
            months = [p["month"] for p in series]
            name = LEVEL_NAMES.get(lang, {}).get(level, level)
            scores.plot(months, [p["mean_score"] for p in series], marker="o", label=name)
            rates.plot(months, [None if p["on_time_rate"] is None else p["on_time_rate"] * 100
                                for p in series], marker="o", label=name)
        scores.set_title(LABELS[lang]["chart_scores"])
        rates.set_title(LABELS[lang]["chart_on_time"])
        rates.set_ylim(0, 100)
        rates.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter())
        for axes in (scores, rates):
            axes.tick_params(axis="x", labelrotation=45, labelsize=8)
            axes.grid(alpha=0.3)
            axes.legend(fontsize=8)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
        plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def to_html(b: Bulletin) -> str:
    title, lines = _heading(b)
    out = ["<!DOCTYPE html>", f'<html lang="{"zh-CN" if b.lang == "zh" else "en"}">',
           '<head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
           "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
           "table{border-collapse:collapse;margin:.5em 0 1.5em}"
           "td,th{border:1px solid #999;padding:.2em .6em;text-align:left}"
           "th{background:#eee}.basis{color:#444}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    out += [f'<p class="basis">{html.escape(line)}</p>' for line in lines]
    for heading, header, rows in sections(b):
        out.append(f"<h2>{html.escape(heading)}</h2>")
        if heading == b.label("trend") and b.trend:
            out.append(f'<figure class="chart">{chart_svg(b)}</figure>')
        if not rows:
            out.append(f"<p>{html.escape(b.label('none'))}</p>")
            continue
        out.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                   + "</tr>")
        out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in rows]
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


# --- Excel ----------------------------------------------------------------------------------

def to_xlsx(b: Bulletin) -> bytes:
    """A workbook: a sheet per section, the trend with a line chart per figure."""
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference
    from openpyxl.styles import Font

    book = Workbook()
    title, lines = _heading(b)
    cover = book.active
    cover.title = "通报" if b.lang == "zh" else "bulletin"
    cover.append([title])
    cover["A1"].font = Font(bold=True, size=14)
    for line in lines:
        cover.append([line])
    used: set[str] = {cover.title}
    for heading, header, rows in sections(b):
        name = _sheet_name(heading, used)
        sheet = book.create_sheet(name)
        sheet.append([heading])
        sheet["A1"].font = Font(bold=True)
        sheet.append(header)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in rows:
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
                          *(round(p["on_time_rate"] * 100, 1) if p and p["on_time_rate"]
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
