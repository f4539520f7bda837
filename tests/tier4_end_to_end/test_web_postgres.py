"""`taizhang serve` on PostgreSQL: each person logs in with their own database role and
password (the store checks them), and sees what their role may read."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.testclient import TestClient

from ledger.store import Store
from tests.tier3_cli.test_access_postgres import city  # noqa: F401 - the fixture
from web.access import Gate
from web.app import Server, create_app


def _client(city: dict[str, Any]) -> tuple[TestClient, Server]:  # noqa: F811
    owner = Store(city["url"])
    try:
        ledger = owner.ledger
        ledger.register_unit(actor_id="wang", code="JS02", name="和平社区", kind="社区", parent="JS")
        for unit in ("JS01", "JS02"):
            ledger.assign(actor_id="wang", unit=unit, category="环境卫生", source="inspection",
                          location=f"{unit} 路口", description="牛皮癣",
                          deadline=date(2030, 1, 1))
    finally:
        owner.close()
    server = Server(city["url"], Gate("owner", 3600, None))
    return TestClient(create_app(server), raise_server_exceptions=False), server


def _login(client: TestClient, role: str, password: str = "", csrf: bool = True) -> Any:
    form = client.get("/login")
    assert form.status_code == 200 and 'name="password"' in form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    return client.post("/login", data={"role": role, "password": password,
                                       "csrf": token if csrf else "forged"},
                       follow_redirects=False)


def _tasks(client: TestClient, url: str = "/board") -> list[str]:
    return re.findall(r'<a href="/tasks/(T-\d+)">', client.get(url).text)


def test_people_log_in_with_their_role_and_see_what_it_may_read(
        city: dict[str, Any]) -> None:  # noqa: F811
    client, server = _client(city)
    try:
        assert client.get("/board").status_code == 401
        assert _login(client, city["logins"]["zhao"], csrf=False).status_code == 403
        refused = _login(client, "no_such_role_here")
        assert refused.status_code == 401 and "存储拒绝了登录 no_such_role_here" in refused.text
        stranger = _login(client, city["logins"]["stranger"])
        assert stranger.status_code == 401 and "没有绑定账本中的人员" in stranger.text

        assert _login(client, city["logins"]["zhao"]).status_code == 303
        assert _tasks(client) == ["T-000001"]  # zhao is JS01's: JS01 and below
        assert client.get("/board?unit=JS02").status_code == 403
        assert client.get("/tasks/T-000002").status_code == 403
        assert client.get("/tasks/T-000001").status_code == 200
        assert "JS02" not in client.get("/timeline").text.split("<tbody>")[1]
        requests = client.get("/open311/v2/requests.json").json()
        assert [r["service_request_id"] for r in requests] == ["T-000001"]

        for person in ("li", "sun"):  # an inspector and an auditor see everything
            other = TestClient(client.app, raise_server_exceptions=False)
            assert _login(other, city["logins"][person]).status_code == 303
            assert _tasks(other) == ["T-000001", "T-000002"]
            assert other.get("/tasks/T-000002").status_code == 200
        bare = TestClient(client.app, raise_server_exceptions=False)
        assert bare.get(f"/open311/v2/services.json?api_key={server.gate.api_key}"
                        ).status_code == 401  # no key on PostgreSQL: people log in
    finally:
        server.gate.close()
        server.store.close()


def test_a_login_sees_the_photos_of_the_tasks_it_may_read(
        city: dict[str, Any], tmp_path: Any) -> None:  # noqa: F811
    """Each photo is read from the evidence table through the person's own login."""
    import hashlib

    from ledger.evidence import open_evidence, read_evidence

    photo = tmp_path / "after.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 300)
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    client, server = _client(city)
    owner = Store(city["url"])
    try:
        open_evidence(owner).keep([read_evidence(photo, "after.png")])
        for task in ("T-000001", "T-000002"):
            owner.ledger.attach_evidence(actor_id="li", task_id=task, evidence=[
                {"file": "after.png", "sha256": digest, "description": "现场"}])
        assert _login(client, city["logins"]["zhao"]).status_code == 303
        assert f'src="/tasks/T-000001/evidence/{digest}"' in client.get("/tasks/T-000001").text
        answer = client.get(f"/tasks/T-000001/evidence/{digest}")
        assert (answer.status_code, answer.headers["content-type"]) == (200, "image/png")
        assert answer.content == photo.read_bytes()
        assert client.get(f"/tasks/T-000002/evidence/{digest}").status_code == 403
    finally:
        owner.close()
        server.gate.close()
        server.store.close()
