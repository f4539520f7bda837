"""The registry commands from the user's side: init, campaign, unit and person.

Each works (exact output for most), and each refuses bad input with exactly one line
``Error: …`` that names the problem and the value, a non-zero exit, no traceback and no
event written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points, version
from pathlib import Path

import pytest
from cli_support import Cli


@pytest.fixture
def cli(sqlite_url: str) -> Iterator[Cli]:
    runner = Cli(sqlite_url)
    yield runner
    runner.close()


@pytest.fixture
def started(cli: Cli) -> Cli:
    """A campaign with two categories, a 街道 with one 社区, an inspector and a member."""
    cli.ok("campaign", "start", "--name", "创建全国文明城市 2024", "--admin", "wang",
           "--admin-name", "王主任", "--category", "环境卫生", "--category", "交通秩序")
    cli.ok("unit", "add", "JS", "--name", "建设街道", "--kind", "街道", as_="wang")
    cli.ok("unit", "add", "JS01", "--name", "幸福社区", "--kind", "社区", "--parent", "JS",
           as_="wang")
    cli.ok("person", "add", "li", "--name", "李督查", "--role", "inspector", as_="wang")
    cli.ok("person", "add", "zhao", "--name", "赵社区", "--role", "unit", "--unit", "JS01",
           as_="wang")
    cli.ok("person", "add", "sun", "--name", "孙审计", "--role", "auditor", as_="wang")
    return cli


# --- the program ---------------------------------------------------------------------


def test_version_is_the_installed_version(cli: Cli) -> None:
    assert cli("--version").output == f"taizhang, version {version('taizhang')}\n"
    assert cli.console("--version") == (0, f"taizhang, version {version('taizhang')}\n", "")


def test_the_console_script_is_the_entry_point_that_makes_usage_errors_one_line() -> None:
    (script,) = entry_points(group="console_scripts", name="taizhang")
    assert script.value == "cli:run"


def test_the_installed_taizhang_command_answers_its_version() -> None:
    script = Path(sys.executable).parent / "taizhang"
    if not script.exists():
        pytest.skip(f"no taizhang script beside {sys.executable}")
    for lang, said in [("en", "taizhang, version {}\n"), ("zh", "taizhang，版本 {}\n")]:
        done = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                              timeout=60, check=False,
                              env={**os.environ, "TAIZHANG_LANG": lang})
        assert (done.returncode, done.stdout, done.stderr) == (
            0, said.format(version("taizhang")), "")


def test_an_unknown_command_is_one_error_line(cli: Cli) -> None:
    cli.usage_refused("frobnicate", message="No such command 'frobnicate'.")


# --- init ------------------------------------------------------------------------------


def test_init_makes_the_store_and_may_run_again(cli: Cli, tmp_path: Path) -> None:
    expected = f"ledger ready at sqlite:///{tmp_path / 'ledger.db'}\n"
    assert cli.ok("init") == expected
    assert cli.ok("init") == expected
    assert (tmp_path / "ledger.db").exists()
    assert cli.max_position() == 0


def test_init_refuses_a_store_in_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = Cli(f"sqlite:///{missing}/ledger.db")("init")
    assert result.exit_code == 1
    assert result.output == f"Error: folder {str(missing)!r} of the store does not exist\n"
    assert not missing.exists()


def test_init_refuses_a_url_that_names_no_store() -> None:
    result = Cli("mysql://db.example/ledger")("init")
    assert result.exit_code == 1
    assert result.output == ("Error: store URL 'mysql://db.example/ledger' is neither "
                             "sqlite:///FILE nor postgresql://USER@HOST/DB\n")


# --- campaign --------------------------------------------------------------------------


def test_campaign_start_names_the_campaign_and_its_administrator(cli: Cli) -> None:
    assert cli.ok("campaign", "start", "--name", "创建全国文明城市2024", "--admin", "wang",
                  "--admin-name", "王主任") == \
        "campaign 创建全国文明城市2024 started (Asia/Shanghai); administrator wang, " \
        f"bound to account {cli.store.ledger.account}\n"
    assert cli.max_position() == 3  # the administrator, the campaign, the binding


def test_campaign_show_lists_the_settings(started: Cli) -> None:
    assert started.ok("campaign", "show") == (
        "field                         value\n"
        "----------------------------  ------------------------\n"
        "Name                          创建全国文明城市 2024\n"
        "Time zone                     Asia/Shanghai\n"
        'Categories                    ["环境卫生", "交通秩序"]\n'
        "Required inspections          4\n"
        "Recurrence window (days)      90\n"
        "Recurrence lookback (months)  3\n")
    assert started.ok("campaign", "show", env={"TAIZHANG_LANG": "zh"}).splitlines()[2:4] == [
        "名称            创建全国文明城市 2024", "时区            Asia/Shanghai"]
    shown = json.loads(started.ok("campaign", "show", "--format", "json"))
    assert shown["categories"] == ["环境卫生", "交通秩序"]


def test_campaign_start_without_the_seven_managements_given_takes_them(cli: Cli) -> None:
    cli.ok("campaign", "start", "--name", "卫生镇", "--admin", "wang", "--admin-name", "王")
    shown = json.loads(cli.ok("campaign", "show", "--format", "json"))
    assert shown["categories"] == ["社会治安", "环境卫生", "交通秩序", "集贸市场", "建筑工地",
                                   "文化环境", "大众传媒"]


def test_a_second_campaign_is_refused(started: Cli) -> None:
    started.refused("campaign", "start", "--name", "另一个", "--admin", "li2",
                    "--admin-name", "李",
                    message="this ledger already has a campaign: 创建全国文明城市 2024")


def test_campaign_start_refuses_an_empty_name(cli: Cli) -> None:
    cli.refused("campaign", "start", "--name", " ", "--admin", "wang", "--admin-name", "王",
                message="campaign name must not be empty (got ' ')")


def test_campaign_start_refuses_an_unknown_time_zone(cli: Cli) -> None:
    cli.refused("campaign", "start", "--name", "x", "--admin", "wang", "--admin-name", "王",
                "--time-zone", "Asia/Beijing",
                message="time zone 'Asia/Beijing' is not a known IANA zone")


def test_campaign_start_refuses_a_malformed_administrator_id(cli: Cli) -> None:
    cli.refused("campaign", "start", "--name", "x", "--admin", "王 主任", "--admin-name", "王",
                message="person id must be letters, digits, '.', '_' or '-' (at most 40), "
                        "got '王 主任'")


def test_campaign_start_refuses_negative_required_inspections(cli: Cli) -> None:
    cli.usage_refused("campaign", "start", "--name", "x", "--admin", "wang",
                      "--admin-name", "王", "--required-inspections", "-1",
                      message="Invalid value for '--required-inspections': -1 is not in the "
                              "range x>=0.")


def test_campaign_start_requires_its_administrator(cli: Cli) -> None:
    cli.usage_refused("campaign", "start", "--name", "x", "--admin-name", "王",
                      message="Missing option '--admin'.")


def test_campaign_show_before_a_campaign_is_refused(cli: Cli) -> None:
    cli.refused("campaign", "show",
                message="this ledger has no campaign yet: run 'taizhang campaign start'")


def test_the_office_adds_a_category(started: Cli) -> None:
    assert started.ok("campaign", "add-category", "公益广告", as_="wang") == \
        "category 公益广告 added\n"
    shown = json.loads(started.ok("campaign", "show", "--format", "json"))
    assert shown["categories"][-1] == "公益广告"


def test_an_existing_category_is_refused(started: Cli) -> None:
    started.refused("campaign", "add-category", "环境卫生", as_="wang",
                    message="category '环境卫生' already exists")


def test_an_inspector_may_not_add_categories(started: Cli) -> None:
    started.refused("campaign", "add-category", "公益广告", as_="li",
                    message="li (inspector) may not manage the registries: that is for admin")


def test_the_office_sets_the_inspections_each_unit_needs_a_month(started: Cli) -> None:
    assert started.ok("campaign", "set-inspections", "--per-month", "6", "--reason", "创建冲刺期加密巡查",
                      as_="wang") == "required inspections per unit and month: 6\n"
    shown = json.loads(started.ok("campaign", "show", "--format", "json"))
    assert shown["required_inspections"] == 6


def test_negative_required_inspections_are_refused(started: Cli) -> None:
    started.refused("campaign", "set-inspections", "--per-month", "-1", "--reason", "x", as_="wang",
                    message="required inspections must be 0 or more, got -1")


def test_an_inspector_may_not_set_the_inspections_required(started: Cli) -> None:
    started.refused("campaign", "set-inspections", "--per-month", "6", "--reason", "x", as_="li",
                    message="li (inspector) may not manage the registries: that is for admin")


def test_setting_the_inspections_required_needs_a_reason(started: Cli) -> None:
    started.refused("campaign", "set-inspections", "--per-month", "6", "--reason", " ", as_="wang",
                    message="reason must not be empty (got ' ')")


def test_the_acting_person_follows_from_the_account(started: Cli) -> None:
    assert started.ok("campaign", "add-category", "公益广告") == "category 公益广告 added\n"


def test_the_environment_may_say_who_acts_and_is_checked(started: Cli) -> None:
    result = started("campaign", "add-category", "志愿服务", env={"TAIZHANG_AS": "wang"})
    assert (result.exit_code, result.stdout) == (0, "category 志愿服务 added\n")
    result = started("campaign", "add-category", "文明交通", env={"TAIZHANG_AS": "li"})
    assert (result.exit_code, result.output) == (1, (
        f"Error: --as li: account {started.store.ledger.account} is bound to wang (王主任), "
        "not to li (a clerk or administrator enters for another person with "
        "--on-behalf-of)\n"))


def test_acting_for_an_unknown_person_is_refused(started: Cli) -> None:
    started.refused("campaign", "add-category", "公益广告", as_="nobody",
                    message="unknown person: nobody")


def test_a_future_moment_is_refused(started: Cli) -> None:
    started.refused("campaign", "add-category", "公益广告", "--at", "2999-01-01 10:00",
                    as_="wang",
                    message="occurred_at 2999-01-01T10:00:00+08:00 is in the future")


def test_a_malformed_moment_is_one_error_line(started: Cli) -> None:
    started.usage_refused("campaign", "add-category", "公益广告", "--at", "yesterday",
                          as_="wang",
                          message="Invalid value for '--at': 'yesterday' is not a date or "
                                  "date-time (YYYY-MM-DD[ HH:MM[:SS]])")


# --- units -----------------------------------------------------------------------------


def test_units_are_registered_renamed_retired_and_listed(started: Cli) -> None:
    assert started.ok("unit", "add", "WY01", "--name", "金桥物业", "--kind", "物业",
                      "--parent", "JS01", as_="wang") == \
        "unit WY01 金桥物业 (物业) registered\n"
    assert started.ok("unit", "rename", "JS01", "--name", "幸福里社区", "--reason", "更名",
                      as_="wang") == "unit JS01 renamed 幸福里社区\n"
    assert started.ok("unit", "retire", "WY01", "--reason", "撤销", as_="wang") == \
        "unit WY01 retired\n"
    assert started.ok("unit", "list") == (
        "Code    Name        Kind    Parent    Retired\n"
        "------  ----------  ------  --------  ---------\n"
        "JS      建设街道    街道              no\n"
        "JS01    幸福里社区  社区    JS        no\n"
        "WY01    金桥物业    物业    JS01      yes\n")
    # In Chinese: the headers, the answers and what each command says.
    zh = {"TAIZHANG_LANG": "zh"}
    assert started.ok("unit", "list", env=zh).splitlines()[0].split() == [
        "编号", "名称", "类型", "上级", "已撤销"]
    assert started.ok("unit", "list", env=zh).splitlines()[-1].split() == [
        "WY01", "金桥物业", "物业", "JS01", "是"]
    assert started.ok("unit", "add", "WY02", "--name", "银桥物业", "--kind", "物业",
                      "--parent", "JS", as_="wang", env=zh) == "单位 WY02 银桥物业（物业）已登记\n"
    assert started.ok("unit", "list", "--kind", "社区", "--format", "csv") == (
        "code,name,kind,parent,retired\n"
        "JS01,幸福里社区,社区,JS,no\n")


def test_unit_add_refuses_an_unknown_parent(started: Cli) -> None:
    started.refused("unit", "add", "JS09", "--name", "x", "--kind", "社区", "--parent", "XX",
                    as_="wang", message="unknown unit: XX")


def test_unit_add_refuses_a_parent_of_the_wrong_kind(started: Cli) -> None:
    started.refused("unit", "add", "JS09", "--name", "x", "--kind", "社区", as_="wang",
                    message="a 社区's parent must be a 街道, got none")


def test_unit_add_refuses_an_existing_code(started: Cli) -> None:
    started.refused("unit", "add", "JS01", "--name", "x", "--kind", "社区", "--parent", "JS",
                    as_="wang", message="unit JS01 already exists")


def test_unit_add_refuses_a_malformed_code(started: Cli) -> None:
    started.refused("unit", "add", "JS 09", "--name", "x", "--kind", "街道", as_="wang",
                    message="unit code must be letters, digits, '.', '_' or '-' (at most "
                            "40), got 'JS 09'")


def test_unit_add_refuses_an_empty_name(started: Cli) -> None:
    started.refused("unit", "add", "JS09", "--name", "", "--kind", "街道", as_="wang",
                    message="unit name must not be empty (got '')")


def test_an_auditor_may_not_register_units(started: Cli) -> None:
    started.refused("unit", "add", "JS09", "--name", "x", "--kind", "街道", as_="sun",
                    message="sun (auditor) may not manage the registries: that is for admin")


def test_unit_add_refuses_an_unknown_kind(started: Cli) -> None:
    started.usage_refused("unit", "add", "X1", "--name", "x", "--kind", "乡镇", as_="wang",
                          message="Invalid value for '--kind': '乡镇' is not one of '区', "
                                  "'街道', '社区', '部门', '物业'.")


def test_unit_rename_refuses_an_unknown_unit(started: Cli) -> None:
    started.refused("unit", "rename", "XX", "--name", "x", "--reason", "r", as_="wang",
                    message="unknown unit: XX")


def test_unit_rename_refuses_the_same_name(started: Cli) -> None:
    started.refused("unit", "rename", "JS01", "--name", "幸福社区", "--reason", "r",
                    as_="wang", message="unit JS01 is already named '幸福社区'")


def test_unit_rename_refuses_an_empty_reason(started: Cli) -> None:
    started.refused("unit", "rename", "JS01", "--name", "新", "--reason", "", as_="wang",
                    message="reason must not be empty (got '')")


def test_unit_retire_refuses_a_retired_unit(started: Cli) -> None:
    started.ok("unit", "retire", "JS01", "--reason", "撤并", as_="wang")
    started.refused("unit", "retire", "JS01", "--reason", "撤并", as_="wang",
                    message="unit JS01 is already retired")


def test_unit_retire_refuses_a_unit_member(started: Cli) -> None:
    started.refused("unit", "retire", "JS01", "--reason", "撤并", as_="zhao",
                    message="zhao (unit) may not manage the registries: that is for admin")


def test_unit_list_refuses_an_unknown_format(started: Cli) -> None:
    started.usage_refused("unit", "list", "--format", "xml",
                          message="Invalid value for '--format': 'xml' is not one of "
                                  "'table', 'csv', 'json'.")


def test_a_retired_unit_gets_no_new_members(started: Cli) -> None:
    started.ok("unit", "retire", "JS01", "--reason", "撤并", as_="wang")
    started.refused("person", "add", "qian", "--name", "钱", "--role", "unit", "--unit",
                    "JS01", as_="wang", message="unit JS01 is retired")


# --- people ----------------------------------------------------------------------------


def test_people_are_registered_retired_and_listed(started: Cli) -> None:
    assert started.ok("person", "add", "zhou", "--name", "周督查", "--role", "inspector",
                      as_="wang") == "person zhou 周督查 registered as inspector\n"
    assert started.ok("person", "add", "qian", "--name", "钱社区", "--role", "unit",
                      "--unit", "JS01", as_="wang") == \
        "person qian 钱社区 registered as unit of JS01\n"
    assert started.ok("person", "retire", "zhou", "--reason", "调离", as_="wang") == \
        "person zhou retired\n"
    assert started.ok("person", "list").splitlines()[0].split() == \
        ["ID", "Name", "Role", "Unit", "Account", "Retired"]
    assert started.ok("person", "list", "--format", "csv") == (
        "id,name,role,unit,accounts,retired\n"
        "li,李督查,inspector,,,no\n"
        "qian,钱社区,unit,JS01,,no\n"
        "sun,孙审计,auditor,,,no\n"
        f"wang,王主任,admin,,{started.store.ledger.account},no\n"
        "zhao,赵社区,unit,JS01,,no\n"
        "zhou,周督查,inspector,,,yes\n")
    listed = json.loads(started.ok("person", "list", "--format", "json"))
    assert listed[0] == {"id": "li", "name": "李督查", "role": "inspector", "unit": None,
                         "accounts": "", "retired": False}


def test_person_add_refuses_a_unit_member_without_a_unit(started: Cli) -> None:
    started.refused("person", "add", "qian", "--name", "钱", "--role", "unit", as_="wang",
                    message="a unit member needs a unit (person qian)")


def test_person_add_refuses_an_unknown_unit(started: Cli) -> None:
    started.refused("person", "add", "qian", "--name", "钱", "--role", "unit", "--unit",
                    "JS99", as_="wang", message="unknown unit: JS99")


def test_person_add_refuses_an_inspector_with_a_unit(started: Cli) -> None:
    started.refused("person", "add", "zhou", "--name", "周", "--role", "inspector",
                    "--unit", "JS01", as_="wang",
                    message="only unit members belong to a unit: zhou is inspector, "
                            "unit JS01 given")


def test_person_add_refuses_an_existing_person(started: Cli) -> None:
    started.refused("person", "add", "li", "--name", "李", "--role", "inspector", as_="wang",
                    message="person li already exists")


def test_person_add_refuses_an_empty_name(started: Cli) -> None:
    started.refused("person", "add", "zhou", "--name", " ", "--role", "inspector",
                    as_="wang", message="person name must not be empty (got ' ')")


def test_an_inspector_may_not_register_people(started: Cli) -> None:
    started.refused("person", "add", "zhou", "--name", "周", "--role", "inspector",
                    as_="li",
                    message="li (inspector) may not manage the registries: that is for admin")


def test_person_add_refuses_an_unknown_role(started: Cli) -> None:
    started.usage_refused("person", "add", "x", "--name", "x", "--role", "mayor", as_="wang",
                          message="Invalid value for '--role': 'mayor' is not one of "
                                  "'admin', 'inspector', 'unit', 'auditor', 'clerk'.")


def test_person_retire_refuses_an_unknown_person(started: Cli) -> None:
    started.refused("person", "retire", "nobody", "--reason", "x", as_="wang",
                    message="unknown person: nobody")


def test_person_retire_refuses_a_retired_person(started: Cli) -> None:
    started.ok("person", "retire", "li", "--reason", "调离", as_="wang")
    started.refused("person", "retire", "li", "--reason", "调离", as_="wang",
                    message="person li is already retired")


def test_a_retired_person_may_no_longer_act(started: Cli) -> None:
    started.ok("person", "retire", "li", "--reason", "调离", as_="wang")
    started.refused("inspect", "JS01", as_="li", message="person li is retired and may not act")


def test_person_list_refuses_an_unknown_format(started: Cli) -> None:
    started.usage_refused("person", "list", "--format", "xml",
                          message="Invalid value for '--format': 'xml' is not one of "
                                  "'table', 'csv', 'json'.")


def test_names_are_echoed_as_recorded(started: Cli) -> None:
    assert started.ok("campaign", "add-category", " 公益广告 ", as_="wang") == \
        "category 公益广告 added\n"
    assert started.ok("unit", "rename", "JS01", "--name", " 幸福里社区 ", "--reason", "更名",
                      as_="wang") == "unit JS01 renamed 幸福里社区\n"
