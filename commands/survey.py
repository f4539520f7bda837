"""Survey commands: record a public survey of a unit, list surveys and monthly figures."""

from __future__ import annotations

from datetime import datetime

import click

from commands.output import emit, output_options
from commands.params import MONTH, HiddenArgument, at_option
from commands.session import Session, pass_session
from i18n import N_, _


@click.group()
def survey() -> None:
    """群众满意度测评：知晓率、参与率、满意度。"""


@survey.command("record")
@click.option("--unit", "unit_code", required=True)
@click.option("--month", type=MONTH, required=True, help="测评的月份。")
@click.option("--awareness", required=True, help="知晓率，百分比（0–100）。")
@click.option("--participation", required=True, help="参与率，百分比（0–100）。")
@click.option("--satisfaction", required=True, help="满意度，百分比（0–100）。")
@click.option("--sample", required=True, help="回答的人数。")
@click.option("--source", default="文明办", show_default=True,
              help="测评的实施者，例如 第三方测评机构。")
@click.option("--method", default="问卷调查", show_default=True,
              help="方式，例如 入户问卷、电话调查、网络问卷、街头拦访。")
@click.option("--note", default="")
@at_option()
@pass_session
def survey_record(session: Session, unit_code: str, month: str, awareness: str,
                  participation: str, satisfaction: str, sample: str, source: str,
                  method: str, note: str, occurred_at: datetime | None) -> None:
    """记录某单位某月的测评结果。"""
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
@click.option("--unit", "unit_code", default=None, help="一个单位，连同其下所有单位。")
@click.option("--month", type=MONTH, default=None)
@output_options()
@pass_session
def survey_list(session: Session, unit_code: str | None, month: str | None,
                fmt: str) -> None:
    """已记录的所有测评，按月份和单位。"""
    emit(session.services.indicator_queries.surveys(unit=unit_code, month=month),
         SURVEY_COLUMNS, fmt)


@survey.command("figures")
@click.argument("month_given", cls=HiddenArgument, type=MONTH, required=False,
                metavar="MONTH")
@click.option("--month", type=MONTH, default=None, help="月份。")
@output_options()
@pass_session
def survey_figures(session: Session, month_given: str | None, month: str | None,
                   fmt: str) -> None:
    """各单位某月的比率，各次测评按样本量加权（与评比所用的一致）。"""
    month = month or month_given  # survey figures MONTH: the old spelling, still read
    if month is None:
        raise click.UsageError(_("缺少选项 '--month'。"))
    figures = session.services.indicator_queries.survey_figures(month)
    emit([{"unit": unit, **f} for unit, f in figures.items()],
         [("unit", N_("单位")), ("awareness", N_("知晓率 %")), ("participation", N_("参与率 %")),
          ("satisfaction", N_("满意度 %")), ("sample", N_("样本数")), ("surveys", N_("测评次数"))], fmt)


COMMANDS = [survey]
