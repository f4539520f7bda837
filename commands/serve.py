"""``taizhang serve``: the ledger in a browser, and an Open311 endpoint."""

from __future__ import annotations

import ipaddress

import click

from commands.session import Session, pass_session
from i18n import _, language

SESSION_HOURS = 8.0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听的地址（SQLite 上只能是回环地址：服务器以启动它的账户身份运行）。")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--session-hours", type=click.FloatRange(min=0.01), default=SESSION_HOURS,
              show_default=True, help="一次登录的有效时长。")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, hidden=True,
              help="页面的语言（默认：taizhang --lang）。")
@pass_session
def serve(session: Session, host: str, port: int, session_hours: float,
          lang: str | None) -> None:
    """以只读方式向浏览器（台账、任务、时间线、排名、指标、通报、审计状态）和 Open311 GeoReport
    v2 客户端提供台账。

    在 SQLite 上：打印一个一次性登录网址（每用一次打印下一个），以启动它的账户身份运行，只
    监听回环地址。在 PostgreSQL 上：每人用自己的数据库角色和密码登录，看到其角色可读的内容。"""
    import uvicorn

    from ledger.recorders import os_account
    from web.access import Gate
    from web.app import Server, create_app

    by_password = session.store.url.kind == "postgresql"
    if not by_password and not _loopback(host):
        raise click.BadParameter(
            _("{host} 不是环回地址：服务器以启动它的账户的身份读取，只在 127.0.0.1（或 ::1）上"
              "监听").format(host=repr(host)), param_hint="'--host'")
    shown = f"[{host}]" if ":" in host else host

    def announce(token: str) -> None:
        click.echo(_("登录链接（仅一次有效）：{url}").format(
            url=f"http://{shown}:{port}/login?token={token}"), err=True)

    session.store.ledger.campaign()  # a store that cannot be read fails here, not later
    account = session.store.url.user or os_account()
    click.echo(_("taizhang 在 {url} 提供 {store}（只读；Ctrl-C 停止）").format(
        store=session.store.url.describe(), url=f"http://{shown}:{port}/"), err=True)
    gate = Gate(account, session_hours * 3600, None if by_password else announce)
    server = Server(session.url, gate, lang=lang or language())
    if by_password:
        click.echo(_("在 {url} 用 PostgreSQL 登录角色及其密码登录（taizhang access grant）")
                   .format(url=f"http://{shown}:{port}/login"), err=True)
    else:
        click.echo(f"Open311: http://{shown}:{port}/open311/v2/requests.json?api_key="
                   f"{gate.api_key}", err=True)
    try:
        uvicorn.run(create_app(server), host=host, port=port, log_level="warning")
    finally:
        gate.close()
        server.store.close()


COMMANDS = [serve]
