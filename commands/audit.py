"""Audit commands: verify the chain, checkpoints and their signatures, export and import."""

from __future__ import annotations

import json
from pathlib import Path

import click

from commands.evidence import evidence_store
from commands.output import emit, output_options, progress
from commands.params import output_option
from commands.session import Session, pass_session
from i18n import N_, _, refusal
from ledger import audit, audit_checkpoints, audit_transfer, evidence, witness
from projections.times import shown
from services import audit as auditing

# Below this many events a verification is over before a progress bar would be read.
TRUNCATION_NOTE = N_("最后一个事件之后被删去的尾部，只有对照此前见过的链头才能发现：存于库外的检查点"
                     "（用 verify --since 核对）或见证（verify --witness）")


@click.group("audit")
def audit_group() -> None:
    """审计完整性：哈希链、检查点、导出和导入。"""


def _short(hash_: str) -> str:
    return f"{hash_[:16]}…"


def _events(count: int) -> str:
    return (_("{n} 个事件（单数）") if count == 1 else _("{n} 个事件")).format(n=count)


@audit_group.command("verify")
@click.option("--since", "since_text", default=None, metavar="CHECKPOINT",
              help="检查点声明文件，或 POSITION:HASH，台账必须原样延续它。")
@click.option("--public-key", type=click.Path(path_type=Path), default=None,
              help="先用此公钥核对 --since 声明的签名。")
@click.option("--witness", "witness_file", type=click.Path(path_type=Path), default=None,
              metavar="FILE", help="他人交来的见证文件（`audit witness`）：台账必须延续他们看"
                                   "到的链头。")
@click.option("--evidence", "with_evidence", is_flag=True,
              help="同时核对每个事件引用的证据文件都已保存，且哈希与事件所记一致。")
@output_options(("table", "json"))
@pass_session
def verify(session: Session, since_text: str | None, public_key: Path | None,
           witness_file: Path | None, with_evidence: bool, fmt: str) -> None:
    """从第一个事件起重新计算哈希链；指出第一个断裂的位置。

    未给出 --since 或 --witness 时，台账还必须延续本账户上次看到的链头。链断裂、未延续应延
    续的内容，或（带 --evidence 时）引用的文件缺失或被改动时，退出码为 1。"""
    key = audit_checkpoints.load_public_key(public_key) if public_key else None
    if key is not None and since_text is None:
        raise click.UsageError(_("--public-key 用于核验 --since 的声明：请给出 --since"))
    if since_text is not None and witness_file is not None:
        raise click.UsageError(_("--since 与 --witness 只能给出其一"))
    since = audit_checkpoints.parse_since(since_text, key) if since_text is not None else None
    seen = witness.load(witness_file) if witness_file is not None else None
    session.inspecting()
    session.store.ledger  # opening the store reads this account's witness
    against = auditing.baseline(session.services, since=since, handed=seen,
                                handed_from=str(witness_file), own=session.seen)
    since, what = against.since, against.what
    with progress(session.store.ledger.max_position(), _("正在校验")) as update:
        verified = auditing.verify(session.services, against, with_evidence=with_evidence,
                                   progress=update)
    result, checked = verified.result, verified.evidence
    from ledger.access import account_kind, describe_kind

    if fmt == "json":
        said = {**result.as_dict(), "ran_as": account_kind(session.store)}
        if checked is not None:
            said["evidence"] = {"checked": checked[0], "problems": checked[1]}
        click.echo(json.dumps(said, ensure_ascii=False, indent=2))
        if not verified.ok:
            raise SystemExit(1)
        return
    if result.broken is not None:
        raise click.ClickException(_("哈希链在位置 {position} 断开（{kind}）：{detail}；此前 {events} "
                                     "已校验").format(
            position=result.broken.position, kind=result.broken.kind,
            detail=result.broken.detail, events=_events(result.events)))
    click.echo(_("哈希链已校验：{events}，自位置 1 起未断").format(events=_events(result.events)))
    click.echo(_("链头：{position} {hash}").format(position=result.head.position,
                                               hash=result.head.hash))
    last = result.last_checkpoint
    if last is None:
        click.echo(_("检查点：账本中尚未记录"))
    else:
        click.echo(_("检查点：账本中记录的 {n} 个相符；最后一个（第 {number} 个）覆盖到位置 "
                     "{position}（其后 {after}）").format(
            n=result.checkpoints_matched, number=last.number, position=last.position,
            after=_events(result.head.position - last.position)))
    if since is not None and not against.witnessed:
        click.echo(_("自检查点起：账本在检查点 {position}:{hash} 之后未改动，新增 {events}").format(
            position=since.position, hash=_short(since.hash),
            events=_events(result.head.position - since.position)))
    else:
        if since is not None:
            click.echo(_("见证：账本在{what} {position}:{hash} 之后未改动，新增 {events}").format(
                what=refusal(what), position=since.position, hash=_short(since.hash),
                events=_events(result.head.position - since.position)))
        click.echo(_("注意：{note}").format(note=_(TRUNCATION_NOTE)))
    click.echo(_("运行身份：{kind}").format(kind=describe_kind(session.store)))
    if checked is not None:
        _said_evidence(*checked)


def _said_evidence(checked: int, problems: list[dict[str, object]]) -> None:
    for p in problems:
        click.echo(_("证据{problem}：{file}（sha256 {sha256}），由 {task} 事件 {event}（{kind}，位置 "
                     "{position}）引用").format(**p))
    if problems:
        raise click.ClickException(_("证据：{checked} 处引用中有 {n} 处所指的文件缺失或被改动")
                                   .format(n=len(problems), checked=checked))
    click.echo(_("证据：已核对 {n} 处引用，每个文件都在且未改动").format(n=checked))


@audit_group.command("witness")
@click.option("--forget", is_flag=True, help="删除它（在用 `audit verify` 确认台账的回退是正当"
                                             "的之后）：下一条命令会从它看到的链头开始新的见证。")
@output_option("把见证文件的副本写入此文件，交给另一位审计员。")
@pass_session
def witness_(session: Session, forget: bool, output: Path | None) -> None:
    """打印本账户对存储的见证：文件，以及上次看到的链头（可把文件交给另一位审计员，用于 `audit
    verify --witness FILE`）。"""
    session.inspecting()
    session.store.ledger  # opening the store reads the witness
    seen, path = session.seen, session.witness_path
    if seen is None or path is None:
        click.echo(_("本账户尚未见过 {store} 的任何内容").format(store=session.store.url.describe()))
        return
    if forget:
        path.unlink(missing_ok=True)
        session.witness_path = None  # nothing remembered at the end of this command either
        click.echo(_("已删除 {path}：位置 {position} {hash}").format(path=path, position=seen.position,
                                                            hash=seen.hash))
        return
    click.echo(_("{path}：位置 {position} {hash}，{account} 于 {at} 所见").format(
        path=path, position=seen.position, hash=seen.hash, at=seen.at, account=seen.account))
    if output is not None:
        output.write_bytes(path.read_bytes())
        click.echo(_("已复制至 {path}").format(path=output))
    if session.went_back is not None:
        raise click.ClickException(refusal(session.went_back))


@audit_group.command("head")
@pass_session
def head(session: Session) -> None:
    """打印台账的链头：最后的位置及其链哈希（不校验）。"""
    click.echo(str(audit.head(session.store.ledger)))


@audit_group.command("checkpoint")
@click.option("--note", default="", help="记录此检查点的原因（例如 2024-05 评比发布）。")
@click.option("--sign", "key_file", type=click.Path(path_type=Path), default=None,
              metavar="KEYFILE", help="用此 Ed25519 私钥对声明签名。")
@output_option("同时把检查点声明（JSON）写入此文件。", aliases=["--out"],
               dest="out")
@pass_session
def checkpoint(session: Session, note: str, key_file: Path | None,
               out: Path | None) -> None:
    """校验哈希链，然后把链头记录为检查点（审计日志中的一个事件，本身也在链中）并打印出来。"""
    key = audit_checkpoints.load_private_key(key_file) if key_file else None
    if out is not None and out.exists():
        raise click.UsageError(_("声明文件 {file} 已存在").format(file=repr(str(out))))
    ledger = session.store.ledger
    with progress(ledger.max_position(), _("正在校验")) as update:
        recorded, statement = audit_checkpoints.record_checkpoint(
            ledger, actor_id=session.actor, note=note, key=key, progress=update)
    if out is not None:
        out.write_text(json.dumps(statement, ensure_ascii=False, indent=2) + "\n",
                       encoding="utf-8")
    signed = _("，由密钥 {key} 签名").format(key=recorded.key_id) if recorded.key_id else ""
    click.echo(_("检查点 {number}：链头 {position} {hash}").format(
        number=recorded.number, position=recorded.position, hash=recorded.hash) + signed)


CHECKPOINT_COLUMNS = [("number", N_("检查点")), ("position", N_("位置")), ("hash", N_("哈希")),
                      ("by", N_("记录人")), ("at", N_("时间")), ("key_id", N_("签名密钥")), ("note", N_("备注"))]


@audit_group.command("checkpoints")
@output_options()
@pass_session
def checkpoints(session: Session, fmt: str) -> None:
    """台账中记录的检查点，按时间先后。"""
    zone = session.services.zone
    rows = [{"number": c.number, "position": c.position, "hash": c.hash, "by": c.by,
             "at": shown(c.at, zone, fmt), "key_id": c.key_id, "note": c.note}
            for c in audit.recorded_checkpoints(session.store.ledger)]
    emit(rows, CHECKPOINT_COLUMNS, fmt)


@audit_group.command("statement")
@click.argument("number", type=click.IntRange(min=1))
@pass_session
def statement(session: Session, number: int) -> None:
    """打印编号为 NUMBER 的已记录检查点的声明（JSON），用于公开。"""
    recorded = audit.recorded_checkpoints(session.store.ledger)
    if number > len(recorded):
        raise click.ClickException(_("未知的检查点：{number}（账本中有 {count} 个）").format(
            number=number, count=len(recorded)))
    click.echo(json.dumps(audit_checkpoints.statement_of(recorded[number - 1]), ensure_ascii=False,
                          indent=2))


@audit_group.command("keygen")
@click.argument("key_file", type=click.Path(path_type=Path))
def keygen(key_file: Path) -> None:
    """生成用于签署检查点的 Ed25519 密钥对：KEY_FILE（私钥，仅所有者可读）和 KEY_FILE.pub（公
    钥，交给核对声明的人）。"""
    public_path, key_id = audit_checkpoints.generate_key(key_file)
    click.echo(_("密钥 {key}：私钥 {private}，公钥 {public}").format(
        key=key_id, private=key_file, public=public_path))


@audit_group.command("verify-checkpoint")
@click.argument("statement_file", type=click.Path(path_type=Path))
@click.option("--public-key", type=click.Path(path_type=Path), required=True,
              help="签名者的公钥（PEM）。")
def verify_checkpoint(statement_file: Path, public_key: Path) -> None:
    """仅用公钥核对检查点声明的签名（无需存储）。签名无效时退出码为 1。"""
    statement_data = audit_checkpoints.load_statement(statement_file)
    key_id = audit_checkpoints.check_signature(statement_data,
                                               audit_checkpoints.load_public_key(public_key))
    click.echo(_("签名有效，密钥 {key}：{ledger} 的检查点 {checkpoint}，链头 {position} {hash}")
               .format(key=key_id, checkpoint=statement_data.get("checkpoint"),
                       ledger=repr(statement_data.get("ledger")),
                       position=statement_data["position"], hash=statement_data["hash"]))


@audit_group.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--evidence", "with_evidence", is_flag=True,
              help="同时把引用到的每个证据文件复制到文件夹 FILE.evidence。")
@pass_session
def export(session: Session, file: Path, with_evidence: bool) -> None:
    """把每个已存储的事件连同其记录时间、账户和哈希以 JSON lines 写入 FILE（首行是引用链头的文
    件头）。"""
    if file.exists():
        raise click.UsageError(_("导出文件 {file} 已存在").format(file=repr(str(file))))
    folder = evidence.export_folder(file)
    if with_evidence and folder.exists():
        raise click.UsageError(_("证据文件夹 {folder} 已存在").format(folder=repr(str(folder))))
    done = auditing.export(session.services, file, with_evidence=with_evidence)
    written = done.head
    click.echo(_("已导出 {n} 个事件至 {file}；链头 {head}").format(
        n=written.position, file=file, head=written))
    if with_evidence:
        click.echo(_("证据：已复制 {n} 个文件至 {folder}").format(n=done.copied, folder=folder))
        for digest in done.missing:
            click.echo(_("注意：证据 {digest} 被引用但未保存：未复制").format(digest=digest),
                       err=True)


@audit_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@pass_session
def import_(session: Session, file: Path) -> None:
    """把导出文件恢复到空存储中，边恢复边校验哈希链；损坏的文件会被拒绝并指出行号，不写入任何
    内容。随附的证据文件（FILE.evidence，来自 export --evidence）也会被核对并保存。"""
    folder = evidence.FolderStore(evidence.export_folder(file))
    carried = evidence.checked_folder(folder)
    session.create_if_missing()
    with file.open(encoding="utf-8") as lines:
        restored = audit_transfer.import_ledger(session.store.ledger, lines)
    click.echo(_("已导入 {n} 个事件；链头 {head}").format(n=restored.position, head=restored))
    if carried:
        kept = evidence.restore(folder, carried, evidence_store(session))
        click.echo(_("证据：来自 {folder} 的 {n} 个文件（新保存 {kept} 个）").format(
            n=len(carried), folder=folder.root, kept=kept))


COMMANDS = [audit_group]
