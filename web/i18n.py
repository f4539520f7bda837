"""The pages' words: Chinese as written in the templates, English from the one message
catalogue (:mod:`i18n`).

The templates write every label in Chinese inside ``_("…")``; with ``taizhang serve --lang
en`` (or ``taizhang --lang en serve``) ``_`` looks each up in the catalogue's English.
"""

from __future__ import annotations

from collections.abc import Callable

from i18n import LANGS, translation

__all__ = ["LANGS", "translator"]


def translator(lang: str) -> Callable[[str], str]:
    """``_`` for the templates: the text itself in Chinese, its English from the catalogue."""
    return translation(lang).gettext
