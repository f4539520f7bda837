"""`taizhang serve`: a task's evidence photos on its page, each served from the evidence
store with its content type to whoever may read the task — over HTTP, on both backends."""

from __future__ import annotations

import hashlib
import html
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import Clock, seed_campaign
from ledger.evidence import FolderStore, open_evidence, read_evidence
from ledger.store import Store
from web.access import COOKIE, Gate
from web.app import Server, create_app
from web_support import START

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 300
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"3" * 100
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 4
LOST = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x07" * 500  # cited, never kept


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Server]]:
    """T-000001 (JS01) reported with a photo and a PDF kept and a photo not kept;
    T-000002 (JS02) with a photo of its own; a client logged in through the link."""
    clock = Clock(START)
    store = Store(store_url, clock=clock)
    try:
        ledger = store.ledger
        seed_campaign(ledger)
        kept = open_evidence(store)
        for name, content in (("after.png", PNG), ("notice.pdf", PDF), ("other.jpg", JPEG)):
            (tmp_path / name).write_bytes(content)
            kept.keep([read_evidence(tmp_path / name, name)])
        for task, unit, person in (("T-000001", "JS01", "zhao"), ("T-000002", "JS02", "qian")):
            ledger.assign(actor_id="li", unit=unit, category="环境卫生", source="inspection",
                          location="幸福路12号", description="电线杆牛皮癣",
                          deadline=START.date() + timedelta(days=5), notice_no=f"ZG-{unit}")
            clock.advance(hours=2)
            cited = ([{"file": "after.png", "sha256": sha(PNG), "description": "整改后照片"},
                      {"file": "notice.pdf", "sha256": sha(PDF), "description": "整改报告"},
                      {"file": "lost.jpg", "sha256": sha(LOST), "description": "未上传"}]
                     if unit == "JS01" else
                     [{"file": "other.jpg", "sha256": sha(JPEG), "description": "整改后"}])
            ledger.report_rectification(actor_id=person, task_id=task, description="已清除",
                                        evidence=cited)
    finally:
        store.close()
    tokens: list[str] = []
    server = Server(store_url, Gate("tester", 3600, tokens.append), clock=clock)
    client = TestClient(create_app(server), raise_server_exceptions=False)
    assert client.get(f"/login?token={tokens[0]}", follow_redirects=False).status_code == 303
    yield client, server
    server.store.close()


def photo_url(task: str, content: bytes) -> str:
    return f"/tasks/{task}/evidence/{sha(content)}"


def test_the_task_page_shows_each_kept_photo_served_with_its_type(
        served: tuple[TestClient, Server]) -> None:
    client, _ = served
    page = client.get("/tasks/T-000001")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert f'<img class="evidence" src="{photo_url("T-000001", PNG)}" alt="after.png"' in text
    assert f'<a href="{photo_url("T-000001", PDF)}">打开 PDF</a>' in text  # linked, not shown
    assert f'src="{photo_url("T-000001", PDF)}"' not in text
    assert "lost.jpg（未上传） " in text and "（文件未保存）" in text
    assert sha(LOST) not in text.replace(f"sha256 {sha(LOST)[:12]}", "")  # no link to it
    for content, kind in ((PNG, "image/png"), (PDF, "application/pdf")):
        answer = client.get(photo_url("T-000001", content))
        assert answer.status_code == 200
        assert answer.headers["content-type"] == kind
        assert answer.content == content
        assert answer.headers["etag"] == f'"{sha(content)}"'
        assert answer.headers["x-content-type-options"] == "nosniff"
    other = client.get("/tasks/T-000002")
    assert f'src="{photo_url("T-000002", JPEG)}"' in other.text


def refused(client: TestClient, url: str, status: int, said: str) -> None:
    answer = client.get(url)
    assert answer.status_code == status, (url, answer.status_code, answer.text[-400:])
    assert said in html.unescape(answer.text), answer.text[-400:]
    assert "Traceback" not in answer.text


def test_only_a_file_the_task_cites_and_the_store_keeps_is_served(
        served: tuple[TestClient, Server]) -> None:
    client, server = served
    refused(client, "/tasks/T-000001/evidence/abc", 404,
            "没有佐证文件 'abc'：SHA-256 是 64 位十六进制数字")
    # T-000002's photo is kept, but T-000001 does not cite it
    refused(client, photo_url("T-000001", JPEG), 404,
            f"任务 T-000001 没有引用 sha256 为 {sha(JPEG)} 的佐证文件")
    refused(client, photo_url("T-000001", LOST), 404,
            f"佐证文件 lost.jpg（sha256 {sha(LOST)[:12]}…）未保存")
    refused(client, photo_url("T-000009", PNG), 404, "T-000009")
    if server.store.url.kind == "sqlite":  # a photo altered in its folder is not served
        kept = open_evidence(server.store)
        assert isinstance(kept, FolderStore)
        path = kept.path(sha(PNG))
        os.chmod(path, 0o644)
        path.write_bytes(PNG + b"retouched")
        refused(client, photo_url("T-000001", PNG), 409, "哈希已不符")
    client.cookies.clear()
    refused(client, photo_url("T-000001", PDF), 401, "请先用服务器控制台上打印的登录链接登录")


def test_a_units_person_gets_only_their_units_photos(
        served: tuple[TestClient, Server]) -> None:
    client, server = served
    session = server.gate.open("zhao", scope=["JS01"])  # as a PostgreSQL login of JS01's
    client.cookies.clear()
    client.cookies.set(COOKIE, session.id)
    assert client.get(photo_url("T-000001", PNG)).content == PNG
    refused(client, photo_url("T-000002", JPEG), 403, "可以查看单位 JS01 及其下属单位，不能查看 JS02")
    refused(client, "/tasks/T-000002", 403, "不能查看 JS02")
