"""`taizhang serve` answers many requests at once: none waits for another, and each page is
computed from one state of the read models — the one at the position (and chain hash) it
states — even while the ledger is being written and the read models caught up."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from starlette.testclient import TestClient

from ledger import audit
from ledger.store import Store
from projections.read import ReadSide
from tests.tier3_cli.test_access_postgres import city  # noqa: F401 - the fixture
from web.access import Gate
from web.app import Server, create_app
from web_support import World, build_world, client_for

STATED = re.compile(r"账本当前位置 (\d+) · 链头哈希 <span class=\"hash\">([0-9a-f]{16})…")
TOTAL = re.compile(r"共 (\d+) 项任务")
PAGES = ("/board", "/board?sort=overdue", "/timeline", "/tasks/T-000001",
         "/ranking?month=2024-05", "/open311/v2/requests.json")
WRITES = 25  # tasks a writer assigns at most while pages are read
WAIT = 60  # seconds before a test gives up waiting (a deadlock), never a measure


@pytest.fixture
def fresh(tmp_path: Any) -> World:
    """A world of its own: these tests write to it."""
    return build_world(f"sqlite:///{tmp_path / 'ledger.db'}")


def stated(page: str) -> tuple[int, str]:
    found = STATED.search(page)
    assert found, page[:2000]
    return int(found.group(1)), found.group(2)


def at_once(work: Callable[[int], None], threads: int) -> None:
    """``work(n)`` in ``threads`` threads started together; their failures raised here."""
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def run(n: int) -> None:
        try:
            start.wait(WAIT)
            work(n)
        except BaseException as e:  # noqa: BLE001 - reported by the test's thread
            failures.append(e)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(WAIT * 2)
    assert not any(w.is_alive() for w in workers), "a request never answered"
    if failures:
        raise failures[0]


@contextmanager
def writing(url: str, actor: str, unit: str, clock: Any = None) -> Iterator[None]:
    """A writer assigning tasks, one transaction each, until the block ends (or it has
    written ``WRITES``)."""
    done = threading.Event()
    wrote = [0]

    def write() -> None:
        store = Store(url, **({"clock": clock} if clock else {}))
        try:
            while not done.is_set() and wrote[0] < WRITES:
                store.ledger.assign(actor_id=actor, unit=unit, category="环境卫生",
                                    source="inspection", location="同时路", description="并发",
                                    deadline=date(2030, 1, 1))
                wrote[0] += 1
        finally:
            store.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield
    finally:
        done.set()
        writer.join(WAIT)
    assert wrote[0] > 0, "the writer wrote nothing while the pages were read"


def check_consistent(url: str, boards: list[str], clock: Any = None) -> None:
    """Each board page's count is the ledger's as it stood at the position the page
    states, whose chain hash it states."""
    store = Store(url, **({"clock": clock} if clock else {}))
    try:
        read = ReadSide(store)
        counted: dict[int, int] = {}
        for page in boards:
            position, head = stated(page)
            assert audit.head_at(store.ledger, position).hash.startswith(head)
            total = TOTAL.search(page)
            assert total, page[:2000]
            if position not in counted:
                counted[position] = read.at(position=position).board_count()
            assert int(total.group(1)) == counted[position]
    finally:
        store.close()


def test_pages_read_at_once_while_the_ledger_is_written_are_each_whole(
        fresh: World) -> None:
    client, server, _ = client_for(fresh)
    boards: list[str] = []
    try:
        with writing(fresh.url, "admin", "JS01", fresh.clock):
            def read(n: int) -> None:
                for i in range(6):
                    path = PAGES[(n + i) % len(PAGES)]
                    answer = client.get(path)
                    assert answer.status_code == 200, (path, answer.text[-500:])
                    if path.startswith("/board"):
                        boards.append(answer.text)

            at_once(read, 8)
        check_consistent(fresh.url, boards, fresh.clock)
        # Pages read later see what was written meanwhile: the read models caught up.
        position, _ = stated(client.get("/board").text)
        store = Store(fresh.url, clock=fresh.clock)
        try:
            assert position == store.ledger.max_position()
        finally:
            store.close()
    finally:
        server.store.close()


def test_a_slow_page_does_not_hold_up_the_others(
        fresh: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The timeline is held half-way through its query until the board has answered;
    the board must answer meanwhile (it waited for the timeline, they would both wait)."""
    client, server, _ = client_for(fresh)
    entered, board_done = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    timeline = ReadSide._timeline

    def slow(self: ReadSide, **kwargs: Any) -> Any:
        entered.set()
        seen["board answered meanwhile"] = board_done.wait(WAIT)
        return timeline(self, **kwargs)

    monkeypatch.setattr(ReadSide, "_timeline", slow)
    try:
        slow_request = threading.Thread(
            target=lambda: seen.__setitem__("timeline", client.get("/timeline")))
        slow_request.start()
        assert entered.wait(WAIT)
        board = client.get("/board?sort=overdue")
        board_done.set()
        slow_request.join(WAIT)
        assert board.status_code == 200
        assert seen["board answered meanwhile"] is True
        assert seen["timeline"].status_code == 200
        assert stated(seen["timeline"].text) == stated(board.text)
    finally:
        server.store.close()


def test_a_verification_running_does_not_hold_up_the_pages(fresh: World) -> None:
    client, server, _ = client_for(fresh)
    try:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/audit").text)
        assert csrf
        started = client.post("/audit/verify", data={"csrf": csrf.group(1)},
                              follow_redirects=False)
        assert started.status_code == 303
        at_once(lambda n: _ok(client, PAGES[n % len(PAGES)]), 4)
    finally:
        server.store.close()


def _ok(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.text[-500:])


# --- PostgreSQL: each person's pages on their own connection -------------------------------

def _person(city: dict[str, Any], server: Server, person: str) -> TestClient:  # noqa: F811
    client = TestClient(create_app(server), raise_server_exceptions=False)
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    answer = client.post("/login", data={"role": city["logins"][person], "password": "",
                                         "csrf": token.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


@pytest.mark.parametrize("server_folds", [True, False])
def test_people_read_at_once_on_postgresql_while_the_ledger_is_written(
        city: dict[str, Any], server_folds: bool) -> None:  # noqa: F811
    """Whether the server's account folds the read models for everybody (it may write
    them) or each login folds a private copy (it may not), every page is whole."""
    url = city["url"] if server_folds else city["urls"]["sun"]
    server = Server(url, Gate("owner", 3600, None))
    try:
        assert server.folds is server_folds
        people = [_person(city, server, name) for name in ("li", "sun", "li")]
        boards: list[str] = []
        with writing(city["url"], "wang", "JS01"):
            def read(n: int) -> None:
                for i in range(4):
                    path = ("/board", "/timeline", "/board?sort=overdue",
                            "/open311/v2/requests.json")[(n + i) % 4]
                    answer = people[n % len(people)].get(path)
                    assert answer.status_code == 200, (path, answer.text[-500:])
                    if path.startswith("/board"):
                        boards.append(answer.text)

            at_once(read, 6)
        check_consistent(city["url"], boards)
    finally:
        server.gate.close()
        server.store.close()


def test_a_login_folding_a_private_copy_quotes_a_head_on_disk(
        city: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Events are committed before their flush (docs/durability.md); a page quotes the
    position it was computed at. A login that may not write the read models folds a private
    copy, which the server's synchronous commits do not cover: its catch-up waits for the
    flush of what it folded before the page is computed."""
    server = Server(city["urls"]["sun"], Gate("owner", 3600, None))
    try:
        assert not server.folds
        sun = _person(city, server, "sun")
        _ok(sun, "/board")
        waits: list[int] = []
        recorder = type(server.store.ledger.recorder)
        wait_durable = recorder.wait_durable

        def counted(self: Any) -> bool:
            waits.append(1)
            return wait_durable(self)

        monkeypatch.setattr(recorder, "wait_durable", counted)
        writer = Store(city["url"])
        try:
            writer.ledger.register_unit(actor_id="wang", code="JS02", name="和平社区",
                                        kind="社区", parent="JS")
        finally:
            writer.close()
        answer = sun.get("/timeline")
        assert answer.status_code == 200, answer.text[-500:]
        assert waits, "the private copy's catch-up did not wait for the flush"
    finally:
        server.gate.close()
        server.store.close()
