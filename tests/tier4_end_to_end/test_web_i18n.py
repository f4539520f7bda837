"""The pages in English (`taizhang serve --lang en`): every label has its English, and the
pages use it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from web.i18n import translator
from web_support import World, build_world, client_for

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def test_the_templates_write_their_words_inside_the_catalogue_marks() -> None:
    # (That each has its English: tests/tier2_ledger/test_i18n.py, over the whole catalogue.)
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        # Chinese outside _(…) is only the brand.
        bare = re.sub(r"""_\((["'])[^"']*\1\)""", "", text).replace("台账 taizhang", "")
        assert not CJK.search(bare), (path.name, CJK.findall(bare)[:5])


def test_the_pages_translator() -> None:
    assert translator("zh")("筛选") == "筛选" and translator("en")("筛选") == "Filter"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(f"sqlite:///{tmp_path_factory.mktemp('en') / 'ledger.db'}")


def test_pages_in_english(world: World) -> None:
    client, server, _ = client_for(world, lang="en")
    try:
        for url, said in [("/board", "Not closed only"), ("/tasks/T-000001", "Full history"),
                          ("/timeline", "Computed at ledger position"),
                          ("/ranking?month=2024-05", "Scoring rules version"),
                          ("/metrics?month=2024-05", "On-time rectification rate"),
                          ("/metrics/explain?month=2024-05&unit=JS01&metric=due", "Counts as"),
                          ("/bulletins?month=2024-05", "(Chinese)"),
                          ("/audit", "Verify the hash chain on the server"),
                          ("/tasks/T-404040", "unknown task: T-404040")]:
            answer = client.get(url)
            assert said.lower() in answer.text.lower(), (url, answer.text[-1500:])
            assert '<html lang="en">' in answer.text
            for chinese in ("筛选", "全部经过", "审计时间线", "名次", "校验", "返回台账"):
                assert chinese not in answer.text, (url, chinese)
        assert client.get("/bulletins/2024-05.md").text.startswith("#") and \
            "bulletin" in client.get("/bulletins/2024-05.md").text
    finally:
        server.store.close()


@pytest.mark.parametrize(("lang", "said", "not_said"), [
    ("zh", [">交办<", ">签收<"], [">Task.Assigned<", ">Assigned<"]),
    ("en", [">Assigned<", ">Acknowledged<"], [">交办<", ">Task.Assigned<"])])
def test_kinds_of_event_are_named_in_the_pages_language(world: World, lang: str,
                                                        said: list[str],
                                                        not_said: list[str]) -> None:
    client, server, _ = client_for(world, lang=lang)
    try:
        for url in ("/timeline", "/tasks/T-000001"):
            text = client.get(url).text
            assert all(s in text for s in said), (url, said)
            assert not any(s in text for s in not_said), (url, not_said)
    finally:
        server.store.close()


@pytest.mark.parametrize(("server_lang", "process_lang", "said", "not_said"), [
    ("en", "zh", "assigned to JS01 (inspection)", "交办给 JS01（巡查发现）"),
    ("zh", "en", "交办给 JS01（巡查发现）", "assigned to JS01 (inspection)")])
def test_event_summaries_speak_the_servers_language_not_the_process(
        world: World, server_lang: str, process_lang: str, said: str, not_said: str) -> None:
    """A page says what each event says in ``serve --lang``'s language, whatever language
    the process was left speaking (``taizhang --lang`` before ``serve``, or a test's)."""
    import i18n

    client, server, _ = client_for(world, lang=server_lang)
    i18n.use(process_lang)
    try:
        for url in ("/timeline", "/tasks/T-000001"):
            text = client.get(url).text
            assert said in text and not_said not in text, (url, text[-2000:])
        # Who acted last, in the board's download: the server's word for the role too.
        board = client.get("/board.csv").text
        role, other = ("(admin)", "(管理员)") if server_lang == "en" else ("(管理员)", "(admin)")
        assert role in board and other not in board, board[:2000]
    finally:
        i18n.use(None)
        server.store.close()
