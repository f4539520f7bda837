"""What each event says to a person, in one line, in the language of whoever reads it.

A summary is made as words to be said, not as text: the catalogue's message (Chinese, the
``msgid``) and its values, some of them words themselves (a source, a closure, a role, a kind
of event: :func:`label`, :func:`kind`) or other messages (a deadline); a reader says it in
its language (:func:`said`), from the event as it reads it. Machine fields
(``kind``, the values) stay as they are; only what a person reads is translated."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from i18n import N_, _, labels

# A message: {"t": template, "v": {name: value}}; a value may be a message, a label
# ({"l": Chinese word}), a kind of event ({"k": "Task.Assigned"}) or plain data; a summary is
# a list of messages, said one after the other.
Message = dict[str, Any]


def m(template: str, **values: Any) -> Message:
    """A message of the catalogue (``template``, written ``N_("…")`` where it is declared)
    with its values."""
    return {"t": template, "v": values}


def label(word: str | None, default: str = "") -> dict[str, str] | str:
    """A word of the catalogue (a state, source, closure, role): translated when said."""
    return {"l": word} if word else default


def kind(name: str) -> dict[str, str]:
    """A kind of event (``Task.Assigned``): 交办 / Assigned, when said."""
    return {"k": name}


def number(value: Any) -> str:
    """A quantity as people write it: 12, 12.5 (not 12.0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def said(summary: list[Message], gettext: Callable[[str], str] | None = None) -> str:
    """A summary (its messages) in the language of ``gettext`` (default: the language in
    use)."""
    say = gettext or _
    return "".join(_value(part, say) for part in summary)


def _value(value: Any, say: Callable[[str], str]) -> str:
    if isinstance(value, Mapping):
        if "t" in value:
            values = {name: _value(v, say) for name, v in value["v"].items()}
            return say(value["t"]).format(**values)
        if "l" in value:
            return say(value["l"])
        if "k" in value:
            return labels.kind(value["k"], translate=say)
    if isinstance(value, list):
        return "".join(_value(v, say) for v in value)
    return "" if value is None else str(value)


# The words every summary is made of. --------------------------------------------------------

def deadline(d: Mapping[str, Any]) -> Message:
    """A deadline as recorded: its date, and the rule it was given as ("7个工作日")."""
    if d.get("deadline_rule"):
        return m(N_("期限 {deadline}（{rule}）"), deadline=d["deadline"], rule=d["deadline_rule"])
    return m(N_("期限 {deadline}"), deadline=d["deadline"])


def more(d: Mapping[str, Any]) -> list[Message]:
    """The working days a deadline was moved by, when it was given so."""
    return [m(N_("（再加 {rule}）"), rule=d["deadline_rule"])] if d.get("deadline_rule") else []


def fields(data: Mapping[str, Any], skipped: set[str]) -> str:
    """An event's plain fields, ``name = value``, for an event without words of its own."""
    return ", ".join(f"{k} = {v}" for k, v in data.items()
                     if k not in skipped and isinstance(v, (str, int, float)) and v != "")


def text_of(value: Any) -> Any:
    """A corrected value: ``无`` / ``none`` for none, a list as ``a,b``."""
    if value is None:
        return m(N_("（无）"))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def correction(d: Mapping[str, Any], record: str) -> list[Any]:
    """A correction of one event of a ``record`` kind (``Task``): what changed, from what to
    what."""
    previous = d.get("previous") or {}
    changes: list[Any] = []
    for name, value in d["changes"].items():
        if changes:
            changes.append(", ")
        if name in previous:
            changes.append(m(N_("{field} {before} → {after}"), field=name,
                             before=text_of(previous[name]), after=text_of(value)))
        else:
            changes.append(m(N_("{field} = {value}"), field=name, value=text_of(value)))
    event = d.get("corrects_event")
    if event:
        return [m(N_("更正事件 {number}（{event}）："), number=d["corrects"],
                  event=kind(f"{record}.{event}")), *changes]
    return [m(N_("更正事件 {number}："), number=d["corrects"]), *changes]


WITHDRAWAL = [m(N_("撤回：不再计入"))]
