"""The read models' upkeep: their positions and lag, rebuilding, verifying and following
them."""

from __future__ import annotations

import json
import signal
import threading

import click

from commands.output import emit, output_options, progress
from commands.session import Session, pass_session
from i18n import N_, _
from ledger.faults import reason, transient

STATUS_COLUMNS = [("projection", N_("读模型")), ("tables", N_("表")), ("rows", N_("行数")),
                  ("position", N_("位置")), ("lag", N_("落后")),
                  ("follower_advanced", N_("跟随进程推进于")), ("check", N_("检查"))]


@click.group()
def projections() -> None:
    """Read models: status, rebuild, verify, follow."""


@projections.command("status")
@output_options()
@pass_session
def status(session: Session, fmt: str) -> None:
    """Each projection's tables, rows, position, lag behind the ledger (in events; below 0
    when the read model is ahead of it), the check that the ledger still holds the event at
    its position that it was folded from, and when `projections follow` last advanced the
    projections (blank: never); in a table, which kind of account asked (and whether it may
    write the read models). Shown even when the ledger went back since this account last
    saw it. Exits 1, with one Error line after the table, when a check fails or the ledger
    went back."""
    session.inspecting()
    from projections.follow import last_advance

    rows = session.read.status()  # opens the store, as it must exist (status creates none)
    advance = last_advance(session.store)
    rows = [{**row, "follower_advanced": advance and advance["advanced_at"]} for row in rows]
    emit(rows, STATUS_COLUMNS, fmt)
    if fmt == "table":
        from ledger.access import account_kind, describe_kind

        writes = account_kind(session.store)["may_write_read_models"]
        click.echo(_("以 {kind} 身份运行；").format(kind=describe_kind(session.store))
                   + (_("可写读模型") if writes else
                      _("不可写读模型：其查询在内存中补上落后的部分，由作为投影进程的 "
                        "'projections follow' 保持读模型最新")))
    if session.went_back is not None:
        raise session.went_back  # a refusal: said in the language in use at the boundary
    failing = [row["projection"] for row in rows if row["check"] != "ok"]
    if failing:
        raise click.ClickException(_("读模型并非由账本现状折叠而来：{names}：请运行 "
                                     "`taizhang audit verify`").format(names=", ".join(failing)))


@projections.command("rebuild")
@pass_session
def rebuild(session: Session) -> None:
    """Empty every projection and fold the whole ledger again."""
    with progress(session.store.ledger.max_position(), "rebuilding") as update:
        folded = session.read.rebuild(progress=update)
    names = ", ".join(session.read.projections)
    click.echo(_("已由 {n} 个事件重建 {names}").format(names=names, n=folded))


@projections.command("verify")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="List at most this many differing rows.")
@output_options(("table", "json"))
@pass_session
def verify(session: Session, limit: int, fmt: str) -> None:
    """Rebuild every projection from zero into scratch tables and compare it with the
    maintained one, row by row; list the differences and exit non-zero if any."""
    with progress(session.store.ledger.max_position(),
                  "rebuilding into scratch tables") as update:
        found = session.read.verify(progress=update, limit=limit)
    if fmt == "json":
        click.echo(json.dumps({
            "equal": found.equal,
            "projections": [{"name": name, "position": found.positions[name],
                             "rows_differing": count} for name, count in found.counts.items()],
            "differences": [{"table": d.table, "key": [str(k) for k in d.key],
                             "difference": d.describe()} for d in found.differences]},
            ensure_ascii=False, indent=2))
    for name, count in found.counts.items() if fmt == "table" else ():
        click.echo(_("{name}：位置 {position}，").format(name=name, position=found.positions[name])
                   + (_("与重建结果相同") if not count else
                      _("1 行不同") if count == 1 else _("{n} 行不同").format(n=count)))
    for difference in found.differences if fmt == "table" else ():
        key = ", ".join(str(k) for k in difference.key)
        click.echo(f"  {difference.table} [{key}]: {difference.describe()}")
    if not found.equal:
        differing = [n for n, c in found.counts.items() if c]
        raise click.ClickException(_("与从零重建结果不同的读模型：{names}").format(
            names=", ".join(differing)))


@projections.command("follow")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="SQLite only: seconds between polls.")
@click.option("--max-backoff", type=click.FloatRange(min=0.5), default=30.0,
              show_default=True,
              help="The longest pause, in seconds, between attempts to reconnect.")
@pass_session
def follow(session: Session, interval: float, max_backoff: float) -> None:
    """Keep the projections current as the ledger grows, until stopped (Ctrl-C or TERM).

    On PostgreSQL it catches up whenever the database notifies a write (LISTEN/NOTIFY).
    SQLite has no notifications: there it polls, catching up every --interval seconds.
    A lost connection or a lock held too long is waited out: it reconnects (0.5 s,
    doubling up to --max-backoff) and resumes from the projections' positions. It logs to
    stderr, one line per batch folded and per fault."""
    import logging

    from projections import follow as follower
    from projections.read import ReadSide

    def log(line: str) -> None:
        click.echo(line, err=True)

    # The connection pool's own warnings would repeat the follower's line per attempt.
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
    store, read = session.store, session.read
    how = ("on the database's notifications" if follower.listens(store)
           else f"polling every {interval:g} s")
    log(f"following {store.url.describe()} ({how}); Ctrl-C stops")
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        follower.follow(read, stop, interval=interval, max_backoff=max_backoff, log=log,
                        report=lambda n, at, lag: log(
                            f"+{n} event{'s' * (n != 1)}, at position {at}, lag {lag}"))
    except KeyboardInterrupt:
        pass  # each catch-up is one transaction: an interrupted one leaves nothing behind
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        log(f"stopped at position {follower.position(ReadSide(store))}")
    except Exception as error:  # noqa: BLE001 - stopping must not fail on a store gone
        if not transient(error):
            raise
        log(f"stopped (the store cannot be reached: {reason(error)})")


COMMANDS = [projections]
