"""The campaign's working-day calendar: the official arrangement and the city's own days."""

from __future__ import annotations

from datetime import date, datetime

import click

from commands.output import emit, output_options
from commands.params import DATE, at_option
from commands.session import Session, pass_session
from domain.registry import LOCAL_HOLIDAY, LOCAL_WORKDAY
from i18n import N_, _
from ledger.workdays import known_years

LOCAL_KINDS = {LOCAL_HOLIDAY: N_("休息日"), LOCAL_WORKDAY: N_("工作日")}

CALENDAR_COLUMNS = [("day", N_("日期")), ("weekday", N_("星期")), ("local", N_("本地设置")),
                    ("official", N_("官方日历")), ("reason", N_("理由"))]


@click.group("calendar")
def calendar() -> None:
    """工作日：法定节假日日历和活动自己的调休日。"""


def _local_day_command(kind: str, help_text: str) -> None:
    """``calendar add-holiday`` and ``calendar add-workday``: one command each."""

    @calendar.command(f"add-{kind}", help=help_text)
    @click.argument("day", metavar="DATE", type=DATE)
    @click.option("--reason", required=True,
                  help="原因，例如规定此日的本市通知。")
    @at_option()
    @pass_session
    def command(session: Session, day: date, reason: str,
                occurred_at: datetime | None) -> None:
        ledger = session.store.ledger
        result = ledger.add_local_day(actor_id=session.actor, day=day, kind=kind, reason=reason,
                                      occurred_at=session.localize(occurred_at))
        click.echo(_("{day} 记为本活动的{kind}：{reason}（此后计算的期限按此计）").format(
            day=result["day"], kind=_(LOCAL_KINDS.get(result["kind"], result["kind"])),
            reason=result["reason"]))


_local_day_command(LOCAL_HOLIDAY, "把 DATE 记为本地休息日：按工作日计算的期限跳过它。")
_local_day_command(LOCAL_WORKDAY, "把 DATE 记为本地工作日：按工作日计算的期限计入它。")


@calendar.command("show")
@click.option("--year", type=click.IntRange(min=1), default=None, help="只看这一年。")
@output_options()
@pass_session
def calendar_show(session: Session, year: int | None, fmt: str) -> None:
    """活动自己的调休日，以及法定日历对每一天的说法。"""
    rows = session.store.ledger.describe_calendar(year)
    if fmt == "table":
        first, last = known_years()
        click.echo(_("官方日历（chinesecalendar）：{first}–{last}；本地设置 {n} 天").format(
            first=first, last=last, n=len(rows)))
    emit(rows, CALENDAR_COLUMNS, fmt)
