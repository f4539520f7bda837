"""taizhang (台账): the command line. Parses, calls the ledger, prints — nothing more."""

from __future__ import annotations

import importlib
import os
from contextlib import nullcontext
from typing import Any

import click

import i18n
from commands import help as helping
from commands.help import WideContext, widen
from ledger.faults import STORE_FAULTS, loaded

# Each command's module and short help: the group lists them (``taizhang --help``) without
# importing any, and imports only the one invoked, so a command loads only what it uses.
# tests/tier3_cli/test_cli_startup.py checks this against every module's COMMANDS.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("commands.registry", "在存储中建立台账的数据表（可重复运行）。"),
    "campaign": ("commands.registry", "本台账服务的创建活动。"),
    "unit": ("commands.registry", "责任单位：社区、街道、部门、物业。"),
    "person": ("commands.registry", "在台账中操作的人员，每人一个角色。"),
    "access": ("commands.access",
               "账户与数据库角色：whoami、adopt、setup、grant、projector。"),
    "inspect": ("commands.tasks", "记录对 UNIT 的一次巡查及其发现的问题。"),
    "task": ("commands.tasks",
             "一项任务的全过程：assign、ack、notice、report、reinspect、close……"),
    "board": ("commands.board",
              "台账：每项任务一行，含状态、整改期限、超期天数，以及待批延期申请所请求的期限。"),
    "demo": ("commands.demo",
             "在空存储中生成演示台账：一座小城（三个街道及其社区和物业公司、六个部门、一个督"
             "查组、一名审计员）历经数月的巡查、整改、指标任务、测评和已发布的排名，每项操作"
             "都在发生后几分钟到几周才录入，因此 --as-of 可以重现台账的成长过程。"),
    "projections": ("commands.projections", "读模型：status、rebuild、verify、follow。"),
    "indicators": ("commands.indicators",
                   "测评体系及其指标分解（指标任务）。"),
    "survey": ("commands.survey",
               "群众满意度测评：知晓率、参与率、满意度。"),
    "summary": ("commands.summary",
                "任意时段、任意单位的工作总结数据，由台账计算，附一段工作总结式的文字和一张表"
                "格。"),
    "reminders": ("commands.reminders",
                  "各单位已超期和即将到期的任务（到期提醒），可发到其工作群。"),
    "evidence": ("commands.evidence",
                 "台账按 SHA-256 保存的证据文件（照片、文档）。"),
    "history": ("commands.history",
                "一条 RECORD 的完整时间线：每个事件何时发生、何时记录、由谁从哪个账户录入，以"
                "及理由、证据、更正和撤回。"),
    "timeline": ("commands.history",
                 "审计回放：按台账记录的顺序列出每个事件，含发生时间、录入人和迟录天数。"),
    "audit": ("commands.audit", "审计完整性：哈希链、检查点、导出和导入。"),
    "import": ("commands.importing",
               "按映射文件把 FILE（CSV 或 XLSX）导入为任务；操作人（--as）须为管理员。"),
    "export": ("commands.importing", "把台账数据导出为电子表格。"),
    "template": ("commands.template",
                 "生成一个可填写并导入的 Excel 模板：assign、survey 或 targets。"),
    "metrics": ("commands.evaluation",
                "各单位某月的长效机制指标；'metrics explain' 列出某一数值的构成。"),
    "rules": ("commands.evaluation",
              "评分细则：从某月起采用一个 TOML 文件；查看现行细则。"),
    "rank": ("commands.evaluation",
             "某一层级的月度排名：得分、名次（同分同名次）、与上月相比的变化、每项得分背后的"
             "扣分，以及红黑榜。"),
    "publish": ("commands.evaluation",
                "冻结某月的排名（所有层级）：记录评分细则版本、计算所依据的台账位置和审计链"
                "头，以及结果摘要。"),
    "revisions": ("commands.evaluation",
                  "若现在重新计算已发布的月份会有什么变化，以及原因：哪些迟录或更正的事件（在"
                  "其位置之后录入、发生在该月或之前）。"),
    "bulletin": ("commands.evaluation",
                 "某月的督查通报：汇总数据、排名、红黑榜、各单位超期和反复出现的问题，以及近 "
                 "12 个月的图表。"),
    "serve": ("commands.serve",
              "以只读方式向浏览器（台账、任务、时间线、排名、指标、通报、审计状态）和 Open311 "
              "GeoReport v2 客户端提供台账。"),
    "correct": ("commands.corrections",
                "以一个新事件更正 RECORD 的某个事件；原事件保留，二者都显示在 'history'、"
                "'timeline' 及其导出中。"),
    "withdraw": ("commands.corrections",
                 "撤回 RECORD（重复录入或误录的测评、巡查或指标任务）：它仍留在台账中，显示为"
                 "已撤回，不计入任何数据。"),
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
        click.echo(i18n._("taizhang，版本 {version}").format(version=_version()))
        ctx.exit()


class LedgerGroup(click.Group):
    """Loads each command's module when it is invoked (``COMMANDS``), and turns the
    ledger's refusals into one-line errors at the edge, never tracebacks."""

    context_class = WideContext  # help aligned by display width (commands/help.py)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            with helping.as_written():
                module = importlib.import_module(COMMANDS[cmd_name][0])
            for command in module.COMMANDS:
                self.add_command(widen(command))
        return self.commands.get(cmd_name)

    def main(self, args: Any = None, *rest: Any, **options: Any) -> Any:
        """One command: in the language of its ``--lang`` (else ``TAIZHANG_LANG``), known
        before any option is acted on, so that ``--help --lang en`` is in English too. The
        language lasts as long as the command: after it, the one before is in use again
        (unless the caller shows the errors, standalone_mode=False, as :func:`run` does)."""
        with i18n.kept() if options.get("standalone_mode", True) else nullcontext():
            i18n.use(None)
            said = _lang_asked(list(args) if args is not None else [], self)
            if said in i18n.LANGS:
                i18n.use(said)
            return super().main(args, *rest, **options)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands' short help as ``COMMANDS`` has it, no module imported, each on one
        line."""
        listed = {name: click.Command(name, help=short, short_help=short)
                  for name, (_, short) in COMMANDS.items()}
        listed.update(self.commands)
        rows = [(name, listed[name]) for name in self.list_commands(ctx)
                if not listed[name].hidden]
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section(helping.click_gettext("Commands")):
            formatter.write_dl([(name, helping.clip(
                i18n._(COMMANDS[name][1]) if name in COMMANDS else cmd.get_short_help_str(),
                limit)) for name, cmd in rows])

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


def _lang_asked(args: list[str], group: click.Group) -> str | None:
    """The ``--lang`` among the group's own options (before the command's name)."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--" or arg in COMMANDS or arg in group.commands:
            return None
    return None


helping.install()


@click.group(cls=LedgerGroup)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_show_version, help="显示版本号并退出。")
@click.option("--db", "url", default=None, metavar="URL",
              help="存储：sqlite:///FILE（默认 sqlite:///taizhang.db）或 "
                   "postgresql://USER@HOST:PORT/DB；也可用 TAIZHANG_DB。")
@click.option("--as", "actor", default=None, metavar="PERSON",
              help="与你的账户绑定的人员（会核对；若是他人则拒绝）；也可用 TAIZHANG_AS。")
@click.option("--on-behalf-of", "on_behalf_of", default=None, metavar="PERSON",
              help="代此人录入事件（代录：仅限管理员和录入员）。")
@click.option("--lang", type=click.Choice(i18n.LANGS), default=i18n.DEFAULT,
              envvar=i18n.ENV, show_default=True, is_eager=True, expose_value=False,
              callback=lambda _ctx, _param, value: i18n.use(value),
              help="所有输出的语言：zh（中文）或 en（英文）；也可用 TAIZHANG_LANG。")
@click.pass_context
def main(ctx: click.Context, url: str | None, actor: str | None,
         on_behalf_of: str | None) -> None:
    """台账 taizhang：创建文明城市任务的事件溯源台账。"""
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
