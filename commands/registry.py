"""Registry commands: init, the campaign, units and people."""

from __future__ import annotations

import click

from commands.calendar import calendar
from commands.session import Session, pass_session
from commands.output import emit, emit_record, output_options
from commands.params import at_option
from domain.registry import UNIT_KINDS
from domain.roles import ROLES


@click.command()
@pass_session
def init(session: Session) -> None:
    """Create the ledger's tables in the store (safe to run again)."""
    session.create_if_missing()
    session.store.ledger  # opening the ledger creates the event table
    session.read.projector.create_tables()
    from projections.follow import create_table

    create_table(session.store)  # where `projections follow` says when it last advanced
    click.echo(f"ledger ready at {session.store.url.describe()}")


@click.group()
def campaign() -> None:
    """The campaign this ledger serves (创建活动)."""


@campaign.command("start")
@click.option("--name", required=True, help="e.g. 创建全国文明城市 2024")
@click.option("--time-zone", default="Asia/Shanghai", show_default=True)
@click.option("--category", "categories", multiple=True,
              help="A management category; repeatable. Default: the seven managements.")
@click.option("--required-inspections", type=click.IntRange(min=0), default=4,
              show_default=True, help="Inspections required per unit per month.")
@click.option("--admin", "admin_id", required=True, help="Id of the first administrator.")
@click.option("--admin-name", required=True, help="Name of the first administrator.")
@pass_session
def campaign_start(session: Session, name: str, time_zone: str, categories: tuple[str, ...],
                   required_inspections: int, admin_id: str, admin_name: str) -> None:
    """Start the campaign, with its first administrator, bound to your account."""
    session.create_if_missing()
    ledger = session.store.ledger
    result = ledger.start_campaign(
        name=name, time_zone=time_zone, categories=list(categories),
        required_inspections=required_inspections, admin_id=admin_id, admin_name=admin_name)
    click.echo(f"campaign {result['name']} started ({result['time_zone']}); "
               f"administrator {admin_id}, bound to account {ledger.account}")


@campaign.command("show")
@output_options()
@pass_session
def campaign_show(session: Session, fmt: str) -> None:
    """Show the campaign's settings and categories."""
    emit_record(session.store.ledger.describe_campaign(), fmt)


@campaign.command("add-category")
@click.argument("category")
@at_option()
@pass_session
def campaign_add_category(session: Session, category: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Add a management category (e.g. 公益广告, 志愿服务)."""
    ledger = session.store.ledger
    result = ledger.add_category(actor_id=session.actor, category=category,
                                 occurred_at=session.localize(occurred_at))
    click.echo(f"category {result['categories'][-1]} added")


@campaign.command("set-inspections")
@click.option("--per-month", "required", type=int, required=True,
              help="Inspections each unit needs a month.")
@click.option("--reason", required=True)
@at_option()
@pass_session
def campaign_set_inspections(session: Session, required: int, reason: str,
                             occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Set the inspections each unit needs a month (巡查覆盖), from --at (default now) on."""
    ledger = session.store.ledger
    result = ledger.change_required_inspections(actor_id=session.actor, required=required,
                                                reason=reason,
                                                occurred_at=session.localize(occurred_at))
    click.echo(f"required inspections per unit and month: {result['required_inspections']}")


@click.group()
def unit() -> None:
    """Responsible units (责任单位): 社区, 街道, 部门, 物业."""


UNIT_COLUMNS = [("code", "code"), ("name", "name"), ("kind", "kind"), ("parent", "parent"),
                ("retired", "retired")]


@unit.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(UNIT_KINDS))
@click.option("--parent", default=None, help="Code of the parent unit.")
@at_option()
@pass_session
def unit_add(session: Session, code: str, name: str, kind: str, parent: str | None,
             occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Register a unit."""
    ledger = session.store.ledger
    result = ledger.register_unit(actor_id=session.actor, code=code, name=name, kind=kind,
                                  parent=parent,
                                  occurred_at=session.localize(occurred_at))
    click.echo(f"unit {result['code']} {result['name']} ({result['kind']}) registered")


@unit.command("rename")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--reason", required=True)
@at_option()
@pass_session
def unit_rename(session: Session, code: str, name: str, reason: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Rename a unit."""
    ledger = session.store.ledger
    result = ledger.rename_unit(actor_id=session.actor, code=code, name=name, reason=reason,
                                occurred_at=session.localize(occurred_at))
    click.echo(f"unit {result['code']} renamed {result['name']}")


@unit.command("retire")
@click.argument("code")
@click.option("--reason", required=True)
@at_option()
@pass_session
def unit_retire(session: Session, code: str, reason: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Retire a unit: it keeps its history but gets no new tasks."""
    ledger = session.store.ledger
    ledger.retire_unit(actor_id=session.actor, code=code, reason=reason,
                       occurred_at=session.localize(occurred_at))
    click.echo(f"unit {code} retired")


@unit.command("list")
@click.option("--kind", type=click.Choice(UNIT_KINDS), default=None)
@output_options()
@pass_session
def unit_list(session: Session, kind: str | None, fmt: str) -> None:
    """List the units."""
    emit(session.read.units(kind), UNIT_COLUMNS, fmt)


@click.group()
def person() -> None:
    """People who act in the ledger, each in one role."""


@person.command("add")
@click.argument("person_id")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--unit", "unit_code", default=None, help="The unit a unit member acts for.")
@click.option("--account", default=None, metavar="NAME",
              help="Bind this account to the person: a PostgreSQL login, or on SQLite "
              "USER@HOST (see 'taizhang access whoami').")
@at_option()
@pass_session
def person_add(session: Session, person_id: str, name: str, role: str,
               unit_code: str | None, account: str | None,
               occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Register a person: admin, inspector, unit member (with --unit), auditor or clerk."""
    ledger = session.store.ledger
    result = ledger.register_person(actor_id=session.actor, person_id=person_id, name=name,
                                    role=role,
                                    unit=unit_code, account=account,
                                    occurred_at=session.localize(occurred_at))
    click.echo(f"person {result['id']} {result['name']} registered as {result['role']}"
               + (f" of {result['unit']}" if result["unit"] else "")
               + (f", bound to account {account}" if account else ""))


@person.command("bind")
@click.argument("person_id")
@click.option("--account", required=True, metavar="NAME",
              help="The account: a PostgreSQL login, or on SQLite USER@HOST.")
@at_option()
@pass_session
def person_bind(session: Session, person_id: str, account: str,
                occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Bind an account to a person: what that account enters is theirs (admin)."""
    from ledger.identity import Accounts

    ledger = session.store.ledger
    Accounts(ledger).bind(actor_id=session.actor, person_id=person_id, account=account,
                          occurred_at=session.localize(occurred_at))
    click.echo(f"account {account} bound to {person_id}")


@person.command("unbind")
@click.argument("person_id")
@click.option("--account", required=True, metavar="NAME")
@click.option("--reason", required=True)
@at_option()
@pass_session
def person_unbind(session: Session, person_id: str, account: str, reason: str,
                  occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Unbind an account from a person: it may then read, not write (admin)."""
    from ledger.identity import Accounts

    ledger = session.store.ledger
    Accounts(ledger).unbind(actor_id=session.actor, person_id=person_id, account=account,
                            reason=reason,
                            occurred_at=session.localize(occurred_at))
    click.echo(f"account {account} unbound from {person_id}")


@person.command("retire")
@click.argument("person_id")
@click.option("--reason", required=True)
@at_option()
@pass_session
def person_retire(session: Session, person_id: str, reason: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """Retire a person: they may no longer act."""
    ledger = session.store.ledger
    ledger.retire_person(actor_id=session.actor, person_id=person_id, reason=reason,
                         occurred_at=session.localize(occurred_at))
    click.echo(f"person {person_id} retired")


@person.command("list")
@output_options()
@pass_session
def person_list(session: Session, fmt: str) -> None:
    """List the people, with the accounts bound to them."""
    emit(session.read.people(),
         [("id", "id"), ("name", "name"), ("role", "role"), ("unit", "unit"),
          ("accounts", "accounts"), ("retired", "retired")], fmt)


COMMANDS = [init, campaign, unit, person]

campaign.add_command(calendar)
