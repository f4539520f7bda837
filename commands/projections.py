"""The read models' upkeep: their positions and lag, rebuilding, verifying and following
them."""

from __future__ import annotations

import json
import signal
import threading

import click

from commands.output import emit, output_options, progress
from commands.session import Session, pass_session
from i18n import N_, _, refusal
from ledger.faults import reason, transient

STATUS_COLUMNS = [("projection", N_("读模型")), ("tables", N_("表")), ("rows", N_("行数")),
                  ("position", N_("位置")), ("lag", N_("落后")), ("version", N_("版本")),
                  ("follower_advanced", N_("跟随进程推进于")), ("check", N_("检查"))]


@click.group()
def projections() -> None:
    """读模型：status、rebuild、verify、follow。"""


@projections.command("status")
@output_options()
@pass_session
def status(session: Session, fmt: str) -> None:
    """每个读模型的表、行数、位置、落后台账的事件数（读模型领先时为负）、建成其行的读模型版本，
    核对台账在其位置上仍保存着折叠时的那个事件，以及 `projections follow` 上次推进读模型的时间
    （空白：从未）；
    在表格中还显示提问账户的类型（以及它能否写读模型）。即使台账在本账户上次看到之后发生了
    回退也会显示。有检查不通过或台账回退时，退出码为 1，并在表格后给出一行 Error。"""
    session.inspecting()
    from projections.follow import last_advance

    rows = session.read.status()  # opens the store, as it must exist (status creates none)
    advance = last_advance(session.store)
    rows = [{**row, "follower_advanced": advance and advance["advanced_at"]} for row in rows]
    failing = [row["projection"] for row in rows if row["check"] != "ok"]
    if fmt == "table":  # the check in words, in the language in use
        rows = [{**row, "check": refusal(row["said"])} for row in rows]
    emit(rows, STATUS_COLUMNS, fmt)
    if fmt == "table":
        from ledger.access import account_kind, describe_kind

        writes = account_kind(session.store)["may_write_read_models"]
        click.echo(_("以 {kind} 身份运行；").format(kind=describe_kind(session.store))
                   + (_("可写读模型") if writes else
                      _("不可写读模型：其查询在内存中补上落后的部分，由作为投影进程的 "
                        "'projections follow' 保持读模型最新")))
    if session.went_back is not None:
        raise click.ClickException(refusal(session.went_back))
    if failing:
        raise click.ClickException(_("读模型并非由账本现状折叠而来：{names}：请运行 "
                                     "`taizhang audit verify`").format(names=", ".join(failing)))


@projections.command("rebuild")
@pass_session
def rebuild(session: Session) -> None:
    """清空所有读模型，重新折叠整个台账。"""
    with progress(session.store.ledger.max_position(), _("正在重建")) as update:
        folded = session.read.rebuild(progress=update)
    names = ", ".join(session.read.projections)
    click.echo(_("已由 {n} 个事件重建 {names}").format(names=names, n=folded))


@projections.command("verify")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="最多列出这么多有差异的行。")
@output_options(("table", "json"))
@pass_session
def verify(session: Session, limit: int, fmt: str) -> None:
    """把每个读模型从零重建到临时表中，与维护中的读模型逐行比较；列出差异，有差异时以非零退出。"""
    with progress(session.store.ledger.max_position(),
                  _("正在重建到临时表")) as update:
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
              help="仅 SQLite：两次轮询之间的秒数。")
@click.option("--max-backoff", type=click.FloatRange(min=0.5), default=30.0,
              show_default=True,
              help="两次重连尝试之间最长的停顿秒数。")
@pass_session
def follow(session: Session, interval: float, max_backoff: float) -> None:
    """随着台账增长让读模型保持最新，直到被停止（Ctrl-C 或 TERM）。

    在 PostgreSQL 上，每当数据库通知有写入（LISTEN/NOTIFY）就追上。SQLite 没有通知：在那里
    它轮询，每 --interval 秒追一次。连接中断或锁占用过久时会等待：重新连接（0.5 秒，逐次加
    倍，最长 --max-backoff），并从读模型的位置继续。日志写到标准错误，每折叠一批或每次故障
    一行。"""
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
    # Ctrl-C and TERM ask the follower to stop between two batches, not mid-call: an
    # interrupt raised inside the driver or the connection pool could leave a connection
    # checked out, and the last position below would then wait for one.
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        follower.follow(read, stop, interval=interval, max_backoff=max_backoff, log=log,
                        report=lambda n, at, lag: log(
                            f"+{n} event{'s' * (n != 1)}, at position {at}, lag {lag}"))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        log(f"stopped at position {follower.position(ReadSide(store))}")
    except Exception as error:  # noqa: BLE001 - stopping must not fail on a store gone
        if not transient(error):
            raise
        log(f"stopped (the store cannot be reached: {reason(error)})")


COMMANDS = [projections]
