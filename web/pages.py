"""The 台账 pages: the board (and its CSV), a task's history, the auditors' timeline."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from starlette.responses import Response
from starlette.routing import Route

from domain.task_fields import SOURCES
from domain.task_states import STATES
from i18n import N_
from ledger.audit import Head, head_at
from ledger.evidence import content_type
from projections.read import ReadSide
from projections.sheet import board_sheet, to_csv, to_xlsx
from web.app import Page, PageError, page

PAGE_SIZE = 50
SORT_LABELS = {"task": N_("任务编号"), "deadline": N_("整改期限"), "unit": N_("责任单位"),
               "overdue": N_("超期天数（最多在前）"), "state": N_("状态"),
               "assigned": N_("交办时间")}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PICTURES = ("JPEG", "PNG", "HEIC")  # evidence shown as a picture; a PDF is linked


def _board_filters(p: Page) -> tuple[dict[str, Any], ReadSide]:
    """The board's filters from the query string, and the read side they apply to (the
    ledger as known at ``as_of``, if given)."""
    q = p.query
    filters = {"unit": p.visible(q.text("unit")), "state": q.choice("state", STATES),
               "category": q.text("category"), "source": q.choice("source", list(SOURCES)),
               "overdue": q.flag("overdue"), "open_only": q.flag("open"),
               "month": q.month("month"), "due_within": q.number("due", None, lowest=0)}
    as_of = q.moment("as_of")
    return filters, p.read.at(as_of)


def _page_of(p: Page, total: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / PAGE_SIZE))
    number = p.query.number("page", 1)
    if number > pages:
        raise PageError(404, "第 {number} 页不存在：符合条件的 {total} 条只有 {pages} 页",
                        number=number, total=total, pages=pages)
    return number, pages


@page
def board(p: Page) -> Response:
    filters, read = _board_filters(p)
    sort = p.query.choice("sort", ReadSide.SORTS, "task")
    total = read.board_count(**filters)
    number, pages = _page_of(p, total)
    rows = read.board(**filters, sort=sort, limit=PAGE_SIZE,
                      offset=(number - 1) * PAGE_SIZE)
    params = {k: p.query.text(k) for k in ("unit", "state", "category", "source", "overdue",
                                           "open", "due", "month", "as_of")}
    return p.render("board.html", rows=rows, total=total, number=number, pages=pages,
                    sort=sort, params=params,
                    categories=p.store.ledger.campaign().categories, states=STATES,
                    sources=SOURCES,
                    sorts=SORT_LABELS, page_size=PAGE_SIZE)


@page
def board_file(p: Page) -> Response:
    """Every task the board's filters keep, in its sort order (all pages), as ``export
    board`` writes them: CSV (UTF-8 with a BOM, for Excel) or an Excel workbook."""
    fmt = p.request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        raise PageError(404, "没有台账格式 {fmt!r}：只有 csv 或 xlsx", fmt=fmt)
    filters, read = _board_filters(p)
    sort = p.query.choice("sort", ReadSide.SORTS, "task")
    rows = board_sheet(p.read, read.board(**filters, sort=sort), p.server._)
    if fmt == "xlsx":
        return Response(to_xlsx(rows, p.server._), media_type=XLSX, headers={
            "Content-Disposition": 'attachment; filename="taizhang.xlsx"'})
    return Response("\ufeff" + to_csv(rows, p.server._), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="taizhang.csv"'})


def _history(p: Page, as_of: datetime | None = None,
             valid_at: date | None = None) -> dict[str, Any]:
    """The task of the path's history, if the session may read its unit (else 403)."""
    found = p.read.at(as_of).history(p.request.path_params["task_id"], valid_at=valid_at)
    if p.session.scope is not None and found["state"]["unit"] not in p.session.scope:
        p.visible(found["state"]["unit"])  # refused: the task is another unit's
    return found


@page
def task(p: Page) -> Response:
    found = _history(p, as_of=p.query.moment("as_of"), valid_at=p.query.day("valid_at"))
    kept = p.services.evidence
    stats: dict[str, dict[str, Any] | None] = {}
    for event in found["events"]:  # each file the evidence store keeps: shown, or linked
        for item in event["evidence"]:
            digest = item.get("sha256")
            if digest:
                if digest not in stats:
                    stats[digest] = kept.stat(digest)
                item["kept"] = stats[digest]
    return p.render("task.html", found=found, as_of=p.query.text("as_of"),
                    valid_at=p.query.text("valid_at"), pictures=PICTURES)


@page
def evidence_file(p: Page) -> Response:
    """An evidence file the task cites, from the evidence store, with its content type —
    for whoever may read the task (a file another task cites is not served through it)."""
    digest = p.request.path_params["sha256"].lower()
    if not SHA256.match(digest):
        raise PageError(404, "没有佐证文件 {digest!r}：SHA-256 是 64 位十六进制数字", digest=digest)
    found = _history(p)
    names = [item.get("file", "") for event in found["events"]
             for item in event["evidence"] if item.get("sha256") == digest]
    if not names:
        raise PageError(404, "任务 {task} 没有引用 sha256 为 {digest} 的佐证文件",
                        task=found["task"], digest=digest)
    content = p.services.evidence.get(digest)
    if content is None:
        raise PageError(404, "佐证文件 {file}（sha256 {digest}…）未保存在本账本的佐证库中",
                        file=names[0], digest=digest[:12])
    if hashlib.sha256(content).hexdigest() != digest:
        raise PageError(409, "为 sha256 {digest} 保存的佐证文件的哈希已不符：文件被改动过"
                        "（audit verify --evidence）", digest=digest)
    return Response(content, media_type=content_type(content) or "application/octet-stream",
                    headers={"ETag": f'"{digest}"', "Cache-Control": "private, max-age=86400",
                             "Content-Disposition":
                                 f"inline; filename*=UTF-8''{quote(names[0], safe='')}"})


@page
def timeline(p: Page) -> Response:
    q = p.query
    unit, actor = p.visible(q.text("unit")), q.text("actor")
    valid_from, valid_to = q.day("from"), q.day("to")
    if valid_from and valid_to and valid_from > valid_to:
        raise PageError(400, "起始日 {start} 晚于截止日 {end}", start=valid_from.isoformat(),
                        end=valid_to.isoformat())
    as_of = q.moment("as_of")
    after = q.number("after", 0, lowest=0)
    # The position the page was computed at: its snapshot's, or the last event recorded
    # by ``as_of`` (none recorded after the snapshot was taken).
    at = Head(p.snapshot.position, p.snapshot.hash)
    if as_of is not None:
        at = head_at(p.store.ledger, min(p.store.ledger.position_as_of(as_of), at.position))
    rows = p.read.at(as_of).timeline(unit=unit, valid_from=valid_from, valid_to=valid_to,
                                     actor=actor, limit=PAGE_SIZE + 1, after=after)
    if after and not rows:
        raise PageError(404, "位置 {after} 之后没有符合条件的事件", after=after)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    params = {k: q.text(k) for k in ("unit", "actor", "from", "to", "as_of")}
    return p.render("timeline.html", rows=rows, more=more, after=after, at=at,
                    params=params, as_of=as_of)


ROUTES = [
    Route("/board", board),
    Route("/board.{fmt}", board_file),
    Route("/tasks/{task_id}", task),
    Route("/tasks/{task_id}/evidence/{sha256}", evidence_file),
    Route("/timeline", timeline),
]
