"""The one message catalogue (i18n/): every message the program shows is in it, each has
its English, the compiled catalogue is the one the .po says, and the run time reads it
without Babel."""

from __future__ import annotations

import re
import string
import subprocess
import sys

import pytest

pytest.importorskip("babel")

from i18n import LANGS, catalogue  # noqa: E402

CJK_RUN = re.compile(r"[\u3000-\u9fff\uff00-\uffef]+")


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    return {m.id: [where for where, _ in m.locations] for m in catalogue.extract() if m.id}


@pytest.mark.parametrize("lang", catalogue.TRANSLATED)
def test_every_message_in_the_code_is_in_the_catalogue(lang: str,
                                                       extracted: dict[str, list[str]]) -> None:
    known = {m.id for m in catalogue.read(lang) if m.id}
    missing = {m: where for m, where in extracted.items() if m not in known}
    assert not missing, f"run python -m i18n.catalogue and translate: {missing}"
    pot = {m.id for m in catalogue.read_pot() if m.id}
    assert pot == set(extracted), "messages.pot is stale: run python -m i18n.catalogue"


@pytest.mark.parametrize("lang", catalogue.TRANSLATED)
def test_every_message_has_its_translation(lang: str) -> None:
    messages = [m for m in catalogue.read(lang) if m.id]
    assert messages
    untranslated = [m.id for m in messages if not m.string]
    assert not untranslated
    if lang == "en":
        # English, but for what is quoted as it is typed (3个工作日: an input's syntax).
        assert not [m.string for m in messages
                    if any(run not in m.id for run in CJK_RUN.findall(m.string))]


@pytest.mark.parametrize("lang", catalogue.TRANSLATED)
def test_translations_keep_the_placeholders(lang: str) -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}

    wrong = [(m.id, m.string) for m in catalogue.read(lang)
             if m.id and fields(m.id) != fields(m.string)]
    assert not wrong


@pytest.mark.parametrize("lang", catalogue.TRANSLATED)
def test_the_compiled_catalogue_is_the_po(lang: str) -> None:
    assert catalogue.mo_path(lang).read_bytes() == catalogue.compiled(catalogue.read(lang)), \
        "run python -m i18n.catalogue"


def test_the_languages() -> None:
    from i18n import translation

    assert LANGS == ("zh", "en")
    assert translation("zh").gettext("已签收") == "已签收"
    assert translation("en").gettext("已签收") == "acknowledged"
    assert translation("en").gettext("巡查发现") == "inspection"


def test_the_command_line_reads_the_catalogue_without_babel() -> None:
    code = ("import sys, cli, i18n; i18n.use('en'); assert i18n._('已签收') == 'acknowledged'; "
            "assert not [m for m in sys.modules if m.split('.')[0] == 'babel'], 'babel loaded'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_message_is_built_before_it_is_looked_up() -> None:
    """``_(f"…")`` or ``_("…" % x)`` would look up text that is in no catalogue: values go
    in through ``.format`` after the lookup."""
    root = catalogue.ROOT
    built = re.compile(r"\bN?_\(\s*(f[\"']|[\"'][^\"']*[\"']\s*(%|\+))")
    found = [f"{path.relative_to(root)}:{n}"
             for folder in ("commands", "projections", "web", "i18n")
             for path in (root / folder).rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if built.search(line)] + [
        f"cli.py:{n}" for n, line in enumerate(
            (root / "cli.py").read_text(encoding="utf-8").splitlines(), 1)
        if built.search(line)]
    assert found == []


def test_a_language_chosen_within_kept_lasts_as_long_as_the_block() -> None:
    import i18n

    i18n.use("en")
    with i18n.kept():
        i18n.use("zh")
        assert i18n._("已签收") == "已签收"
        with i18n.kept():
            i18n.use(None)  # the environment's (the default here), within the inner block
            assert i18n.language() == i18n.chosen()
        assert i18n.language() == "zh"
    assert i18n._("已签收") == "acknowledged"
    with pytest.raises(KeyError), i18n.kept():  # a command that fails: the same
        i18n.use("zh")
        raise KeyError("refused")
    assert i18n.language() == "en"
