"""A small ledger written over weeks of (test) clock time, and a logged-in web client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from starlette.testclient import TestClient

from conftest import Clock, seed_campaign
from ledger import audit_checkpoints
from ledger.evaluation import Evaluations
from ledger.store import Store
from projections.evaluation import Evaluator
from projections.read import ReadSide
from web.access import Gate
from web.app import Server, create_app

START = datetime(2024, 5, 1, 1, 0, tzinfo=timezone.utc)
CATEGORIES = ("环境卫生", "交通秩序", "建筑工地")


@dataclass
class World:
    url: str
    clock: Clock
    before_late: datetime  # a transaction time after T-000001..6, before T-000007
    published_position: int


def build_world(url: str) -> World:
    """Tasks assigned in May 2024 to two 社区 and a 部门, rectified or not, one entered
    late, one corrected; May published on 2024-06-03, then a late entry about May and a
    task due on 2024-06-10. The test clock ends on 2024-06-04."""
    clock = Clock(START)
    store = Store(url, clock=clock)
    try:
        ledger = store.ledger
        seed_campaign(ledger)
        zone = ledger.campaign().zone
        units = ("JS01", "JS02", "JS01", "CGJ", "JS02", "JS01")
        for n, unit in enumerate(units, start=1):
            clock.advance(days=2)
            task = f"T-{n:06d}"
            ledger.assign(actor_id="admin", unit=unit, category=CATEGORIES[n % 3],
                          source="inspection" if n % 2 else "complaint",
                          location=f"幸福路{n}号", description=f"问题{n}",
                          deadline=clock.now.date() + timedelta(days=3))
            clock.advance(hours=3)
            if unit != "CGJ":
                ledger.acknowledge(actor_id="zhao" if unit == "JS01" else "qian", task_id=task)
            if n <= 3:
                ledger.issue_notice(actor_id="li", task_id=task, notice_no=f"ZG-{n:03d}",
                                    requirements="限期整改")
                clock.advance(days=1)
                ledger.report_rectification(actor_id="zhao" if unit == "JS01" else "qian",
                                            task_id=task,
                                            description="已整改",
                                            evidence=[{"file": f"after{n}.jpg",
                                                       "description": "整改后照片"}])
                clock.advance(hours=5)
                ledger.reinspect(actor_id="li", task_id=task, passed=n != 2, note="复查")
        ledger.correct(actor_id="admin", task_id="T-000001", event=1,
                       changes={"location": "幸福路1号东侧"}, reason="地址有误")
        audit_checkpoints.record_checkpoint(ledger, actor_id="sun", note="五月中")
        clock.advance(days=4)
        # Transaction time is the ledger's clock (the test's): a minute before the entry.
        before_late = clock.now - timedelta(minutes=1)
        # Entered now, happened four days ago: a late entry.
        ledger.assign(actor_id="admin", unit="JS02", category="环境卫生", source="media",
                      location="和平路口", description="占道经营",
                      deadline=date(2024, 5, 31), occurred_at=clock.now - timedelta(days=4))
        clock.now = datetime(2024, 6, 3, 2, 0, tzinfo=timezone.utc)
        evaluator = Evaluator(ReadSide(store))
        done = Evaluations(ledger).publish(
            actor_id="admin", month="2024-05",
            compute=lambda rules_for: evaluator.freeze("2024-05", rules_for))
        clock.advance(hours=2)
        ledger.assign(actor_id="admin", unit="JS01", category="交通秩序", source="inspection",
                      location="建设路5号", description="乱停放", deadline=date(2024, 5, 25),
                      occurred_at=datetime(2024, 5, 20, 2, 0, tzinfo=zone))
        ledger.assign(actor_id="admin", unit="JS02", category="建筑工地", source="inspection",
                      location="光明巷2号", description="围挡破损", deadline=date(2024, 6, 10))
        clock.advance(days=1)
        return World(url, clock, before_late, done["position"])
    finally:
        store.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The world of build_world on SQLite, one per test module."""
    return build_world(f"sqlite:///{tmp_path_factory.mktemp('web') / 'ledger.db'}")


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """A logged-in client of a server on the world."""
    client, server, _ = client_for(world)
    yield client
    server.store.close()


@pytest.fixture
def read(world: World) -> Iterator[ReadSide]:
    """The read side the command line uses, on the world."""
    store = Store(world.url, clock=world.clock)
    yield ReadSide(store)
    store.close()


def client_for(world: World, lifetime: float = 3600.0, gate_clock: object | None = None,
               lang: str = "zh") -> tuple[TestClient, Server, list[str]]:
    """A web client logged in through the one-time link, its server, and the tokens the
    server announced (the first one spent)."""
    tokens: list[str] = []
    gate = Gate("tester", lifetime, tokens.append,
                **({"clock": gate_clock} if gate_clock else {}))
    server = Server(world.url, gate, clock=world.clock, lang=lang)
    client = TestClient(create_app(server), raise_server_exceptions=False)
    answer = client.get(f"/login?token={tokens[0]}", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client, server, tokens
