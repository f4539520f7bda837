"""taizhang (台账): the command line. Parses, calls the ledger, prints — nothing more."""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

import i18n
from commands.help import WideContext, widen
from ledger.faults import STORE_FAULTS, loaded

# Each command's module and short help: the group lists them (``taizhang --help``) without
# importing any, and imports only the one invoked, so a command loads only what it uses.
# tests/tier3_cli/test_cli_startup.py checks this against every module's COMMANDS.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("commands.registry", "Create the ledger's tables in the store (safe to run again)."),
    "campaign": ("commands.registry", "The campaign this ledger serves (创建活动)."),
    "unit": ("commands.registry", "Responsible units (责任单位): 社区, 街道, 部门, 物业."),
    "person": ("commands.registry", "People who act in the ledger, each in one role."),
    "access": ("commands.access",
               "Accounts and the database's roles: whoami, adopt, setup, grant, projector."),
    "inspect": ("commands.tasks", "Record an inspection visit (巡查) of UNIT, with what it found."),
    "task": ("commands.tasks",
             "One task's lifecycle: assign, ack, notice, report, reinspect, close …"),
    "board": ("commands.board",
              "The 台账: one row per task, with its state, deadline, days overdue and the deadline a "
              "pending extension request asks for."),
    "demo": ("commands.demo",
             "Build a demo ledger in an empty store: a small city (three 街道 with their 社区 and "
             "property companies, six departments, a supervision group, an auditor) over months of "
             "inspections, rectifications, targets, surveys and published rankings — each act "
             "entered minutes to weeks after it happened, so --as-of replays the ledger as it "
             "grew."),
    "projections": ("commands.projections", "Read models: status, rebuild, verify, follow."),
    "indicators": ("commands.indicators",
                   "The indicator system (测评体系) and its decomposition into targets (指标分解)."),
    "survey": ("commands.survey",
               "Public surveys (群众满意度测评): awareness, participation, satisfaction."),
    "summary": ("commands.summary",
                "The figures of a work summary for any period and unit, computed from the ledger, "
                "with a paragraph in the style of a 工作总结 and a table."),
    "reminders": ("commands.reminders",
                  "Each unit's tasks overdue and due soon (到期提醒), for its chat group."),
    "evidence": ("commands.evidence",
                 "The evidence files (photos, documents) the ledger keeps by their SHA-256."),
    "history": ("commands.history",
                "The full timeline of one RECORD: when each event happened and when it was "
                "recorded, by whom and from which account, with reasons, evidence, corrections and "
                "withdrawal."),
    "timeline": ("commands.history",
                 "The auditors' replay: every event in the order the ledger recorded it, with when "
                 "it happened, who entered it and how late."),
    "audit": ("commands.audit", "Audit integrity: the hash chain, checkpoints, export and import."),
    "import": ("commands.importing",
               "Import FILE (CSV or XLSX) as tasks, as the mapping says; the acting person (--as) "
               "must be an administrator."),
    "export": ("commands.importing", "Write the ledger's figures out to spreadsheets."),
    "template": ("commands.template",
                 "Write an Excel template to fill and import: assign, survey or targets."),
    "metrics": ("commands.evaluation",
                "Long-term-mechanism metrics (长效机制) per unit for a month; 'metrics explain' lists "
                "what makes up one figure."),
    "rules": ("commands.evaluation",
              "Scoring rules (评分细则): adopt a TOML file from a month on; show those in force."),
    "rank": ("commands.evaluation",
             "The monthly ranking of one level: score, rank (equal scores share it), change "
             "against last month, the deductions behind each score, and the red and black lists."),
    "publish": ("commands.evaluation",
                "Freeze a month's ranking (every level): records the rules version, the ledger "
                "position and audit head it was computed from, and the result's digest."),
    "revisions": ("commands.evaluation",
                  "What recomputing a published month now would change, and which late or "
                  "corrected events (entered after its position, happening in or before the month) "
                  "are why."),
    "bulletin": ("commands.evaluation",
                 "The supervision bulletin (督查通报) of a month: summary figures, rankings, red and "
                 "black lists, overdue and recurring problems by unit, and the last 12 months' "
                 "chart."),
    "serve": ("commands.serve",
              "Serve the ledger read-only to a browser (the board, tasks, the timeline, rankings, "
              "metrics, bulletins, the audit status) and to Open311 GeoReport v2 clients."),
    "correct": ("commands.corrections",
                "Correct an event of RECORD by a new event; the original stays, and both are shown "
                "in 'history', 'timeline' and their exports."),
    "withdraw": ("commands.corrections",
                 "Withdraw RECORD (a survey, inspection or target task entered twice or in error): "
                 "it stays in the ledger, shown as withdrawn, and counts in no figure."),
}
# A refusal of the ledger's, or a bad store URL or setting: its own words, one line.
REFUSALS = ("domain.base:DomainError", "ledger.store:StoreURLError",
            "ledger.settings:SettingError")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("taizhang")
    except PackageNotFoundError:
        return "0+unknown"


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"taizhang, version {_version()}")
        ctx.exit()


class LedgerGroup(click.Group):
    """Loads each command's module when it is invoked (``COMMANDS``), and turns the
    ledger's refusals into one-line errors at the edge, never tracebacks."""

    context_class = WideContext  # help aligned by display width (commands/help.py)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = importlib.import_module(COMMANDS[cmd_name][0])
            for command in module.COMMANDS:
                self.add_command(widen(command))
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands' short help as ``COMMANDS`` has it, no module imported."""
        listed = {name: click.Command(name, help=short) for name, (_, short) in
                  COMMANDS.items()}
        listed.update(self.commands)
        rows = [(name, listed[name]) for name in self.list_commands(ctx)
                if not listed[name].hidden]
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except loaded(*REFUSALS) as e:
            raise click.ClickException(i18n.refusal(e)) from None
        except loaded(*STORE_FAULTS) as e:
            from ledger.faults import LedgerBusy, lock_timed_out

            if lock_timed_out(e) and not isinstance(e, LedgerBusy) and ctx.obj:
                e = LedgerBusy(ctx.obj.store.settings)  # a read model's lock, or SQLite's
            # The driver's own words (not SQLAlchemy's wrapping), and the store as described
            # (never the URL as typed: it may hold a password).
            said = i18n.refusal(getattr(e, "orig", None) or e).strip().splitlines()
            where = ctx.obj.store.url.describe() if ctx.obj else ""
            raise click.ClickException(i18n._("存储 {where}：{said}").format(
                where=where, said=(said or [type(e).__name__])[0])) from None


@click.group(cls=LedgerGroup)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version, help="Show the version and exit.")
@click.option("--db", "url", default=None, metavar="URL",
              help="Store: sqlite:///FILE (default sqlite:///taizhang.db) or "
              "postgresql://USER@HOST:PORT/DB; also TAIZHANG_DB.")
@click.option("--as", "actor", default=None, metavar="PERSON",
              help="The person bound to your account (checked; refused if it is someone "
              "else); also TAIZHANG_AS.")
@click.option("--on-behalf-of", "on_behalf_of", default=None, metavar="PERSON",
              help="Enter the event for this person (a proxy entry, 代录: administrators "
              "and clerks only).")
@click.option("--lang", type=click.Choice(i18n.LANGS), default=i18n.DEFAULT,
              envvar=i18n.ENV, show_default=True, is_eager=True, expose_value=False,
              callback=lambda _ctx, _param, value: i18n.use(value),
              help="The language of everything printed: zh (Chinese) or en (English); "
              "also TAIZHANG_LANG.")
@click.pass_context
def main(ctx: click.Context, url: str | None, actor: str | None,
         on_behalf_of: str | None) -> None:
    """台账 taizhang — an event-sourced ledger of civilization-creation tasks."""
    from commands.session import Session
    from ledger.store import default_url

    session = Session(url or default_url(), actor or os.environ.get("TAIZHANG_AS"),
                      on_behalf_of)
    ctx.obj = session
    ctx.call_on_close(session.close)


def run() -> None:
    """The console entry point: usage errors too are one ``Error:`` line, exit code 2."""
    try:
        main.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(i18n._("已中止！"), err=True)
        raise SystemExit(1) from None
    except click.UsageError as e:
        click.echo(f"Error: {e.format_message()}", err=True)
        raise SystemExit(e.exit_code) from None
    except click.ClickException as e:
        e.show()
        raise SystemExit(e.exit_code) from None
