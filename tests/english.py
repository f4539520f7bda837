"""A refusal's words in English (the catalogue's msgstr), for tests that check its wording
whatever language it is written in: ``english(error)``."""

from __future__ import annotations

from i18n import refusal, translation


def english(error: BaseException) -> str:
    return refusal(error, translation("en").gettext)
