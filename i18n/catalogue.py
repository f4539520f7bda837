"""Keeping the catalogue (tooling, never imported at run time): Babel extracts every
``_("…")``/``N_("…")`` message of the code and templates, and the domain's Chinese names of
states, sources and closures, into ``messages.pot``; merges it into each language's
``messages.po`` (keeping the translations); and compiles ``messages.mo``.

    python -m i18n.catalogue          # extract, update the .po files, compile the .mo files

Then fill in every empty ``msgstr`` of ``locale/en/LC_MESSAGES/messages.po`` and run it
again; tests/tier2_ledger/test_i18n.py fails while a message has no translation or a compiled catalogue
does not match its ``.po``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from i18n import DOMAIN, LANGS, LOCALE, DEFAULT

ROOT = LOCALE.parent.parent
# Refusals (domain.base.Said and its kinds) carry their message as the first argument.
REFUSALS = ("Said", "DomainError", "NotFound", "Refused", "Tampered", "AuditError",
            "Conflict", "UnknownYear", "NoCJKFont", "BadInput", "StoreURLError",
            "SettingError", "RowError")
# A page's error (web.app.PageError) carries its HTTP status first, then its message.
KEYWORDS = {"_": None, "N_": None, **{name: None for name in REFUSALS}, "PageError": (2,)}
# Where messages are shown or refusals raised: the command line, the domain, the write
# side, the services, the read side's words, the web pages.
METHODS = [
    ("cli.py", "python"), ("commands/**.py", "python"), ("projections/**.py", "python"),
    ("domain/**.py", "python"), ("ledger/**.py", "python"), ("services/**.py", "python"),
    ("i18n/**.py", "python"), ("web/**.py", "python"), ("web/templates/**.html", "jinja2"),
]
# Fixed, so that the files change only when a message does.
STAMP = datetime(2026, 12, 7, tzinfo=timezone.utc)
TRANSLATED = [lang for lang in LANGS if lang != DEFAULT]  # Chinese is the text itself


def _domain_names() -> list[tuple[str, str]]:
    """The Chinese names the domain declares (it may not import the catalogue), and the
    levels of the ranking, which are its data: (message, where)."""
    from domain.task_fields import CLOSURES, SOURCES
    from domain.task_states import STATE_LABELS
    from projections.evaluation import LEVELS

    return ([(name, "domain/task_states.py") for name in STATE_LABELS.values()]
            + [(name, "domain/task_fields.py") for table in (SOURCES, CLOSURES)
               for name in table.values()]
            + [(level, "projections/evaluation.py") for level in LEVELS])


def _help_texts() -> list[tuple[str, str]]:
    """The command line's help, written in Chinese where click reads it (a command's
    docstring or ``help=``, an option's ``help=``, ``cli.COMMANDS``), which no ``_()``
    marks: (message, where), from a walk of the whole command tree."""
    import inspect

    import click

    import cli

    def where(command: click.Command) -> str:
        module = getattr(command.callback, "__module__", "cli") or "cli"
        return module.replace(".", "/") + ".py"

    def walk(group: click.Group) -> list[click.Command]:
        ctx = click.Context(group)
        found = []
        for name in sorted(group.list_commands(ctx)):
            command = group.get_command(ctx, name)
            if command is not None:
                found.append(command)
                if isinstance(command, click.Group):
                    found += walk(command)
        return found

    texts = [(short, "cli.py") for _, short in cli.COMMANDS.values()]
    for command in [cli.main, *walk(cli.main)]:
        texts += [(inspect.cleandoc(text), where(command))
                  for text in (command.help, command.short_help, command.epilog) if text]
        texts += [(param.help, where(command)) for param in command.params
                  if isinstance(param, click.Option) and param.help]
    return texts


def extract() -> Catalog:
    """Every message the program shows, with where it is written."""
    pot = Catalog(project="taizhang", locale=DEFAULT, fuzzy=False, creation_date=STAMP,
                  revision_date=STAMP)
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHODS, keywords=KEYWORDS,
            options_map={"web/templates/**.html": {"trimmed": "false"}}):
        if isinstance(message, tuple):  # plural forms are not used
            message = message[0]
        if message:
            pot.add(message, locations=[(filename, lineno)])
    for message, where in _domain_names() + _help_texts():
        pot.add(message, locations=[(where, 0)])
    return pot


def po_path(lang: str, domain: str = DOMAIN) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"


def mo_path(lang: str, domain: str = DOMAIN) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{domain}.mo"


def read(lang: str, domain: str = DOMAIN) -> Catalog:
    with open(po_path(lang, domain), "rb") as f:
        return read_po(f, locale=lang)


def read_pot() -> Catalog:
    with open(LOCALE / f"{DOMAIN}.pot", "rb") as f:
        return read_po(f)


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _write_po(path: Path, catalog: Catalog) -> None:
    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=False, sort_output=True,
             include_lineno=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


# click's own words (usage errors, "Usage:", "Options:"), English in click: a catalogue of
# their own, for Chinese (commands/help.py hands it to click).
CLICK = "click"
CLICK_LANGS = [lang for lang in LANGS if lang != "en"]
# Words click looks up by a variable's value (``_(extra["required"])``), which no extraction
# sees.
CLICK_LOOKED_UP = ("required",)


def extract_click() -> Catalog:
    """Every message of the installed click, as click's ``gettext``/``ngettext`` calls name
    them (plural forms too)."""
    import click

    pot = Catalog(project="click", locale="en", fuzzy=False, creation_date=STAMP,
                  revision_date=STAMP)
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(Path(click.__file__).parent), method_map=[("**.py", "python")],
            keywords={"_": None, "ngettext": (1, 2)}):
        if message:
            pot.add(message, locations=[(f"click/{filename}", lineno)])
    for message in CLICK_LOOKED_UP:
        pot.add(message, locations=[("click/core.py", 0)])
    return pot


def _untranslated(catalog: Catalog) -> list[str]:
    return [str(m.id) for m in catalog if m.id and not (
        all(m.string) if isinstance(m.string, (tuple, list)) else m.string)]


def merge(pot: Catalog, domain: str, langs: Iterable[str], project: str) -> None:
    """Write ``pot`` as the domain's template, merge it into each language's ``.po``
    (keeping the translations, dropping what the code no longer says) and compile it."""
    _write_po(LOCALE / f"{domain}.pot", pot)
    for lang in langs:
        path = po_path(lang, domain)
        catalog = read(lang, domain) if path.exists() else Catalog(
            locale=lang, project=project, creation_date=STAMP, revision_date=STAMP)
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.revision_date = STAMP
        _write_po(path, catalog)
        kept = read(lang, domain)
        mo_path(lang, domain).write_bytes(compiled(kept))
        named = lang if domain == DOMAIN else f"{lang} ({domain})"
        print(f"{named}: {len(pot)} messages, {len(_untranslated(kept))} without a "
              "translation")


def main() -> None:
    merge(extract(), DOMAIN, TRANSLATED, "taizhang")
    merge(extract_click(), CLICK, CLICK_LANGS, "click")


if __name__ == "__main__":
    main()
