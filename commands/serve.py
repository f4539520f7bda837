"""``taizhang serve``: the ledger in a browser, and an Open311 endpoint."""

from __future__ import annotations

import ipaddress

import click

from commands.session import Session, pass_session

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
              help="The address to listen on (loopback only: the server acts as the "
              "account that started it).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--session-hours", type=click.FloatRange(min=0.01), default=SESSION_HOURS,
              show_default=True, help="How long a login lasts.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="The language of the pages (as bulletin --lang).")
@pass_session
def serve(session: Session, host: str, port: int, session_hours: float, lang: str) -> None:
    """Serve the ledger read-only to a browser (the board, tasks, the timeline, rankings,
    metrics, bulletins, the audit status) and to Open311 GeoReport v2 clients.

    Prints a one-time login URL; each use of it prints the next one."""
    import uvicorn

    from ledger.recorders import os_account
    from web.access import Gate
    from web.app import Server, create_app

    if not _loopback(host):
        raise click.BadParameter(
            f"{host!r} is not a loopback address: the server acts as the account that started "
            "it, so it listens on 127.0.0.1 (or ::1) only", param_hint="'--host'")
    shown = f"[{host}]" if ":" in host else host

    def announce(token: str) -> None:
        click.echo(f"login (one use): http://{shown}:{port}/login?token={token}", err=True)

    session.store.ledger.campaign()  # a store that cannot be read fails here, not later
    account = session.store.url.user or os_account()
    click.echo(f"taizhang serving {session.store.url.describe()} on http://{shown}:{port}/ "
               f"(read-only; Ctrl-C stops)", err=True)
    gate = Gate(account, session_hours * 3600, announce)
    server = Server(session.url, gate, lang=lang)
    click.echo(f"Open311: http://{shown}:{port}/open311/v2/requests.json?api_key="
               f"{gate.api_key}", err=True)
    try:
        uvicorn.run(create_app(server), host=host, port=port, log_level="warning")
    finally:
        server.store.close()


COMMANDS = [serve]
