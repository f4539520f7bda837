"""The documents rendered as their readers render them: the HTML bulletin in headless
Chromium (the operating system's package, driven by Playwright), the Word documents turned
into PDF by LibreOffice and read back with pdftotext.

These need programs from the operating system (``chromium``, ``soffice``, ``pdftotext``
and a CJK font: Debian ``chromium fonts-noto-cjk libreoffice-writer-nogui poppler-utils``,
which ``.ci/run`` installs). Without them they are skipped here, saying what is missing,
and fail in CI (``CI=true``). They take a few seconds each: marked slow, and few.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ci_support import unavailable
from cli_support import Cli

from projections.fonts import CJK_FONTS, cjk_font
from tests.tier3_cli.test_metrics_example import built

pytestmark = pytest.mark.slow


def require(program: str, package: str) -> str:
    """The program's path; skipped (failed in CI) when it is not installed."""
    found = shutil.which(program)
    if found is None:
        unavailable(f"{program} is not installed (Debian package {package})",
                    ".ci/run installs it")
    return found


def require_cjk_font() -> None:
    if cjk_font() is None:
        unavailable("no CJK font is installed (Debian package fonts-noto-cjk)",
                    ".ci/run installs it")


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, Path]]:
    folder = tmp_path_factory.mktemp("render")
    runner = built(f"sqlite:///{folder / 'ledger.db'}")
    yield runner, folder
    runner.close()


def test_the_html_bulletin_renders_in_chromium(worked: tuple[Cli, Path]) -> None:
    chromium = require("chromium", "chromium")
    require_cjk_font()
    cli, folder = worked
    page_file = folder / "bulletin.html"
    cli.ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "html", "-o", str(page_file))
    from matplotlib import image
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            said: list[str] = []
            page.on("console", lambda m: said.append(f"{m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: said.append(f"page error: {e}"))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert said == []
            chart = page.locator("figure.chart svg")
            assert chart.is_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] > 500 and box["height"] > 200, box
            # The title's and the chart's Chinese are drawn with a CJK font, not boxes.
            page.evaluate("""() => {
                const title = [...document.querySelectorAll('figure.chart svg text')]
                    .find(t => t.textContent.includes('各层级平均得分'));
                title.setAttribute('id', 'chart-title');
            }""")
            cdp = page.context.new_cdp_session(page)
            cdp.send("DOM.enable")
            cdp.send("CSS.enable")
            root = cdp.send("DOM.getDocument")["root"]["nodeId"]
            for selector in ("h1", "#chart-title"):
                node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})
                fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
                used = {f["familyName"] for f in fonts["fonts"]}
                assert used & set(CJK_FONTS), (selector, used)
            # And the title's region of a screenshot is not blank.
            shot = image.imread(io.BytesIO(page.locator("h1").screenshot()), format="png")
            dark = (shot[:, :, :3].mean(axis=2) < 0.5).mean()
            assert 0.02 < dark < 0.6, dark
        finally:
            browser.close()


def test_the_word_documents_convert_to_pdf_with_their_text(worked: tuple[Cli, Path]) -> None:
    soffice = require("soffice", "libreoffice-writer-nogui")
    pdftotext = require("pdftotext", "poppler-utils")
    require_cjk_font()
    cli, folder = worked
    bulletin, summary = folder / "bulletin.docx", folder / "summary.docx"
    cli.ok("bulletin", "--lang", "zh", "--month", "2024-05", "--format", "docx", "-o", str(bulletin))
    cli.ok("summary", "--from", "2024-05-01", "--to", "2024-05-31", "--format", "docx",
           "-o", str(summary))
    profile = folder / "libreoffice-profile"  # its own, beside other runs
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(folder), str(bulletin),
                    str(summary)], check=True, capture_output=True, timeout=240)

    def text(pdf: Path) -> str:
        return subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True,
                              capture_output=True, text=True, timeout=60).stdout

    said = text(folder / "bulletin.pdf")
    squeezed = re.sub(r"\s+", "", said)  # pdftotext spaces Latin from Chinese, wraps lines
    for heading in ("创建全国文明城市2024督查通报（2024年5月）", "〔2024〕第5期", "一、总体情况",
                    "二、各层级评比排名", "（一）社区", "（二）街道", "三、红黑榜",
                    "四、超期未整改问题（截至月末）", "五、反弹问题", "六、近12个月走势"):
        assert heading in squeezed, heading
    ranked = next(line for line in said.splitlines() if "和平社区" in line and "97.50" in line)
    assert ranked.split()[0] == "1", ranked
    assert "—1—" in squeezed  # the page number
    summary_text = re.sub(r"\s+", "", text(folder / "summary.pdf"))
    for line in ("工作总结（2024年5月1日至2024年5月31日）", "〔2024〕5号", "一、总体情况",
                 "二、主要数据", "巡查（次）"):
        assert line in summary_text, line
