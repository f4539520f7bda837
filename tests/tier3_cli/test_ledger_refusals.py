"""The ledger's refusals speak the language asked for: Chinese by default (TAIZHANG_LANG
unset, or --lang zh), English with --lang en, one ``Error:`` line naming the value, a
non-zero exit and nothing written — for a sample of them: a bad store URL, a mapping column
the file lacks, a tampered chain, a registration made twice."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cli_support import Cli

import cli
from ledger.recorders import EVENTS_TABLE
from web_support import World, build_world

# How a run chooses its language: (global options, environment).
CHINESE = [((), {"TAIZHANG_LANG": None}), (("--lang", "zh"), {"TAIZHANG_LANG": None}),
           (("--lang", "zh"), {"TAIZHANG_LANG": "en"})]
ENGLISH = [(("--lang", "en"), {"TAIZHANG_LANG": None}), ((), {"TAIZHANG_LANG": "en"})]
CHOSEN = [pytest.param(*way, "zh", id=f"zh{n}") for n, way in enumerate(CHINESE)] + \
    [pytest.param(*way, "en", id=f"en{n}") for n, way in enumerate(ENGLISH)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    built: World = build_world(f"sqlite:///{tmp_path_factory.mktemp('refusals') / 'l.db'}")
    runner = Cli(built.url)
    yield runner
    runner.close()


@pytest.mark.parametrize(("options", "env", "lang"), CHOSEN)
def test_a_bad_store_url_is_refused_in_the_language_asked_for(
        options: tuple[str, ...], env: dict[str, str | None], lang: str) -> None:
    result = CliRunner().invoke(cli.main, [*options, "--db", "nosuch://x", "campaign", "show"],
                                env={"TAIZHANG_DB": None, "TAIZHANG_AS": None, **env})
    assert result.exit_code == 1
    assert result.output == {
        "zh": "Error: 存储 URL 'nosuch://x' 既不是 sqlite:///FILE，也不是 "
              "postgresql://USER@HOST/DB\n",
        "en": "Error: store URL 'nosuch://x' is neither sqlite:///FILE nor "
              "postgresql://USER@HOST/DB\n"}[lang]


@pytest.mark.parametrize(("options", "env", "lang"), CHOSEN)
def test_a_registration_made_twice_is_refused_in_the_language_asked_for(
        world: Cli, options: tuple[str, ...], env: dict[str, str | None], lang: str) -> None:
    world.refused(*options, "unit", "add", "JS01", "--name", "又一个社区", "--kind", "社区",
                  env=env, message={"zh": "单位 JS01 已存在",
                                    "en": "unit JS01 already exists"}[lang])
    world.refused(*options, "person", "add", "zhao", "--name", "赵六", "--role", "unit",
                  "--unit", "JS01", env=env,
                  message={"zh": "人员 zhao 已存在", "en": "person zhao already exists"}[lang])


@pytest.mark.parametrize(("options", "env", "lang"), CHOSEN)
def test_a_mapping_column_the_file_lacks_is_refused_in_the_language_asked_for(
        world: Cli, tmp_path: Path, options: tuple[str, ...], env: dict[str, str | None],
        lang: str) -> None:
    rows = tmp_path / "台账.csv"
    rows.write_text("序号,责任单位,问题类别,问题描述,发现方式,发现时间\n"
                    "1,JS01,环境卫生,垃圾堆放,巡查,2024-05-03 09:00\n", encoding="utf-8")
    mapping = tmp_path / "台账.toml"
    mapping.write_text('[file]\nsource = "测试台账"\n\n[columns]\nid = "序号"\n'
                       'unit = "责任单位"\ncategory = "问题类别"\ndescription = "问题描述"\n'
                       'location = "地点"\nsource = "发现方式"\nassigned = "发现时间"\n\n'
                       '[values.source]\n"巡查" = "inspection"\n\n[deadline]\ndays = 7\n',
                       encoding="utf-8")
    header = "序号, 责任单位, 问题类别, 问题描述, 发现方式, 发现时间"
    world.refused(*options, "import", str(rows), "--mapping", str(mapping), env=env, message={
        "zh": f"映射文件 台账.toml：列 '地点' 不在 台账.csv 的表头中（表头有：{header}）",
        "en": f"mapping 台账.toml: column '地点' is not in 台账.csv's header ({header})"}[lang])


def test_a_rejected_rows_reason_is_said_in_the_language_asked_for(
        world: Cli, tmp_path: Path) -> None:
    rows = tmp_path / "台账.csv"
    rows.write_text("序号,责任单位,问题类别,问题描述,地点,发现方式,发现时间\n"
                    "1,无名社区,环境卫生,垃圾堆放,幸福路1号,巡查,2024-05-03 09:00\n",
                    encoding="utf-8")
    mapping = tmp_path / "台账.toml"
    mapping.write_text('[file]\nsource = "测试台账"\n\n[columns]\nid = "序号"\n'
                       'unit = "责任单位"\ncategory = "问题类别"\ndescription = "问题描述"\n'
                       'location = "地点"\nsource = "发现方式"\nassigned = "发现时间"\n\n'
                       '[values.source]\n"巡查" = "inspection"\n\n[deadline]\ndays = 7\n',
                       encoding="utf-8")
    said = {lang: world.ok("--lang", lang, "import", str(rows), "--mapping", str(mapping),
                           "--dry-run", "--format", "json", env={"TAIZHANG_LANG": None})
            for lang in ("zh", "en")}
    assert "责任单位 '无名社区' 既不是单位名称，也不是单位代码（映射文件规定拒收未知单位）" \
        in said["zh"]
    assert "责任单位 '无名社区' is neither a unit's name nor its code (the mapping refuses " \
        "unknown units)" in said["en"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_tampered_chain_is_reported_in_the_language_asked_for(tmp_path: Path,
                                                                lang: str) -> None:
    path = tmp_path / "ledger.db"
    built = build_world(f"sqlite:///{path}")
    db = sqlite3.connect(path)
    table = EVENTS_TABLE
    for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")\
            .fetchall():
        db.execute(f'DROP TRIGGER "{trigger}"')
    state, = db.execute(f"SELECT state FROM {table} WHERE notification_id = 5").fetchone()
    db.execute(f"UPDATE {table} SET state = ? WHERE notification_id = 5",
               (bytes(state).replace(b"}", b" }", 1),))
    db.commit()
    db.close()
    runner = Cli(built.url)
    try:
        result = runner("--lang", lang, "audit", "verify", env={"TAIZHANG_LANG": None})
    finally:
        runner.close()
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith("Error: ")
    assert {"zh": "存储的事件与其哈希不符", "en": "the stored event does not match its hash"}[
        lang] in line, line
    assert " 5" in line, line  # the position
