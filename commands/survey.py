"""Survey commands: record a public survey of a unit, list surveys and monthly figures."""

from __future__ import annotations

from datetime import datetime

import click

from commands.output import emit, output_options
from commands.params import MONTH, HiddenArgument, at_option
from commands.session import Session, pass_session
from i18n import N_


@click.group()
def survey() -> None:
    """Public surveys (群众满意度测评): awareness, participation, satisfaction."""


@survey.command("record")
@click.option("--unit", "unit_code", required=True)
@click.option("--month", type=MONTH, required=True, help="The month surveyed.")
@click.option("--awareness", required=True, help="知晓率, percent (0–100).")
@click.option("--participation", required=True, help="参与率, percent (0–100).")
@click.option("--satisfaction", required=True, help="满意度, percent (0–100).")
@click.option("--sample", required=True, help="How many people answered.")
@click.option("--source", default="文明办", show_default=True,
              help="Who ran the survey, e.g. 第三方测评机构.")
@click.option("--method", default="问卷调查", show_default=True,
              help="How, e.g. 入户问卷, 电话调查, 网络问卷, 街头拦访.")
@click.option("--note", default="")
@at_option()
@pass_session
def survey_record(session: Session, unit_code: str, month: str, awareness: str,
                  participation: str, satisfaction: str, sample: str, source: str,
                  method: str, note: str, occurred_at: datetime | None) -> None:
    """Record a survey's results for a unit and month."""
    result = session.services.indicators.record_survey(
        actor_id=session.actor, unit=unit_code, month=month, awareness=awareness,
        participation=participation, satisfaction=satisfaction, sample=sample,
        source=source, method=method, note=note,
        occurred_at=session.localize(occurred_at))
    click.echo(f"{result['survey']} {result['unit']} {result['month']}: 知晓率 "
               f"{result['awareness']:g}% · 参与率 {result['participation']:g}% · 满意度 "
               f"{result['satisfaction']:g}% · {result['sample']} 人 "
               f"({result['source']}, {result['method']})")


SURVEY_COLUMNS = [("survey", N_("测评编号")), ("unit", N_("单位")), ("month", N_("月份")),
                  ("awareness", N_("知晓率 %")), ("participation", N_("参与率 %")),
                  ("satisfaction", N_("满意度 %")), ("sample", N_("样本数")), ("source", N_("来源")),
                  ("method", N_("方式")), ("surveyed_on", N_("测评日期"))]


@survey.command("list")
@click.option("--unit", "unit_code", default=None, help="A unit, with all units below it.")
@click.option("--month", type=MONTH, default=None)
@output_options()
@pass_session
def survey_list(session: Session, unit_code: str | None, month: str | None,
                fmt: str) -> None:
    """Every survey recorded, by month and unit."""
    emit(session.services.indicator_queries.surveys(unit=unit_code, month=month),
         SURVEY_COLUMNS, fmt)


@survey.command("figures")
@click.argument("month_given", cls=HiddenArgument, type=MONTH, required=False,
                metavar="MONTH")
@click.option("--month", type=MONTH, default=None, help="The month.")
@output_options()
@pass_session
def survey_figures(session: Session, month_given: str | None, month: str | None,
                   fmt: str) -> None:
    """Each unit's rates for a month, its surveys weighted by sample (as the evaluation
    uses them)."""
    month = month or month_given  # survey figures MONTH: the old spelling, still read
    if month is None:
        raise click.UsageError("Missing option '--month'.")
    figures = session.services.indicator_queries.survey_figures(month)
    emit([{"unit": unit, **f} for unit, f in figures.items()],
         [("unit", N_("单位")), ("awareness", N_("知晓率 %")), ("participation", N_("参与率 %")),
          ("satisfaction", N_("满意度 %")), ("sample", N_("样本数")), ("surveys", N_("测评次数"))], fmt)


COMMANDS = [survey]
