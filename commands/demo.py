"""The demo: a realistic ledger to look at and try commands on."""

from __future__ import annotations

from dataclasses import replace

import click

from commands.board import board
from commands.evaluation import print_last_ranking
from commands.params import MONTH
from commands.session import Session, pass_session
from ledger.demo import DEMO, Simulation


@click.command()
@click.option("--seed", type=int, default=7, show_default=True,
              help="The same seed (and --until) gives the same ledger.")
@click.option("--until", type=MONTH, default=None,
              help="Last month simulated (up to now at most); default this month.")
@click.option("--months", type=click.IntRange(1, 36), default=DEMO.months, show_default=True)
@pass_session
@click.pass_context
def demo(ctx: click.Context, session: Session, seed: int, until: str | None,
         months: int) -> None:
    """Build a demo ledger in an empty store: a 街道, ten 社区, departments, property
    companies and a supervision group, over months of inspections and rectifications."""
    session.create_if_missing()
    ledger = session.store.ledger
    until = until or f"{ledger.clock():%Y-%m}"
    scale = replace(DEMO, months=months)
    summary = Simulation(ledger, seed=seed, until=until, scale=scale).run()
    click.echo(f"demo ledger: {summary['units']} units, {summary['inspections']} inspections, "
               f"{summary['tasks']} tasks, {summary['events']} events "
               f"({summary['from']} … {summary['until']}) in {session.store.url.describe()}")
    click.echo("open tasks on the 台账, most overdue first (all acts as admin: --as admin):")
    ctx.invoke(board, unit_code=None, state=None, category=None, source=None, overdue=False,
               month=None, sort="overdue", fmt="table", open_only=True)
    print_last_ranking(session, until)


COMMANDS = [demo]
