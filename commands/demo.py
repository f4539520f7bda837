"""The demo: a small city's ledger, entered as it happened, to look at and try commands on."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives import serialization

from commands.board import board
from commands.evaluation import print_last_ranking
from commands.params import MONTH
from commands.session import Session, pass_session
from i18n import _
from domain.months import month_add
from ledger.app import utc_now
from ledger.demo_city import CITY, City, SimulatedClock, demo_key
from ledger.store import Store
from services.bootstrap import Services


@click.command()
@click.option("--seed", type=int, default=7, show_default=True,
              help="相同的种子（和 --until）生成相同的台账。")
@click.option("--until", type=MONTH, default=None,
              help="模拟的最后一个月（最多到现在）；默认本月。")
@click.option("--months", type=click.IntRange(1, 36), default=CITY.months, show_default=True)
@pass_session
@click.pass_context
def demo(ctx: click.Context, session: Session, seed: int, until: str | None,
         months: int) -> None:
    """在空存储中生成演示台账：一座小城（三个街道及其社区和物业公司、六个部门、一个督查组、一
    名审计员）历经数月的巡查、整改、指标任务、测评和已发布的排名，每项操作都在发生后几分钟
    到几周才录入，因此 --as-of 可以重现台账的成长过程。

    最后一个检查点的声明和审计员的公钥写在 SQLite 存储旁边
    （STEM-checkpoint.json、STEM-auditor.pub；PostgreSQL 则写在当前文件夹）。"""
    session.create_if_missing()
    clock = SimulatedClock(utc_now())
    until = until or f"{clock.now:%Y-%m}"
    simulated = Store(session.url, clock=clock)
    try:
        city = City(simulated.ledger, seed=seed, until=until, clock=clock,
                    freeze=Services(simulated).evaluator.freeze, key=demo_key(seed),
                    scale=replace(CITY, months=months))
        city.run()
        built = city.written()
        files = _write_statement(session, city)
    finally:
        simulated.close()
    click.echo(_("演示账本：{units} 个单位，{inspections} 次巡查，{tasks} 项任务，{targets} 项指标任务，"
                 "{surveys} 次测评，{events} 个事件（{start} … {end}），存于 {store}").format(
        units=built["units"], inspections=built["inspections"], tasks=built["tasks"],
        targets=built["targets"], surveys=built["surveys"], events=built["events"],
        start=built["from"], end=built["until"], store=session.store.url.describe()))
    published = ", ".join(built["published"]) or _("尚无")
    rules = (_("自 {month} 起采用评分细则第 1 版").format(month=built["rules_from"])
             if built["rules_from"] else _("随程序提供的评分细则"))
    click.echo(_("每项操作都在发生后数分钟至数周内录入；{rules}；已发布：{published}").format(
        rules=rules, published=published)
        + (_("；已签名的检查点 {statement}（公钥 {key}）").format(statement=files[0], key=files[1])
           if files else ""))
    click.echo(_("台账上的超期任务，超期最多的在前（所有操作均以 admin 身份：--as admin）："))
    ctx.invoke(board, unit_code=None, state=None, category=None, source=None, overdue=True,
               month=None, sort="overdue", fmt="table", open_only=True)
    print_last_ranking(session, until)
    click.echo("\n" + _("接下来可以试试："))
    for line in try_next(session, city, built, files):
        click.echo(f"  {line}")


def _write_statement(session: Session, city: City) -> tuple[str, str] | None:
    """The last checkpoint's statement and the auditor's public key, beside the store's
    file (in the current folder for PostgreSQL): what an outside auditor keeps."""
    if city.statement is None:
        return None
    url = session.store.url
    base = Path(url.path) if url.kind == "sqlite" else Path("demo")
    statement = base.with_name(f"{base.stem}-checkpoint.json")
    public = base.with_name(f"{base.stem}-auditor.pub")
    statement.write_text(json.dumps(city.statement, ensure_ascii=False, indent=2) + "\n",
                         encoding="utf-8")
    public.write_bytes(city.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(statement), str(public)


def try_next(session: Session, city: City, built: dict[str, Any],
             files: tuple[str, str] | None) -> list[str]:
    """Commands that show this ledger's features, with its own dates and ids."""
    url = session.store.url
    program = Path(sys.argv[0]).name == "taizhang" and sys.argv[0] or "taizhang"
    store = session.url if url.kind == "sqlite" or not url.password else url.describe()
    prefix = f"{shlex.quote(program)} --db {shlex.quote(store)}"
    start = city.start.date()
    # The last day entered, and the last month complete by then.
    last = (min(city.cutoff, city.end) - timedelta(microseconds=1)).astimezone(city.zone)
    complete = month_add(f"{last:%Y-%m}", -1) if city.cutoff < city.end else f"{last:%Y-%m}"
    middle = start + (last.date() - start) / 2
    lines = [_note(f'board --as-of "{middle.isoformat()} 18:00"', _("那天傍晚时台账的样子"))]
    late = _late_corrected(city)
    if late:
        lines.append(_note(f"history {late}", _("迟录的事件有标注，更正与原事件并列")))
    if city.published:
        first = city.published[0]
        lines += [_note(f"rank --month {first} --level 社区 --published",
                        _("按发布时的依据重现的排名")),
                  _note(f"revisions --month {first}", _("迟录的事件会改变什么"))]
    lines += [f"rank --month {complete} --level 街道",
              f"bulletin --month {complete} --format html -o bulletin-{complete}.html",
              "indicators status --by unit"]
    surveyed = [m for m in built["surveyed"] if m <= complete]
    if surveyed:
        lines.append(f"survey figures --month {surveyed[-1]}")
    lines += [f"summary --from {start.isoformat()} --to {last.date().isoformat()}"]
    if files:
        lines.append(f"audit verify --since {shlex.quote(files[0])} --public-key "
                     f"{shlex.quote(files[1])}")
    return [f"{prefix} {line}" for line in lines]


def _note(command: str, comment: str) -> str:
    """A command to try, with a comment on what it shows."""
    return f"{command}   # {comment}"


def _late_corrected(city: City) -> str | None:
    """The first task whose deadline was corrected, with an entry made on a later day than
    it happened (and entered): its history shows both."""
    written = [t for t in city.corrected if t in city.entries.written_ids]
    late = [t for t in written if t in city.entries.late]
    return (late or written or [None])[0]


COMMANDS = [demo]
