"""`taizhang serve`'s pages over HTTP: login and sessions, each page against the read side
the command line uses, and bad input answered with the right status, never a traceback."""

from __future__ import annotations

import csv
import html
import io
import re
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from docx import Document
from starlette.testclient import TestClient

from cli_support import Cli
from ledger import audit
from ledger.evaluation import Evaluations
from projections import bulletin as bulletins
from projections.evaluation import Evaluator
from projections.fonts import cjk_font
from projections.read import ReadSide
from projections.sheet import EXPORT_COLUMNS
from services import bulletins as bulletin_service
from services.bootstrap import Services
from web import pages
from web_support import World, build_world, client, client_for, read, world  # noqa: F401


def ok(client: TestClient, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.text[-800:])
    assert "Traceback" not in answer.text
    return answer.text


def refused(client: TestClient, url: str, status: int, said: str) -> None:
    answer = client.get(url)
    assert answer.status_code == status, (url, answer.status_code, answer.text[-800:])
    assert said in html.unescape(answer.text), answer.text[-800:]
    assert "Traceback" not in answer.text


def cells(html: str, table: str) -> list[list[str]]:
    """The text of each body row of the table with this id."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


# --- access -----------------------------------------------------------------------------------

def test_login_link_is_spent_on_use_and_the_next_one_is_announced(world: World) -> None:
    client, server, tokens = client_for(world)
    assert len(tokens) == 2  # the first spent by client_for, the next announced
    other = TestClient(client.app, raise_server_exceptions=False)
    refused(other, f"/login?token={tokens[0]}", 401, "只能使用一次")
    refused(other, "/board", 401, "请先用服务器控制台上打印的登录链接登录")
    assert other.get(f"/login?token={tokens[1]}", follow_redirects=False).status_code == 303
    assert other.get("/board").status_code == 200
    server.store.close()


def test_a_forged_or_expired_session_is_refused(world: World) -> None:
    now = [0.0]
    client, server, _ = client_for(world, lifetime=60, gate_clock=lambda: now[0])
    assert client.get("/board").status_code == 200
    forged = TestClient(client.app, raise_server_exceptions=False,
                        cookies={"taizhang_session": "made-up"})
    refused(forged, "/board", 401, "会话无效")
    refused(forged, "/open311/v2/services.json", 401, "api_key")
    now[0] = 61
    refused(client, "/board", 401, "登录已过期")
    server.store.close()


def test_answers_forbid_scripts_frames_and_referrers(client: TestClient) -> None:
    for url in ("/board", "/tasks/T-999999", "/login?token=x", "/open311/v2/services.json"):
        headers = client.get(url).headers
        assert "script-src 'none'" in headers["content-security-policy"], url
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"


def test_forms_that_post_need_the_sessions_csrf_token(client: TestClient) -> None:
    token = re.search(r'name="csrf" value="([^"]+)"', ok(client, "/board")).group(1)  # type: ignore[union-attr]
    answer = client.post("/logout", data={"csrf": "wrong"})
    assert answer.status_code == 403 and "CSRF" in answer.text
    answer = client.post("/audit/verify", data={})
    assert answer.status_code == 403
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False
                       ).status_code == 303
    refused(client, "/board", 401, "请先用服务器控制台上打印的登录链接登录")


# --- the board ----------------------------------------------------------------------------

def test_board_shows_what_the_read_side_gives_for_each_filter(client: TestClient,
                                                              read: ReadSide) -> None:
    for query, filters in [("", {}), ("unit=JS", {"unit": "JS"}),
                           ("state=verified", {"state": "verified"}),
                           ("category=环境卫生", {"category": "环境卫生"}),
                           ("source=media", {"source": "media"}),
                           ("overdue=1&sort=overdue", {"overdue": True, "sort": "overdue"}),
                           ("open=1&sort=deadline", {"open_only": True, "sort": "deadline"}),
                           ("due=6", {"due_within": 6}), ("due=5", {"due_within": 5})]:
        shown = [row[0] for row in cells(ok(client, f"/board?{query}"), "board")]
        expected = [row["task"] for row in read.board(**filters)]
        assert shown == expected or (not expected and shown == ["没有符合条件的任务。"]), query
    assert "共 9 项任务" in ok(client, "/board")
    picker = ok(client, "/board?unit=JS")
    assert '<option value="JS" selected>' in picker and '<option value="JS01">' in picker
    assert [row[0] for row in cells(ok(client, "/board?due=6"), "board")] == ["T-000009"]
    assert "没有符合条件的任务" in ok(client, "/board?due=5")


def test_board_pages_and_refuses_a_page_past_the_end(client: TestClient, read: ReadSide,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    for sort in ReadSide.SORTS:  # each page's tasks chosen first, then their rows read
        everything = [row["task"] for row in read.board(sort=sort)]
        seen = []
        for number in (1, 2, 3):
            html = ok(client, f"/board?sort={sort}&page={number}")
            seen += [row[0] for row in cells(html, "board")]
            assert ("下一页" in html) == (number < 3)
        assert seen == everything, sort
    refused(client, "/board?sort=deadline&page=4", 404, "第 4 页不存在")
    refused(client, "/board?page=0", 400, "page 须为 1 或以上的整数，收到 '0'")


def test_board_downloads_every_row_the_filters_keep_as_export_board_writes_them(
        client: TestClient, read: ReadSide, world: World, tmp_path: Path) -> None:
    answer = client.get("/board.csv?unit=JS01&sort=deadline")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    # The header row in the pages' language (Chinese here); read by the columns' keys.
    header, *lines = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert header == [label for _key, label in EXPORT_COLUMNS]  # Chinese, as written
    assert header[:3] == ["任务", "责任单位", "单位名称"]
    rows = [dict(zip([key for key, _label in EXPORT_COLUMNS], line, strict=True))
            for line in lines]
    expected = read.board(unit="JS01", sort="deadline")
    assert [r["task"] for r in rows] == [r["task"] for r in expected]
    assert [r["days_overdue"] for r in rows] == [str(r["days_overdue"]) for r in expected]
    assert rows[0]["unit_name"] == "幸福社区" and rows[0]["state_label"]
    answer = client.get("/board.xlsx?unit=JS01")
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    cli = Cli(world.url)
    cli.ok("export", "board", "--format", "xlsx", "--output", str(tmp_path / "b.xlsx"),
           "--unit", "JS01", env={"TAIZHANG_LANG": "zh"})
    exported = openpyxl.load_workbook(tmp_path / "b.xlsx")
    def without_overdue(rows: object) -> list[list[object]]:  # the CLI counts from today
        return [[v for i, v in enumerate(r) if i != 12] for r in rows]  # type: ignore[attr-defined]

    assert list(book["台账"].values)[0][12] == "超期天数"
    assert without_overdue(book["台账"].values) == without_overdue(exported["台账"].values)
    refused(client, "/board.pdf", 404, "没有台账格式 'pdf'")


def test_board_as_of_shows_the_ledger_as_it_was(client: TestClient, world: World) -> None:
    moment = quote(world.before_late.isoformat())
    shown = [row[0] for row in cells(ok(client, f"/board?as_of={moment}"), "board")]
    assert shown == [f"T-{n:06d}" for n in range(1, 7)]


def test_board_refuses_bad_filters_naming_them(client: TestClient) -> None:
    refused(client, "/board?state=done", 400, "state 须为以下之一：assigned")
    refused(client, "/board?unit=XX9", 404, "未知的单位：XX9")
    refused(client, "/board?month=2024-13", 400, "month 须为 YYYY-MM 格式的月份，收到 '2024-13'")
    refused(client, "/board?as_of=yesterday", 400, "as_of 须为日期或日期时间")
    refused(client, "/board?overdue=maybe", 400, "overdue 须为 1 或 0")
    refused(client, "/board?due=-1", 400, "due 须为 0 或以上的整数，收到 '-1'")


def test_overdue_sort_is_most_days_overdue_first(read: ReadSide) -> None:
    rows = read.board(sort="overdue")
    by_task = sorted(read.board(sort="deadline"), key=lambda r: -r["days_overdue"])
    assert [r["task"] for r in rows] == [r["task"] for r in by_task]


# --- a task -------------------------------------------------------------------------------

def test_task_page_shows_state_history_late_marks_evidence_and_corrections(
        client: TestClient, read: ReadSide) -> None:
    html = ok(client, "/tasks/t-000001")
    found = read.history("T-000001")
    assert "T-000001 · 已验收" in html
    rows = cells(html, "history")
    assert [r[0] for r in rows] == [str(e["no"]) for e in found["events"]]
    assert not any(r[3].startswith("迟录") for r in rows)  # entered as it happened
    late = cells(ok(client, "/tasks/T-000007"), "history")  # entered four days late
    assert late[0][3].startswith("迟录"), late[0]
    assert "after1.jpg（整改后照片）" in html
    # zhao's acknowledgement was entered from the administrator's account: a proxy entry
    assert rows[1][4] == "zhao（unit） 代录 admin"
    assert 'class="corrected"' in html and "被 #6 更正" in html
    assert "更正 #1（交办）：location 幸福路1号 → 幸福路1号东侧" in html


def test_task_page_as_of_and_valid_at(client: TestClient, world: World) -> None:
    html = ok(client, "/tasks/T-000002?valid_at=2024-05-07")
    assert "状态所属日期</dt><dd>2024-05-07" in html
    moment = quote(world.before_late.isoformat())
    refused(client, f"/tasks/T-000007?as_of={moment}", 404,
            "时尚未记录")
    refused(client, "/tasks/T-999999", 404, "未知的任务：T-999999")
    refused(client, "/tasks/T-000001?valid_at=2024-02-30", 400,
            "valid_at 须为 YYYY-MM-DD 格式的日期，收到 '2024-02-30'")
    refused(client, "/tasks/T-000001?valid_at=2024-04-01", 404, "尚未交办")


# --- the timeline ---------------------------------------------------------------------------

def test_timeline_as_of_shows_position_and_head_it_was_computed_at(
        client: TestClient, world: World, read: ReadSide) -> None:
    ledger = read.store.ledger
    moment = quote(world.before_late.isoformat())
    html = ok(client, f"/timeline?as_of={moment}")
    at = audit.head_at(ledger, ledger.position_as_of(world.before_late))
    assert f"按账本位置 {at.position} 计算 · 链头哈希 <span class=\"hash\">{at.hash}" in html
    positions = [int(r[0]) for r in cells(html, "timeline")]
    assert positions == list(range(1, min(at.position, pages.PAGE_SIZE) + 1))
    now = audit.head(ledger)
    html = ok(client, "/timeline?actor=zhao")
    assert {r[4] for r in cells(html, "timeline")} == {"zhao（unit） 代录 admin"}
    assert f"按账本位置 {now.position} 计算" in html


def test_timeline_filters_and_pages(client: TestClient, read: ReadSide,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 10)
    expected = [r["position"] for r in read.timeline(unit="JS01")]
    seen, url = [], "/timeline?unit=JS01"
    while True:
        html = ok(client, url)
        seen += [int(r[0]) for r in cells(html, "timeline")]
        following = re.search(r'rel="next" href="([^"]+)"', html)
        if not following:
            break
        url = following.group(1).replace("&amp;", "&")
    assert seen == expected
    refused(client, f"/timeline?unit=JS01&after={expected[-1]}", 404, "之后没有符合条件的事件")
    refused(client, "/timeline?from=2024-06-01&to=2024-05-01", 400, "起始日 2024-06-01 晚于截止日 2024-05-01")
    refused(client, "/timeline?actor=nobody", 404, "未知的人员：nobody")


# --- evaluation pages -------------------------------------------------------------------------

def test_ranking_page_marks_publication_lists_and_deductions(client: TestClient,
                                                             read: ReadSide) -> None:
    html = ok(client, "/ranking?month=2024-05&level=社区")
    evaluator = Evaluator(read)
    evaluations = Evaluations(read.store.ledger)
    ranking = evaluator.ranking(evaluator.current(), "2024-05", "社区", evaluations.rules_for)
    rows = cells(html, "ranking")
    assert [r[1] for r in rows] == [f"{p.unit} {p.name}" for p in ranking.placements]
    assert [r[2] for r in rows] == [f"{float(p.placed.score):.2f}" for p in ranking.placements]
    assert "已发布" in html and "/ranking/revisions?month=2024-05" in html
    assert bulletins.term_text(ranking.placements[0].lines[0]) in html or \
        not ranking.placements[0].lines[0].points
    assert "未发布" in ok(client, "/ranking?month=2024-04&level=社区")
    svg = client.get("/ranking/trend.svg?month=2024-05")
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    refused(client, "/ranking?level=区", 400, "level 须为以下之一：社区")
    refused(client, "/ranking?month=May", 400, "month 须为 YYYY-MM 格式的月份，收到 'May'")


def test_revisions_name_the_late_entry(client: TestClient) -> None:
    html = ok(client, "/ranking/revisions?month=2024-05")
    assert "T-000008" in html and "补录" in html
    refused(client, "/ranking/revisions?month=2024-04", 404, "2024-04 的评比结果尚未发布")


def test_metrics_drill_down_lists_the_tasks_behind_a_figure(client: TestClient,
                                                            read: ReadSide) -> None:
    html = ok(client, "/metrics?month=2024-05&level=社区")
    assert "/metrics/explain?month=2024-05&amp;unit=JS01&amp;metric=on_time_rate" in html
    evaluator = Evaluator(read)
    value, _, parts = evaluator.explain(evaluator.current(), "2024-05", "JS01", "due")
    html = ok(client, "/metrics/explain?month=2024-05&unit=JS01&metric=due")
    assert f"= {bulletins.shown('due', value)}" in html
    assert [r[0] for r in cells(html, "explain")] == [item["task"] for _, item in parts]
    refused(client, "/metrics/explain?month=2024-05&unit=JS01&metric=happiness", 400,
            "metric 须为以下之一：assigned")
    refused(client, "/metrics/explain?month=2024-05&unit=ZZ&metric=due", 404,
            "未知的单位：ZZ")


def test_bulletins_download_as_the_command_line_writes_them(client: TestClient,
                                                            read: ReadSide, world: World,
                                                            tmp_path: Path) -> None:
    assert "2024-05 督查通报 <span class=\"badge ok\">已发布" in ok(
        client, "/bulletins?month=2024-05")
    answer = client.get("/bulletins/2024-05.md")
    expected = bulletin_service.document(Services(read.store, read), "2024-05", "md", "zh")
    assert answer.status_code == 200 and answer.text == expected
    answer = client.get("/bulletins/2024-05.xlsx?lang=en")
    assert zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert "<svg" in client.get("/bulletins/2024-05.html").text
    refused(client, "/bulletins/2024-05.pdf", 404, "没有通报格式 'pdf'")
    if cjk_font() is not None:  # the docx's chart picture needs one (fonts-noto-cjk)
        answer = client.get("/bulletins/2024-05.docx")
        assert answer.status_code == 200, answer.text
        target = tmp_path / "b.docx"
        Cli(world.url).ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format",
                                          "docx", "-o", str(target))
        served, written = (Document(io.BytesIO(answer.content)), Document(str(target)))
        assert [p.text for p in served.paragraphs] == [p.text for p in written.paragraphs]
        assert served.paragraphs[1].text == "〔2024〕第1期"
    refused(client, "/bulletins/2024-5.md", 400, "month 须为 YYYY-MM 格式的月份")


def test_audit_page_verifies_the_chain_on_the_server(client: TestClient,
                                                     read: ReadSide) -> None:
    html = ok(client, "/audit")
    head = audit.head(read.store.ledger)
    assert head.hash in html and "五月中" in html
    assert f"账本当前位置 {head.position} · 链头哈希 <span class=\"hash\">{head.hash[:16]}" in html
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    answer = client.post("/audit/verify", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 303
    progress = answer.headers["location"]
    for _ in range(100):
        html = ok(client, progress)
        if 'http-equiv="refresh"' not in html:
            break
        time.sleep(0.05)
    assert f"{head.position} 个事件，链头 {head.position}" in html
    assert "1 个检查点相符" in html
    assert "完整" in ok(client, "/audit")
    refused(client, "/audit/verify/nope", 404, "没有这次核验")


def test_a_failure_inside_a_page_is_a_500_page_without_a_traceback(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(ReadSide, "history", broken)
    refused(client, "/tasks/T-000001", 500, "服务器内部错误")


def test_pages_on_each_backend(store_url: str) -> None:
    world = build_world(store_url)
    client, server, _ = client_for(world)
    try:
        for url in ("/board?sort=overdue", "/tasks/T-000003", "/timeline",
                    "/ranking?month=2024-05", "/metrics?month=2024-05", "/audit",
                    "/open311/v2/requests.json?status=closed"):
            ok(client, url)
    finally:
        server.store.close()


def test_serve_listens_on_loopback_only(world: World) -> None:
    Cli(world.url).usage_refused(
        "serve", "--host", "0.0.0.0",
        message="Invalid value for '--host': '0.0.0.0' is not a loopback address: the "
        "server acts as the account that started it, so it listens on 127.0.0.1 (or ::1) "
        "only")
    Cli(world.url).usage_refused(
        "serve", "--port", "70000",
        message="Invalid value for '--port': 70000 is not in the range 0<=x<=65535.")


def test_board_column_headers_sort_it(client: TestClient, read: ReadSide) -> None:
    html = ok(client, "/board?unit=JS")
    link = re.search(r'<a href="([^"]+)">整改期限</a>', html).group(1)  # type: ignore[union-attr]
    html = ok(client, link.replace("&amp;", "&"))
    assert 'aria-sort="ascending"' in html
    assert [r[0] for r in cells(html, "board")] == [
        r["task"] for r in read.board(unit="JS", sort="deadline")]


def test_a_page_error_is_said_in_the_servers_language(world: World) -> None:
    """A page's own errors (a format, a page past the end, dates the wrong way round) are
    Chinese on a Chinese server and English on an English one, naming the value."""
    for lang, said in (("zh", ("没有台账格式 'pdf'：只有 csv 或 xlsx", "第 99 页不存在",
                               "起始日 2024-06-01 晚于截止日 2024-05-01")),
                       ("en", ("no board format 'pdf': csv or xlsx",
                               "page 99 is past the last page",
                               "from 2024-06-01 is after to 2024-05-01"))):
        client, _server, _ = client_for(world, lang=lang)
        refused(client, "/board.pdf", 404, said[0])
        refused(client, "/board?page=99", 404, said[1])
        refused(client, "/timeline?from=2024-06-01&to=2024-05-01", 400, said[2])
