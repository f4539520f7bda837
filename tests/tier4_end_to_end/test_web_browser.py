"""`taizhang serve` as a person uses it: the real command, headless Chromium (the Debian
package) driven by Playwright, at a desktop's and a phone's width.

Skipped when chromium or Playwright is missing here; mandatory in CI (CI=true). A failing
step leaves a screenshot in ``test-artefacts/`` (or ``$TAIZHANG_ARTEFACTS``).
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from ci_support import unavailable

from ledger.store import Store
from web_support import World, build_world

CHROMIUM = shutil.which("chromium")
ARTEFACTS = Path(os.environ.get("TAIZHANG_ARTEFACTS", "test-artefacts"))
ZONE = ZoneInfo("Asia/Shanghai")
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def _missing() -> str | None:
    if CHROMIUM is None:
        return "chromium is not installed (Debian package chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed"
    return None


if _missing():
    unavailable(_missing() or "", ".ci/run installs chromium and playwright")

from playwright.sync_api import Page, sync_playwright  # noqa: E402


class Served:
    """A `taizhang serve` process and the login links it prints."""

    def __init__(self, url: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.run()", "--db", url, "serve",
             "--port", str(self.port)],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            cwd=Path(__file__).parents[2])
        self.links: queue.Queue[str] = queue.Queue()
        self.said: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.said.append(line)
            found = re.search(r"(http://\S+/login\?token=\S+)", line)  # in any language
            if found:
                self.links.put(found.group(1))

    def login_link(self) -> str:
        try:
            link = self.links.get(timeout=30)
        except queue.Empty:
            raise AssertionError("no login link: " + "".join(self.said)) from None
        for _ in range(300):  # the link is printed just before the server listens
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return link
            time.sleep(0.05)
        raise AssertionError("the server does not listen: " + "".join(self.said))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, Served]]:
    world = build_world(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'ledger.db'}")
    server = Served(world.url)
    yield world, server
    server.stop()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_person_reads_the_ledger_in_a_browser(served: tuple[World, Served],
                                                width: str) -> None:
    world, server = served
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox"])
        w, h = WIDTHS[width]
        context = browser.new_context(viewport={"width": w, "height": h},
                                      is_mobile=width == "phone")
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        step = "login"
        try:
            page.goto(server.login_link())
            assert page.url.endswith("/board")
            assert page.locator("h1").inner_text() == "台账"
            _fits(page, w)

            step = "filter"
            page.select_option("select[name=unit]", "JS01")
            page.click("button:has-text('筛选')")
            assert "unit=JS01" in page.url
            units = page.locator("#board tbody tr td:nth-child(2)").all_inner_texts()
            assert units and set(units) == {"JS01"}

            step = "task"
            first = page.locator("#board tbody tr td a").first
            task = first.inner_text()
            first.click()
            assert page.locator("h1").inner_text().startswith(task)
            assert page.locator("#history tbody tr").count() >= 2
            _fits(page, w)

            step = "timeline"
            page.click("nav.main a:has-text('时间线')")
            moment = (world.before_late + timedelta(seconds=1)).astimezone(ZONE)
            typed = moment.strftime("%Y-%m-%dT%H:%M:%S")
            page.fill("input[name=as_of]", typed)
            page.click("button:has-text('回放')")
            store = Store(world.url)
            try:
                position = store.ledger.position_as_of(moment.replace(microsecond=0))
            finally:
                store.close()
            assert f"按账本位置 {position} 计算" in page.locator("#computed-at").inner_text()

            step = "ranking"
            page.goto(f"http://127.0.0.1:{server.port}/ranking?month=2024-05")
            assert "红榜" in page.locator("#ranking").inner_text()
            page.locator("#ranking a:has-text('明细')").first.click()
            assert page.locator("#metrics").is_visible()
            page.locator("#metrics tbody a").nth(1).click()  # 到期整改 of the first unit
            assert "/metrics/explain" in page.url
            assert page.locator("#explain tbody tr").count() >= 1
            _fits(page, w)
            assert not errors, errors
        except Exception:
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTEFACTS / f"web-{width}-{step}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failing step: {shot}")
            raise
        finally:
            browser.close()


def _fits(page: Page, width: int) -> None:
    """Nothing but the tables' own scrolling areas is wider than the screen."""
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the page is {wide} px wide on a {width} px screen"
