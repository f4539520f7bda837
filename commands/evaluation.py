"""The monthly evaluation (每月评比): metrics, scoring rules, rankings, publication,
revisions and the supervision bulletin (督查通报)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from commands.output import emit, emit_record, output_options
from commands.params import MONTH
from commands.session import Session, pass_session
from commands.word import require_output, word_options, word_style
from domain.base import Refused
from domain.evaluation import FIGURES
from domain.rounding import fixed, rounded
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

METRIC_TABLE = [
    ("unit", "unit"), ("name", "name"), ("assigned", "assigned 交办"), ("due", "due 到期"),
    ("on_time_rate", "on time 按期整改率"), ("rework_rate", "rework 返工率"),
    ("mean_days", "days 平均整改天数"), ("overdue_open", "overdue 超期未整改"),
    ("recurrence_rate", "recurrence 复发率"), ("inspection_coverage", "coverage 巡查覆盖"),
    ("complaint_response_hours", "complaint h 响应"),
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
@click.option("--month", type=MONTH, default=None, help="The month (valid time).")
@click.option("--unit", "unit_code", default=None,
              help="One unit (its figures include the units below it).")
@click.option("--level", type=click.Choice(LEVELS), default=None,
              help="Units of one kind (below --unit, if given).")
@output_options()
@pass_session
@click.pass_context
def metrics(ctx: click.Context, session: Session, month: str | None, unit_code: str | None,
            level: str | None, fmt: str) -> None:
    """Long-term-mechanism metrics (长效机制) per unit for a month; 'metrics explain' lists
    what makes up one figure."""
    if ctx.invoked_subcommand is not None:
        return
    if month is None:
        raise click.UsageError("Missing option '--month'.")
    rows = evaluating.figures(session.services, month, unit_code, level)
    if fmt == "table":
        emit([_with_counts(r) for r in rows], METRIC_TABLE, fmt)
        return
    emit([{k: plain(v) for k, v in r.items()} for r in rows],
         [("unit", "unit"), ("name", "name"), ("kind", "kind"),
          *[(name, name) for name in FIGURES]], fmt)


EXPLAIN_COLUMNS = [("item", "task/visit"), ("counts_as", "counts as"), ("unit", "unit"),
                   ("events", "events"), ("detail", "detail")]


@metrics.command("explain")
@click.option("--month", type=MONTH, required=True)
@click.option("--unit", "unit_code", required=True)
@click.option("--metric", type=click.Choice(list(METRICS)), required=True)
@output_options()
@pass_session
def metrics_explain(session: Session, month: str, unit_code: str, metric: str,
                    fmt: str) -> None:
    """The tasks, events and visits that make up one figure of a unit's month."""
    value, tally, parts = evaluating.explain(session.services, month, unit_code, metric)
    zone = session.services.zone
    rows = [{"item": item["task"], "counts_as": role, "unit": item["unit"],
             "events": "; ".join(f"v{v} {kind} {local_text(at, zone)}"
                                 for v, kind, at in item["events"]),
             "detail": item_detail(item, zone)} for role, item in parts]
    if fmt == "table":
        label = FIGURES[metric]
        click.echo(f"{unit_code} {month} {metric} ({label.zh}) = {bulletins.shown(metric, value)}"
                   + (f"; required {tally.required}" if metric in
                      ("inspection_coverage", "required_inspections") else ""))
    emit(rows, EXPLAIN_COLUMNS, fmt)


# --- rules ------------------------------------------------------------------------------

@click.group()
def rules() -> None:
    """Scoring rules (评分细则): adopt a TOML file from a month on; show those in force."""


@rules.command("adopt")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "from_month", type=MONTH, required=True,
              help="The first month the rules apply to.")
@click.option("--reason", default="", help="Why the rules change.")
@pass_session
def rules_adopt(session: Session, path: Path, from_month: str, reason: str) -> None:
    """Adopt a scoring rules file (an event: versioned, the original text kept)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Refused(f"rules file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise Refused(f"rules file {str(path)!r} cannot be read as UTF-8 text: {e}") from None
    adopted = session.services.evaluations.adopt_rules(
        actor_id=session.actor, text=text, source=path.name, from_month=from_month,
        reason=reason)
    click.echo(f"rules version {adopted['version']} ({adopted['name']}) adopted from "
               f"{adopted['from_month']}; sha256 {adopted['digest']}")


@rules.command("show")
@click.option("--month", type=MONTH, default=None,
              help="Show the rules in force for this month (default: this month).")
@click.option("--version", "number", type=click.IntRange(min=0), default=None,
              help="Show this version instead (0: the shipped default).")
@output_options(("table", "json"))
@pass_session
def rules_show(session: Session, month: str | None, number: int | None, fmt: str) -> None:
    """The scoring rules in force for a month: version, adoption, and the file itself."""
    if number is not None:
        found = session.services.evaluations.version(number)
    else:
        found = evaluating.rules_in_force(session.services, month)
    record = {**found.describe(), "in_force_for": month, "text": found.text}
    if fmt == "json":
        emit_record(record, fmt)
        return
    adopted = (f"adopted {found.describe()['adopted_at']} by {found.actor}, from "
               f"{found.from_month}" if found.version else "shipped with the program, "
               "never adopted")
    click.echo(f"# rules version {found.version}: {found.rules.name} ({adopted})")
    click.echo(f"# sha256 {found.digest}")
    click.echo(found.text.rstrip("\n"))


@rules.command("list")
@output_options()
@pass_session
def rules_list(session: Session, fmt: str) -> None:
    """Every version of the scoring rules, in the order adopted."""
    rows = [v.describe() for v in session.services.evaluations.versions()]
    emit(rows, [("version", "version"), ("name", "name"), ("from_month", "from"),
                ("adopted_at", "adopted at"), ("actor", "by"), ("reason", "reason"),
                ("digest", "sha256")], fmt)


# --- rankings ---------------------------------------------------------------------------

RANK_COLUMNS = [("rank", "rank 名次"), ("unit", "unit"), ("name", "name"),
                ("score", "score 得分"), ("rank_change", "change 升降"),
                ("score_change", "Δscore"), ("list", "红黑榜"), ("terms", "deductions and rates")]
LIST_LABELS = {"red": "红榜", "black": "黑榜"}


def ranking_rows(ranking: Ranking, fmt: str) -> list[dict[str, Any]]:
    rows = []
    for p in ranking.placements:
        placed = p.placed
        if fmt == "table":
            terms: Any = "; ".join(term_text(line) for line in p.lines if line.points)
            rows.append({"rank": placed.rank, "unit": p.unit, "name": p.name,
                         "score": fixed(placed.score, 2),
                         "rank_change": change_text(placed.rank_change),
                         "score_change": "" if placed.score_change is None else
                         _signed(placed.score_change),
                         "list": LIST_LABELS.get(placed.listed or "", ""), "terms": terms})
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
            click.echo(f"{LIST_LABELS[which]} ({which} list): "
                       + (", ".join(f"{p.name} {p.unit} ({fixed(p.placed.score, 2)})"
                                    for p in listed) or "—"))


def ranking_heading(ranking: Ranking, where: str) -> str:
    scope = f" of {ranking.parent}" if ranking.parent else ""
    return (f"{ranking.month} {ranking.level}{scope} ranking 每月评比 · rules v"
            f"{ranking.rules.version} {ranking.rules.rules.name} · {where}")


@click.command("rank")
@click.option("--month", type=MONTH, required=True)
@click.option("--level", type=click.Choice(LEVELS), required=True,
              help="The units ranked together: 社区, 街道, 部门 or 物业.")
@click.option("--parent", "parent", default=None, help="Only the units below this one.")
@click.option("--published", is_flag=True,
              help="The published ranking, recomputed from the events it was computed from.")
@output_options()
@pass_session
def rank_command(session: Session, month: str, level: str, parent: str | None,
                 published: bool, fmt: str) -> None:
    """The monthly ranking of one level: score, rank (equal scores share it), change
    against last month, the deductions behind each score, and the red and black lists."""
    if published:
        shown = evaluating.published_ranking(session.services, month, level, parent)
        publication = shown.publication or {}
        where = (f"published {publication['published_at'][:10]} at position "
                 f"{shown.position} (head {shown.head[:12]}); reproduced, digest matches")
    else:
        shown = evaluating.ranking(session.services, month, level, parent)
        where = f"current, position {shown.position} (head {shown.head[:12]})"
    print_ranking(shown.ranking, fmt, ranking_heading(shown.ranking, where))


@click.command()
@click.option("--month", type=MONTH, required=True)
@pass_session
def publish(session: Session, month: str) -> None:
    """Freeze a month's ranking (every level): records the rules version, the ledger
    position and audit head it was computed from, and the result's digest."""
    done = evaluating.publish(session.services, actor=session.actor, month=month)
    click.echo(f"{month} published: rules v{done['rules_version']}, position "
               f"{done['position']}, head {done['head']}, digest {done['digest']}")
    for level, noted in done["summary"].items():
        click.echo(f"  {level}: {noted['units']} units · 红榜 {', '.join(noted['red']) or '—'}"
                   f" · 黑榜 {', '.join(noted['black']) or '—'}")


CHANGE_COLUMNS = [("level", "level"), ("unit", "unit"), ("name", "name"),
                  ("published_score", "published"), ("published_rank", "rank"),
                  ("score", "now"), ("rank", "rank now"), ("score_change", "Δscore"),
                  ("published_list", "list"), ("list", "list now"),
                  ("figures_changed", "figures changed")]
CAUSE_COLUMNS = [("position", "position"), ("aggregate", "task/unit"), ("event", "event"),
                 ("unit", "unit"), ("why", "why")]


@click.command()
@click.option("--month", type=MONTH, required=True)
@output_options()
@pass_session
def revisions(session: Session, month: str, fmt: str) -> None:
    """What recomputing a published month now would change, and which late or corrected
    events (entered after its position, happening in or before the month) are why."""
    publication, changes, causes = evaluating.revisions(session.services, month)
    if fmt == "json":
        emit_record({"month": month, "position": publication["position"],
                     "changes": changes, "causes": causes}, fmt)
        return
    if fmt == "table":
        click.echo(f"{month} published at position {publication['position']}; "
                   f"{len(changes)} ranking line(s) would change, {len(causes)} event(s) "
                   "entered since bear on the month")
    emit(changes, CHANGE_COLUMNS, fmt)
    if fmt == "table":
        click.echo("why:")
    emit(causes, CAUSE_COLUMNS, fmt)


@click.command()
@click.option("--month", type=MONTH, required=True)
@click.option("--format", "fmt", type=click.Choice(["md", "html", "xlsx", "docx"]),
              default="md", show_default=True,
              help="Markdown, HTML (with the chart), an Excel workbook or a Word document.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="The language of the labels.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write to this file (needed for xlsx and docx); default "
              "stdout.")
@word_options("default 〔YEAR〕第N期, the campaign's Nth month")
@pass_session
def bulletin(session: Session, month: str, fmt: str, lang: str, output: Path | None,
             number: str | None, body_font: str, heading_font: str) -> None:
    """The supervision bulletin (督查通报) of a month: summary figures, rankings, red and
    black lists, overdue and recurring problems by unit, and the last 12 months' chart. A
    published month's bulletin shows what the publication froze."""
    require_output(fmt, output, "a workbook" if fmt == "xlsx" else "a Word document")
    made = bulletin_service.document(session.services, month, fmt, lang, number,
                                     word_style(body_font, heading_font))
    if isinstance(made, bytes):
        output.write_bytes(made)  # type: ignore[union-attr]
        click.echo(f"bulletin of {month} written to {output}")
        return
    text = made
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"bulletin of {month} written to {output}")


def print_last_ranking(session: Session, until: str) -> None:
    """The 社区 ranking of the last complete month up to ``until`` (for the demo)."""
    month = evaluating.last_complete_month(session.services, until)
    ranking = evaluating.ranking(session.services, month, "社区").ranking
    click.echo("")
    print_ranking(ranking, "table", ranking_heading(
        ranking, f"the last complete month (taizhang rank --month {month} --level 社区)"))


COMMANDS = [metrics, rules, rank_command, publish, revisions, bulletin]
