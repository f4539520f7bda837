"""Who may do what: the account you are, and (on PostgreSQL) the database's own roles."""

from __future__ import annotations

import click

from commands.output import emit_record, output_options
from commands.session import Session, pass_session
from i18n import _
from domain.base import Refused


@click.group()
def access() -> None:
    """账户与数据库角色：whoami、adopt、setup、grant、projector。"""


@access.command("whoami")
@output_options()
@pass_session
def whoami(session: Session, fmt: str) -> None:
    """存储认证的账户、账户类型，以及与之绑定的人员。"""
    from ledger.access import account_kind
    from ledger.identity import Accounts

    store = session.store
    found = Accounts(store.ledger).whoami()
    kind = account_kind(store)
    emit_record({"account": found["account"], "kind": kind["kind"],
                 "bound_by_triggers": kind["bound_by_triggers"],
                 "person": found["person"] or "(none: may read, not write)",
                 "name": found["name"], "role": found["role"]}, fmt)


@access.command("adopt")
@click.argument("admin_id", metavar="ADMIN")
@pass_session
def adopt(session: Session, admin_id: str) -> None:
    """把你的账户绑定到管理员 ADMIN，用于账户绑定之前就已建立的台账（仅一次：此后只能由管理员
    绑定）。在 PostgreSQL 上须以所有者身份运行。"""
    from ledger.access import account_kind
    from ledger.identity import Accounts

    store = session.store
    if store.url.kind == "postgresql" and account_kind(store)["bound_by_triggers"]:
        raise Refused(_("账户 {account} 不是存储的所有者：由所有者认领账户绑定之前开始的账本").format(
            account=store.ledger.account))
    adopted = Accounts(store.ledger).adopt(admin_id=admin_id)
    click.echo(_("账户 {account} 已绑定 {person}").format(account=adopted["account"],
                                                      person=admin_id))


@access.command("setup")
@pass_session
def setup(session: Session) -> None:
    """创建组角色及其授权，以及身份触发器（PostgreSQL；须以存储所在 schema 的所有者身份运
    行）。可重复运行。"""
    from ledger import access as rules

    store = session.store
    tables = sorted(t.name for p in session.read.projections.values()
                    for t in p.tables.values())
    session.read.projector.create_tables()
    from projections.follow import FOLLOWER, create_table

    create_table(store)  # the follower records its advance there, as the projector
    groups = rules.setup(store, ["rm_positions", FOLLOWER.name, *tables])
    click.echo(_("组角色：{groups}").format(groups=", ".join(groups)))
    click.echo(_("事件表上已安装身份触发器"))


@access.command("grant")
@click.argument("person_id")
@click.option("--login", required=True, metavar="ROLE",
              help="此人的 PostgreSQL 登录名（不存在则创建，不设密码：认证由 pg_hba.conf 负"
                   "责）。")
@pass_session
def grant(session: Session, person_id: str, login: str) -> None:
    """授予 LOGIN 与 PERSON 的角色对应的组角色，并把 LOGIN 绑定到 PERSON。"""
    from ledger import access as rules
    from ledger.identity import Accounts

    store = session.store
    rules.require_postgres(store, "access grant")
    ledger = store.ledger
    person = ledger.person(person_id)
    rules.check_group(store, person.person_role)  # before anything is written
    accounts = Accounts(ledger)
    if accounts.person_of(login) != person_id:  # bound already: granting again is safe
        accounts.bind(actor_id=session.actor, person_id=person_id, account=login)
    granted = rules.grant(store, person.person_role, login)
    click.echo(_("登录角色 {login}{created} 属于 {group}，绑定 {person}").format(
        login=login, created=_("（新建）") if granted["created"] else "",
        group=granted["group"], person=person_id))


@access.command("projector")
@click.option("--login", required=True, metavar="ROLE")
@pass_session
def projector(session: Session, login: str) -> None:
    """授予 LOGIN 投影程序的组角色：它负责让读模型保持最新（'projections follow'），不录入任何
    事件。"""
    from ledger import access as rules

    granted = rules.grant(session.store, rules.PROJECTOR, login)
    click.echo(_("登录角色 {login}{created} 属于 {group}").format(
        login=login, created=_("（新建）") if granted["created"] else "",
        group=granted["group"]))


COMMANDS = [access]
