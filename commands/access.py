"""Who may do what: the account you are, and (on PostgreSQL) the database's own roles."""

from __future__ import annotations

import click

from commands.output import emit_record, output_options
from commands.session import Session, pass_session
from i18n import _
from domain.base import Refused


@click.group()
def access() -> None:
    """Accounts and the database's roles: whoami, adopt, setup, grant, projector."""


@access.command("whoami")
@output_options()
@pass_session
def whoami(session: Session, fmt: str) -> None:
    """The account the store authenticated, its kind, and the person bound to it."""
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
    """Bind your account to administrator ADMIN in a ledger begun before accounts were
    bound (once: afterwards only an administrator binds). On PostgreSQL, as the owner."""
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
    """Create the group roles and grants, and the identity trigger (PostgreSQL; as the
    owner of the store's schema). Safe to run again."""
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
              help="The PostgreSQL login of the person (created without a password if "
              "missing: authentication is pg_hba.conf's business).")
@pass_session
def grant(session: Session, person_id: str, login: str) -> None:
    """Give LOGIN the group role of PERSON's role and bind LOGIN to PERSON."""
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
    """Give LOGIN the projector's group: it keeps the read models current
    ('projections follow'), and enters no events."""
    from ledger import access as rules

    granted = rules.grant(session.store, rules.PROJECTOR, login)
    click.echo(_("登录角色 {login}{created} 属于 {group}").format(
        login=login, created=_("（新建）") if granted["created"] else "",
        group=granted["group"]))


COMMANDS = [access]
