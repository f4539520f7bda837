"""taizhang (台账): the command line. Parses, calls the ledger, prints — nothing more."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

import click
import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError

from domain.base import DomainError
from commands.session import Session
from ledger.faults import LedgerBusy, lock_timed_out
from ledger.settings import SettingError
from ledger.store import StoreURLError, default_url


def _version() -> str:
    try:
        return version("taizhang")
    except PackageNotFoundError:
        return "0+unknown"


class LedgerGroup(click.Group):
    """Turns the ledger's refusals into one-line errors at the edge, never tracebacks."""

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except (DomainError, StoreURLError, SettingError) as e:
            raise click.ClickException(str(e)) from None
        except (PersistenceError, sqlalchemy.exc.SQLAlchemyError) as e:
            if lock_timed_out(e) and not isinstance(e, LedgerBusy) and ctx.obj:
                e = LedgerBusy(ctx.obj.store.settings)  # a read model's lock, or SQLite's
            # The driver's own words (not SQLAlchemy's wrapping), and the store as described
            # (never the URL as typed: it may hold a password).
            said = str(getattr(e, "orig", None) or e).strip().splitlines()
            where = ctx.obj.store.url.describe() if ctx.obj else ""
            raise click.ClickException(f"store {where}: {(said or [type(e).__name__])[0]}") \
                from None


@click.group(cls=LedgerGroup)
@click.version_option(_version(), prog_name="taizhang")
@click.option("--db", "url", default=None, metavar="URL",
              help="Store: sqlite:///FILE (default sqlite:///taizhang.db) or "
              "postgresql://USER@HOST:PORT/DB; also TAIZHANG_DB.")
@click.option("--as", "actor", default=None, metavar="PERSON",
              help="The person bound to your account (checked; refused if it is someone "
              "else); also TAIZHANG_AS.")
@click.option("--on-behalf-of", "on_behalf_of", default=None, metavar="PERSON",
              help="Enter the event for this person (a proxy entry, 代录: administrators "
              "and clerks only).")
@click.pass_context
def main(ctx: click.Context, url: str | None, actor: str | None,
         on_behalf_of: str | None) -> None:
    """台账 taizhang — an event-sourced ledger of civilization-creation tasks."""
    session = Session(url or default_url(), actor or os.environ.get("TAIZHANG_AS"),
                      on_behalf_of)
    ctx.obj = session
    ctx.call_on_close(session.close)


def run() -> None:
    """The console entry point: usage errors too are one ``Error:`` line, exit code 2."""
    try:
        main.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        raise SystemExit(1) from None
    except click.UsageError as e:
        click.echo(f"Error: {e.format_message()}", err=True)
        raise SystemExit(e.exit_code) from None
    except click.ClickException as e:
        e.show()
        raise SystemExit(e.exit_code) from None


def _register() -> None:
    from commands import (access, audit, board, corrections, demo, evaluation, evidence,
                          history, importing, indicators, projections, registry, reminders,
                          serve, summary, survey, tasks, template)

    for command in (*registry.COMMANDS, *access.COMMANDS, *tasks.COMMANDS, *board.COMMANDS,
                    *demo.COMMANDS, *projections.COMMANDS, *indicators.COMMANDS, *survey.COMMANDS,
                    *summary.COMMANDS, *reminders.COMMANDS, *evidence.COMMANDS,
                    *history.COMMANDS, *audit.COMMANDS, *importing.COMMANDS,
                    *evaluation.COMMANDS, *serve.COMMANDS, *corrections.COMMANDS,
                    *template.COMMANDS):
        main.add_command(command)


_register()
