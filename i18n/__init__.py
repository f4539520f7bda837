"""The one message catalogue: every word a person reads, in Chinese (the default) or English.

Messages are written in the code in Chinese, marked ``_("…")`` where they are shown, or
``N_("…")`` where they are declared and shown later (column headers, labels); the English is
in ``i18n/locale/en/LC_MESSAGES/messages.po`` (GNU gettext, kept with Babel: see
``python -m i18n.catalogue``). At run time only the standard library's :mod:`gettext`
reads the compiled ``messages.mo``, and only when English is asked for: Chinese needs no
catalogue, its messages are the text itself.

The language is chosen once per command (``taizhang --lang``, ``TAIZHANG_LANG``; see
:func:`use`); the web server keeps its own (:func:`translation`).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

LANGS = ("zh", "en")
DEFAULT = "zh"
ENV = "TAIZHANG_LANG"
LOCALE = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


@cache
def translation(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang``: Chinese is the text itself; English from ``messages.mo``."""
    if lang == DEFAULT:
        return gettext.NullTranslations()
    with open(LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as mo:
        return gettext.GNUTranslations(mo)


def chosen(lang: str | None = None) -> str:
    """The language asked for: ``lang``, else ``TAIZHANG_LANG``, else Chinese."""
    lang = lang or os.environ.get(ENV) or DEFAULT
    if lang not in LANGS:
        raise ValueError(f"{ENV} must be one of {', '.join(LANGS)}, got {lang!r}")
    return lang


_current: list[str | None] = [None]


def use(lang: str | None) -> None:
    """Speak ``lang`` from now on (the command line sets it once per command); ``None``:
    the environment's again, until a language is chosen."""
    _current[0] = chosen(lang) if lang is not None else None


@contextmanager
def kept() -> Iterator[None]:
    """The language :func:`use` set before this block, set again after it, whatever the
    block chose: a command's ``--lang`` lasts as long as the command (``cli.py``), not for
    what runs after it in the same process (a program embedding the command line, tests)."""
    before = _current[0]
    try:
        yield
    finally:
        _current[0] = before


# The language of what is being answered now, where it is not the process's: a web page in
# the server's language (``serve --lang``), whatever the process speaks (:func:`speaking`).
_speaking: ContextVar[str | None] = ContextVar("taizhang_language", default=None)


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak ``lang`` within this block, in this context only (a request's thread and
    task), whatever the process speaks."""
    token = _speaking.set(chosen(lang))
    try:
        yield
    finally:
        _speaking.reset(token)


def language() -> str:
    """The language in use: the answer's (:func:`speaking`), else what :func:`use` set,
    else the environment's, else Chinese."""
    answering = _speaking.get()
    if answering is not None:
        return answering
    if _current[0] is None:
        try:
            return chosen()
        except ValueError:  # the command line refuses it, in Chinese
            return DEFAULT
    return _current[0]


def _(message: str) -> str:
    """``message`` (Chinese, as written in the code) in the language in use."""
    lang = language()
    if lang == DEFAULT:
        return message
    return translation(lang).gettext(message)


def N_(message: str) -> str:
    """Marks a message to be translated where it is shown (``_(value)``), not here."""
    return message


def refusal(error: BaseException, gettext: Any = None) -> str:
    """A refusal's words in the language in use (or ``gettext``'s): its message and the
    values that are words themselves (``domain.base.Label``) translated, a refusal given
    as a value (a row's reason within the import's) rendered the same way, the rest as they
    are. An error that is not structured (``domain.base.Said``) says what it says."""
    template, values = getattr(error, "template", None), getattr(error, "values", None)
    if template is None or values is None:
        return str(error)
    said = gettext or _
    from domain.base import Label, Said

    def word(value: Any) -> Any:  # a Label translated; a refusal within a refusal rendered
        return said(value) if isinstance(value, Label) else \
            refusal(value, gettext) if isinstance(value, Said) else value

    return said(template).format(**{name: word(value) for name, value in values.items()}) \
        if values else said(template)


__all__ = ["LANGS", "DEFAULT", "ENV", "N_", "_", "chosen", "kept", "language", "refusal",
           "speaking", "translation", "use"]
