"""Reading a refusal in a test as a person reads it: in English (the catalogue's
translation, what ``taizhang --lang en`` prints) or in Chinese (``str()``, the default).

The domain's tests were written against the English wording; they keep checking it, through
the catalogue, so that a message and its translation are both checked: ``refused`` is
``pytest.raises`` matching the English words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import i18n
from domain.base import Refused


def english(error: BaseException) -> str:
    """A refusal's words in English, as the command line says them with ``--lang en``."""
    return i18n.refusal(error, i18n.translation("en").gettext)


@contextmanager
def refused(kind: type[BaseException] = Refused, match: str | None = None
            ) -> Iterator[Any]:
    """Like ``pytest.raises(kind, match=…)``, ``match`` searched in the English words."""
    with pytest.raises(kind) as info:
        yield info
    if match is not None:
        said = english(info.value)
        assert re.search(match, said), f"{match!r} not found in {said!r}"


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Words shown by the read side (``_()``) in ``lang`` meanwhile, as ``--lang`` sets
    them for a command; the default language afterwards."""
    i18n.use(lang)
    try:
        yield
    finally:
        i18n.use(i18n.DEFAULT)
