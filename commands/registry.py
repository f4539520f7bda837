"""Registry commands: init, the campaign, units and people."""

from __future__ import annotations

import click

from commands.calendar import calendar
from commands.session import Session, pass_session
from commands.output import emit, emit_record, output_options
from commands.params import at_option
from i18n import N_, _, labels
from domain.registry import UNIT_KINDS
from domain.roles import ROLES


@click.command()
@pass_session
def init(session: Session) -> None:
    """在存储中建立台账的数据表（可重复运行）。"""
    session.create_if_missing()
    session.store.ledger  # opening the ledger creates the event table
    session.read.projector.create_tables()
    from projections.follow import create_table

    create_table(session.store)  # where `projections follow` says when it last advanced
    click.echo(_("账本已就绪：{store}").format(store=session.store.url.describe()))


@click.group()
def campaign() -> None:
    """本台账服务的创建活动。"""


@campaign.command("start")
@click.option("--name", required=True, help="例如 创建全国文明城市 2024")
@click.option("--time-zone", default="Asia/Shanghai", show_default=True)
@click.option("--category", "categories", multiple=True,
              help="一个问题类别；可重复。默认：七大管理。")
@click.option("--required-inspections", type=click.IntRange(min=0), default=4,
              show_default=True, help="每个单位每月需要的巡查次数。")
@click.option("--admin", "admin_id", required=True, help="第一位管理员的编号。")
@click.option("--admin-name", required=True, help="第一位管理员的姓名。")
@pass_session
def campaign_start(session: Session, name: str, time_zone: str, categories: tuple[str, ...],
                   required_inspections: int, admin_id: str, admin_name: str) -> None:
    """开始创建活动，设第一位管理员，并绑定到你的账户。"""
    session.create_if_missing()
    ledger = session.store.ledger
    result = ledger.start_campaign(
        name=name, time_zone=time_zone, categories=list(categories),
        required_inspections=required_inspections, admin_id=admin_id, admin_name=admin_name)
    click.echo(_("创建活动 {name} 已开始（{zone}）；管理员 {admin}，绑定账户 {account}").format(
        name=result["name"], zone=result["time_zone"], admin=admin_id, account=ledger.account))


@campaign.command("show")
@output_options()
@pass_session
def campaign_show(session: Session, fmt: str) -> None:
    """显示活动的设置和问题类别。"""
    emit_record(session.store.ledger.describe_campaign(), fmt)


@campaign.command("add-category")
@click.argument("category")
@at_option()
@pass_session
def campaign_add_category(session: Session, category: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """新增一个问题类别（例如 公益广告、志愿服务）。"""
    ledger = session.store.ledger
    result = ledger.add_category(actor_id=session.actor, category=category,
                                 occurred_at=session.localize(occurred_at))
    click.echo(_("已新增问题类别 {category}").format(category=result["categories"][-1]))


@campaign.command("set-inspections")
@click.option("--per-month", "required", type=int, required=True,
              help="每个单位每月需要的巡查次数。")
@click.option("--reason", required=True)
@at_option()
@pass_session
def campaign_set_inspections(session: Session, required: int, reason: str,
                             occurred_at) -> None:  # type: ignore[no-untyped-def]
    """设定每个单位每月需要的巡查次数（巡查覆盖），自 --at（默认现在）起生效。"""
    ledger = session.store.ledger
    result = ledger.change_required_inspections(actor_id=session.actor, required=required,
                                                reason=reason,
                                                occurred_at=session.localize(occurred_at))
    click.echo(_("每个单位每月应巡查次数：{n}").format(n=result["required_inspections"]))


@click.group()
def unit() -> None:
    """责任单位：社区、街道、部门、物业。"""


UNIT_COLUMNS = [("code", N_("编号")), ("name", N_("名称")), ("kind", N_("类型")), ("parent", N_("上级")),
                ("retired", N_("已撤销"))]


@unit.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(UNIT_KINDS))
@click.option("--parent", default=None, metavar="UNIT", help="上级单位的编码。")
@at_option()
@pass_session
def unit_add(session: Session, code: str, name: str, kind: str, parent: str | None,
             occurred_at) -> None:  # type: ignore[no-untyped-def]
    """登记一个单位。"""
    ledger = session.store.ledger
    result = ledger.register_unit(actor_id=session.actor, code=code, name=name, kind=kind,
                                  parent=parent,
                                  occurred_at=session.localize(occurred_at))
    click.echo(_("单位 {code} {name}（{kind}）已登记").format(
        code=result["code"], name=result["name"], kind=result["kind"]))


@unit.command("rename")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--reason", required=True)
@at_option()
@pass_session
def unit_rename(session: Session, code: str, name: str, reason: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """更改单位名称。"""
    ledger = session.store.ledger
    result = ledger.rename_unit(actor_id=session.actor, code=code, name=name, reason=reason,
                                occurred_at=session.localize(occurred_at))
    click.echo(_("单位 {code} 更名为 {name}").format(code=result["code"], name=result["name"]))


@unit.command("retire")
@click.argument("code")
@click.option("--reason", required=True)
@at_option()
@pass_session
def unit_retire(session: Session, code: str, reason: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """撤销一个单位：保留其历史，但不再接收新任务。"""
    ledger = session.store.ledger
    ledger.retire_unit(actor_id=session.actor, code=code, reason=reason,
                       occurred_at=session.localize(occurred_at))
    click.echo(_("单位 {code} 已撤销").format(code=code))


@unit.command("list")
@click.option("--kind", type=click.Choice(UNIT_KINDS), default=None)
@output_options()
@pass_session
def unit_list(session: Session, kind: str | None, fmt: str) -> None:
    """列出单位。"""
    emit(session.read.units(kind), UNIT_COLUMNS, fmt)


@click.group()
def person() -> None:
    """在台账中操作的人员，每人一个角色。"""


@person.command("add")
@click.argument("person_id")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--unit", "unit_code", default=None, help="责任单位人员所代表的单位。")
@click.option("--account", default=None, metavar="NAME",
              help="把此账户绑定到该人员：PostgreSQL 登录名，SQLite 上为 USER@HOST（见 "
                   "'taizhang access whoami'）。")
@at_option()
@pass_session
def person_add(session: Session, person_id: str, name: str, role: str,
               unit_code: str | None, account: str | None,
               occurred_at) -> None:  # type: ignore[no-untyped-def]
    """登记一名人员：管理员、巡查员、责任单位人员（配合 --unit）、审计员或录入员。"""
    ledger = session.store.ledger
    result = ledger.register_person(actor_id=session.actor, person_id=person_id, name=name,
                                    role=role,
                                    unit=unit_code, account=account,
                                    occurred_at=session.localize(occurred_at))
    click.echo(_("人员 {id} {name} 已登记为{role}").format(
        id=result["id"], name=result["name"], role=labels.role(result["role"]))
        + (_("（{unit}）").format(unit=result["unit"]) if result["unit"] else "")
        + (_("，绑定账户 {account}").format(account=account) if account else ""))


@person.command("bind")
@click.argument("person_id")
@click.option("--account", required=True, metavar="NAME",
              help="账户：PostgreSQL 登录名，SQLite 上为 USER@HOST。")
@at_option()
@pass_session
def person_bind(session: Session, person_id: str, account: str,
                occurred_at) -> None:  # type: ignore[no-untyped-def]
    """把一个账户绑定到一名人员：该账户录入的内容都算作此人的（管理员）。"""
    from ledger.identity import Accounts

    ledger = session.store.ledger
    Accounts(ledger).bind(actor_id=session.actor, person_id=person_id, account=account,
                          occurred_at=session.localize(occurred_at))
    click.echo(_("账户 {account} 已绑定 {person}").format(account=account, person=person_id))


@person.command("unbind")
@click.argument("person_id")
@click.option("--account", required=True, metavar="NAME")
@click.option("--reason", required=True)
@at_option()
@pass_session
def person_unbind(session: Session, person_id: str, account: str, reason: str,
                  occurred_at) -> None:  # type: ignore[no-untyped-def]
    """解除账户与人员的绑定：此后该账户只能读，不能写（管理员）。"""
    from ledger.identity import Accounts

    ledger = session.store.ledger
    Accounts(ledger).unbind(actor_id=session.actor, person_id=person_id, account=account,
                            reason=reason,
                            occurred_at=session.localize(occurred_at))
    click.echo(_("账户 {account} 已与 {person} 解绑").format(account=account, person=person_id))


@person.command("retire")
@click.argument("person_id")
@click.option("--reason", required=True)
@at_option()
@pass_session
def person_retire(session: Session, person_id: str, reason: str, occurred_at) -> None:  # type: ignore[no-untyped-def]
    """注销一名人员：此后不能再操作。"""
    ledger = session.store.ledger
    ledger.retire_person(actor_id=session.actor, person_id=person_id, reason=reason,
                         occurred_at=session.localize(occurred_at))
    click.echo(_("人员 {person} 已注销").format(person=person_id))


@person.command("list")
@output_options()
@pass_session
def person_list(session: Session, fmt: str) -> None:
    """列出人员，以及与之绑定的账户。"""
    people = session.read.people()
    if fmt == "table":
        for row in people:
            row["role"] = labels.role(row["role"])
    emit(people, [("id", N_("人员编号")), ("name", N_("名称")), ("role", N_("角色")),
                  ("unit", N_("单位")), ("accounts", N_("账户")), ("retired", N_("已撤销"))],
         fmt)


COMMANDS = [init, campaign, unit, person]

campaign.add_command(calendar)
