"""Scoring rules that ship with the program (loaded with importlib.resources)."""

from importlib.resources import files

DEFAULT = "default.toml"


def default_text() -> str:
    """The default scoring rules (每月评比默认评分细则), as TOML text."""
    return files(__name__).joinpath(DEFAULT).read_text(encoding="utf-8")
