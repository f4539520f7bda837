"""The systemd units of a city's services (the follower, the web view): the ones the README
shows, valid for systemd, each running its taizhang command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ci_support import unavailable

ROOT = Path(__file__).resolve().parents[2]
UNITS = {ROOT / "examples" / "systemd" / "taizhang-follow.service": "projections follow",
         ROOT / "examples" / "systemd" / "taizhang-serve.service": "serve"}


def test_the_readme_shows_the_units_shipped_in_examples() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The follower as a service", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```ini\n(.*?)```", section, re.S)
    assert blocks == [unit.read_text(encoding="utf-8") for unit in UNITS]


@pytest.mark.parametrize("unit_file", list(UNITS), ids=lambda path: path.stem)
def test_the_unit_is_valid_for_systemd_and_runs_its_command(unit_file: Path,
                                                            tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze is missing (Debian package systemd)",
                    ".ci/run installs it")
    text = unit_file.read_text(encoding="utf-8")
    command = re.search(r"^ExecStart=(\S+) (.*)$", text, re.M)
    assert command is not None and command.group(2).startswith(UNITS[unit_file] + " ")
    # Checked as installed here: the console script beside this Python.
    taizhang = Path(sys.executable).parent / "taizhang"
    unit = tmp_path / unit_file.name
    unit.write_text(text.replace(command.group(1), str(taizhang)), encoding="utf-8")
    found = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert found.returncode == 0, found.stderr
