"""What the tests need from the machine beyond the checkout: a program, a font, the
project's reference data. Where one is missing a test that needs it is skipped, saying what
is missing — but not in CI (``CI=true``, as ``.ci/run`` sets), where everything is meant to
be there: there the test fails, saying so."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
# The project's read-only reference data lies beside the checkout, in ../shared/data (its
# README says what each file is and where it came from).
SHARED_DATA = ROOT.parent / "shared" / "data"


def unavailable(reason: str, remedy: str) -> NoReturn:
    """Skip the test (or the module, at its top) for want of what ``reason`` names; in CI,
    fail it, with ``remedy``: how CI is meant to have it."""
    if IN_CI:
        pytest.fail(f"{reason} — mandatory in CI (CI=true): {remedy}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def shared_data(name: str) -> Path:
    """The path of ``name`` in the project's reference data; skipped (failed in CI) when it
    is not there."""
    path = SHARED_DATA / name
    if not path.is_file():
        unavailable(f"{path} is not here (the project's reference data, beside the checkout "
                    f"in ../shared/data)", "CI's checkout needs ../shared/data beside it")
    return path
