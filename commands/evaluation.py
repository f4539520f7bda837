"""The monthly evaluation (每月评比): metrics, scoring rules, rankings, publication,
revisions and the supervision bulletin (督查通报)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from commands.output import OPTIONAL, TEXT, Column, emit, emit_record, output_options, paragraph
from commands.params import MONTH, Aliased, output_option, parent_option
from commands.session import Session, pass_session
from commands.word import require_output, word_options, word_style
from domain.base import Refused
from domain.figures import FIGURES
from domain.rounding import fixed, rounded
from i18n import N_, _, labels, language
from projections import bulletin as bulletins
from projections.bulletin import (
    change_text,
    item_detail,
    local_text,
    signed as _signed,
    term_text,
)
from projections.evaluation import LEVELS, Ranking
from projections.metrics import METRICS
from projections.times import for_people, local_date, localise_rows
from services import bulletins as bulletin_service
from services import evaluation as evaluating


def plain(value: Any) -> Any:
    """A figure for csv and json: fractions as decimals (four places)."""
    if isinstance(value, Fraction):
        return rounded(value, 4)
    if isinstance(value, float):
        return rounded(value, 4)
    return value


# --- metrics ----------------------------------------------------------------------------

METRIC_TABLE: list[Column] = [
    ("unit", N_("单位")), ("name", N_("名称"), TEXT), ("assigned", N_("交办")),
    ("due", N_("到期")), ("on_time_rate", N_("按期整改率")), ("rework_rate", N_("返工率")),
    ("mean_days", N_("平均整改天数")), ("overdue_open", N_("超期未整改")),
    ("recurrence_rate", N_("复发率")), ("inspection_coverage", N_("巡查覆盖")),
    ("complaint_response_hours", N_("投诉响应小时")),
]


def _with_counts(row: dict[str, Any]) -> dict[str, Any]:
    shown = {k: bulletins.shown(k, v) if k in FIGURES else v for k, v in row.items()}
    for rate, top, bottom in (("on_time_rate", "on_time", "due"),
                              ("rework_rate", "rework", "reinspections"),
                              ("recurrence_rate", "recurrences", "closed_before"),
                              ("inspection_coverage", "inspections", "required_inspections")):
        shown[rate] = f"{shown[rate]} ({row[top]}/{row[bottom]})"
    return shown


@click.group(invoke_without_command=True)
@click.option("--month", type=MONTH, default=None, help="月份（发生时间）。")
@click.option("--unit", "unit_code", default=None,
              help="一个单位（其数据包含下属单位）。")
@click.option("--level", type=click.Choice(LEVELS), default=None,
              help="同一类型的单位。")
@parent_option()
@output_options()
@pass_session
@click.pass_context
def metrics(ctx: click.Context, session: Session, month: str | None, unit_code: str | None,
            level: str | None, parent: str | None, fmt: str) -> None:
    """各单位某月的长效机制指标；'metrics explain' 列出某一数值的构成。"""
    if ctx.invoked_subcommand is not None:
        return
    if month is None:
        raise click.UsageError(_("缺少选项 '--month'。"))
    if unit_code is not None and (level is not None or parent is not None):
        raise click.UsageError(_("--unit 指定一个单位；--level 与 --parent 选择多个：只能给出其一"))
    rows = evaluating.figures(session.services, month, unit_code, level, parent)
    if fmt == "table":
        emit([_with_counts(r) for r in rows], METRIC_TABLE, fmt)
        return
    emit([{k: plain(v) for k, v in r.items()} for r in rows],
         [("unit", "unit"), ("name", "name"), ("kind", "kind"),
          *[(name, name) for name in FIGURES]], fmt)


EXPLAIN_COLUMNS: list[Column] = [
    ("item", N_("任务/巡查")), ("counts_as", N_("计为")), ("unit", N_("单位")),
    ("events", N_("事件"), TEXT), ("detail", N_("说明"), TEXT)]


@metrics.command("explain")
@click.option("--month", type=MONTH, required=True)
@click.option("--unit", "unit_code", required=True)
@click.option("--metric", type=click.Choice(list(METRICS)), required=True)
@output_options()
@pass_session
def metrics_explain(session: Session, month: str, unit_code: str, metric: str,
                    fmt: str) -> None:
    """构成某单位某月某一数值的任务、事件和巡查。"""
    value, tally, parts = evaluating.explain(session.services, month, unit_code, metric)
    zone = session.services.zone
    rows = [{"item": item["task"], "counts_as": role, "unit": item["unit"],
             "events": "; ".join(f"v{v} {kind} {local_text(at, zone)}"
                                 for v, kind, at in item["events"]),
             "detail": item_detail(item, zone)} for role, item in parts]
    if fmt == "table":
        label = FIGURES[metric]
        click.echo(f"{unit_code} {month} {metric} ({label.label(language())}) = "
                   f"{bulletins.shown(metric, value)}"
                   + (_("；应巡查 {n}").format(n=tally.required) if metric in
                      ("inspection_coverage", "required_inspections") else ""))
    emit(rows, EXPLAIN_COLUMNS, fmt)


# --- rules ------------------------------------------------------------------------------

@click.group()
def rules() -> None:
    """评分细则：从某月起采用一个 TOML 文件；查看现行细则。"""


@rules.command("adopt")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--month", "--from", "from_month", cls=Aliased, aliases=["--from"], type=MONTH,
              required=True, help="细则适用的第一个月。")
@click.option("--reason", default="", help="细则变更的原因。")
@pass_session
def rules_adopt(session: Session, path: Path, from_month: str, reason: str) -> None:
    """采用一个评分细则文件（一个事件：有版本，保留原文）。"""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Refused(_("评分细则文件 {path} 不存在").format(path=repr(str(path)))) from None
    except (OSError, UnicodeDecodeError) as e:
        raise Refused(_("评分细则文件 {path} 无法按 UTF-8 文本读取：{error}").format(
            path=repr(str(path)), error=e)) from None
    adopted = session.services.evaluations.adopt_rules(
        actor_id=session.actor, text=text, source=path.name, from_month=from_month,
        reason=reason)
    click.echo(_("评分细则第 {version} 版（{name}）自 {month} 起采用；sha256 {digest}").format(
        version=adopted["version"], name=adopted["name"], month=adopted["from_month"],
        digest=adopted["digest"]))


@rules.command("show")
@click.option("--month", type=MONTH, default=None,
              help="显示此月现行的细则（默认：本月）。")
@click.option("--version", "number", type=click.IntRange(min=0), default=None,
              help="改为显示此版本（0：随程序提供的默认细则）。")
@output_options(("table", "json"))
@pass_session
def rules_show(session: Session, month: str | None, number: int | None, fmt: str) -> None:
    """某月现行的评分细则：版本、采用情况以及文件本身。"""
    if number is not None:
        found = session.services.evaluations.version(number)
    else:
        found = evaluating.rules_in_force(session.services, month)
    record = {**found.describe(), "in_force_for": month, "text": found.text}
    if fmt == "json":
        emit_record(record, fmt)
        return
    adopted = (_("{at} 由 {actor} 采用，自 {month} 起").format(
        at=for_people(found.describe()["adopted_at"], session.services.zone),
        actor=found.actor, month=found.from_month)
        if found.version else _("随程序提供，从未采用"))
    click.echo(_("# 评分细则第 {version} 版：{name}（{adopted}）").format(
        version=found.version, name=found.rules.name, adopted=adopted))
    click.echo(f"# sha256 {found.digest}")
    click.echo(found.text.rstrip("\n"))


@rules.command("list")
@output_options()
@pass_session
def rules_list(session: Session, fmt: str) -> None:
    """评分细则的所有版本，按采用顺序。"""
    rows = localise_rows([v.describe() for v in session.services.evaluations.versions()],
                         ("adopted_at",), session.services.zone, fmt)
    emit(rows, [("version", N_("版本")), ("name", N_("名称"), TEXT),
                ("from_month", N_("起始月份")), ("adopted_at", N_("采用时间")),
                ("actor", N_("采用人")), ("reason", N_("理由"), TEXT),
                ("digest", "sha256", OPTIONAL)], fmt)


# --- rankings ---------------------------------------------------------------------------

RANK_COLUMNS: list[Column] = [
    ("rank", N_("名次")), ("unit", N_("单位")), ("name", N_("名称"), TEXT),
    ("score", N_("得分")), ("rank_change", N_("升降")), ("score_change", N_("Δ得分")),
    ("list", N_("红黑榜")), ("terms", N_("扣分与加分"), TEXT)]
LIST_LABELS = {"red": N_("红榜"), "black": N_("黑榜")}


def ranking_rows(ranking: Ranking, fmt: str) -> list[dict[str, Any]]:
    rows = []
    for p in ranking.placements:
        placed = p.placed
        if fmt == "table":
            terms: Any = "; ".join(term_text(line, language())
                                   for line in p.lines if line.points)
            rows.append({"rank": placed.rank, "unit": p.unit, "name": p.name,
                         "score": fixed(placed.score, 2),
                         "rank_change": _("新上榜") if placed.rank_change is None
                         else change_text(placed.rank_change),
                         "score_change": "" if placed.score_change is None else
                         _signed(placed.score_change),
                         "list": _(LIST_LABELS[placed.listed]) if placed.listed else "",
                         "terms": terms})
            continue
        terms = [{"figure": line.figure, "kind": line.kind, "value": plain(line.value),
                  "used": plain(line.used), "factor": plain(line.factor),
                  "points": plain(line.points)} for line in p.lines]
        rows.append({"rank": placed.rank, "unit": p.unit, "name": p.name,
                     "score": float(placed.score), "previous_rank": placed.previous_rank,
                     "rank_change": placed.rank_change,
                     "previous_score": None if placed.previous_score is None
                     else float(placed.previous_score),
                     "score_change": None if placed.score_change is None
                     else float(placed.score_change),
                     "list": placed.listed or "",
                     "terms": terms if fmt == "json" else "; ".join(
                         term_text(line, "en") for line in p.lines)})
    return rows


def print_ranking(ranking: Ranking, fmt: str, heading: str) -> None:
    if fmt == "table":
        click.echo(heading)
    columns = RANK_COLUMNS if fmt == "table" else [
        ("rank", "rank"), ("unit", "unit"), ("name", "name"), ("score", "score"),
        ("previous_rank", "previous_rank"), ("rank_change", "rank_change"),
        ("previous_score", "previous_score"), ("score_change", "score_change"),
        ("list", "list"), ("terms", "terms")]
    emit(ranking_rows(ranking, fmt), columns, fmt)
    if fmt == "table":
        for which in ("red", "black"):
            listed = ranking.listed(which)
            click.echo(paragraph(
                _(LIST_LABELS[which]) + _("：") +
                (", ".join(f"{p.name} {p.unit} ({fixed(p.placed.score, 2)})"
                           for p in listed) or "—")))


def ranking_heading(ranking: Ranking, where: str) -> str:
    scope = _(" {parent} 下属").format(parent=ranking.parent) if ranking.parent else ""
    return paragraph(_("{month} {level}{scope} 每月评比 · 评分细则第 {version} 版 {name} · "
                       "{where}").format(month=ranking.month, level=labels.level(ranking.level),
                                         scope=scope, version=ranking.rules.version,
                                         name=ranking.rules.rules.name, where=where))


@click.command("rank")
@click.option("--month", type=MONTH, required=True)
@click.option("--level", type=click.Choice(LEVELS), required=True,
              help="一起排名的单位：社区、街道、部门 或 物业。")
@parent_option()
@click.option("--published", is_flag=True,
              help="已发布的排名，按其计算时所依据的事件重新计算。")
@output_options()
@pass_session
def rank_command(session: Session, month: str, level: str, parent: str | None,
                 published: bool, fmt: str) -> None:
    """某一层级的月度排名：得分、名次（同分同名次）、与上月相比的变化、每项得分背后的扣分，以
    及红黑榜。"""
    if published:
        shown = evaluating.published_ranking(session.services, month, level, parent)
        publication = shown.publication or {}
        where = _("{day} 发布于账本位置 {position}（链头 {head}）；已重现，摘要相符").format(
            day=local_date(publication["published_at"], session.services.zone),
            position=shown.position, head=shown.head[:12])
    else:
        shown = evaluating.ranking(session.services, month, level, parent)
        where = _("当前，账本位置 {position}（链头 {head}）").format(position=shown.position,
                                                                 head=shown.head[:12])
    print_ranking(shown.ranking, fmt, ranking_heading(shown.ranking, where))


@click.command()
@click.option("--month", type=MONTH, required=True)
@pass_session
def publish(session: Session, month: str) -> None:
    """冻结某月的排名（所有层级）：记录评分细则版本、计算所依据的台账位置和审计链头，以及结果
    摘要。"""
    done = evaluating.publish(session.services, actor=session.actor, month=month)
    click.echo(_("{month} 已发布：评分细则第 {version} 版，账本位置 {position}，链头 {head}，"
                 "摘要 {digest}").format(month=month, version=done["rules_version"],
                                        position=done["position"], head=done["head"],
                                        digest=done["digest"]))
    for level, noted in done["summary"].items():
        click.echo(_("  {level}：{n} 个单位 · 红榜 {red} · 黑榜 {black}").format(
            level=labels.level(level), n=noted["units"], red=", ".join(noted["red"]) or "—",
            black=", ".join(noted["black"]) or "—"))


CHANGE_COLUMNS: list[Column] = [
    ("level", N_("层级")), ("unit", N_("单位")), ("name", N_("名称"), TEXT),
    ("published_score", N_("发布得分")), ("published_rank", N_("发布名次")),
    ("score", N_("现得分")), ("rank", N_("现名次")), ("score_change", N_("Δ得分")),
    ("published_list", N_("发布榜")), ("list", N_("现榜")),
    ("figures_changed", N_("变化的指标"), TEXT)]
CAUSE_COLUMNS: list[Column] = [
    ("position", N_("位置")), ("aggregate", N_("任务/单位")), ("event", N_("事件")),
    ("unit", N_("单位")), ("why", N_("原因"), TEXT)]


@click.command()
@click.option("--month", type=MONTH, required=True)
@output_options()
@pass_session
def revisions(session: Session, month: str, fmt: str) -> None:
    """若现在重新计算已发布的月份会有什么变化，以及原因：哪些迟录或更正的事件（在其位置之后录
    入、发生在该月或之前）。"""
    publication, changes, causes = evaluating.revisions(session.services, month)
    if fmt == "json":
        emit_record({"month": month, "position": publication["position"],
                     "changes": changes, "causes": causes}, fmt)
        return
    if fmt == "table":
        click.echo(paragraph(_("{month} 发布于账本位置 {position}；{changes} 行排名会变化，此后录入的 "
                               "{causes} 个事件与本月有关").format(
            month=month, position=publication["position"], changes=len(changes),
            causes=len(causes))))
    emit(changes, CHANGE_COLUMNS, fmt)
    if fmt == "table":
        click.echo(_("原因："))
    emit(causes, CAUSE_COLUMNS, fmt)


@click.command()
@click.option("--month", type=MONTH, required=True)
@click.option("--format", "fmt", type=click.Choice(["md", "html", "xlsx", "docx"]),
              default="md", show_default=True,
              help="Markdown、HTML（含图表）、Excel 工作簿或 Word 文档。")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, hidden=True,
              help="标签的语言（默认：taizhang --lang）。")
@output_option("写入此文件（xlsx 和 docx 必需）；默认输出到标准输出。")
@word_options("docx：标题下的文号行（默认 〔YEAR〕第N期，即活动的第 N 个月）。")
@pass_session
def bulletin(session: Session, month: str, fmt: str, lang: str, output: Path | None,
             number: str | None, body_font: str, heading_font: str) -> None:
    """某月的督查通报：汇总数据、排名、红黑榜、各单位超期和反复出现的问题，以及近 12 个月的图
    表。

    已发布月份的通报显示发布时冻结的内容。"""
    require_output(fmt, output)
    lang = lang or language()
    made = bulletin_service.document(session.services, month, fmt, lang, number,
                                     word_style(body_font, heading_font))
    if isinstance(made, bytes):
        output.write_bytes(made)  # type: ignore[union-attr]
        click.echo(_("{month} 督查通报已写入 {path}").format(month=month, path=output))
        return
    text = made
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(_("{month} 督查通报已写入 {path}").format(month=month, path=output))


def print_last_ranking(session: Session, until: str) -> None:
    """The 社区 ranking of the last complete month up to ``until`` (for the demo)."""
    month = evaluating.last_complete_month(session.services, until)
    ranking = evaluating.ranking(session.services, month, "社区").ranking
    click.echo("")
    print_ranking(ranking, "table", ranking_heading(
        ranking, _("最近一个完整月份（taizhang rank --month {month} --level {level}）").format(
            month=month, level="社区")))


COMMANDS = [metrics, rules, rank_command, publish, revisions, bulletin]
