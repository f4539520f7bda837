"""The units an import names: found by exact name (then by a code a person gave), or given
a code of their own that never collides with another name's.

A unit is matched by its exact name first; a value that is not a name is matched as a
unit's code only when a person chose that code (a code the importer generated from a name
is never matched, so that another name cannot land on it). A new unit's code depends on its
name alone, and on which other names already hold the plain form of it: the name itself
where it is a valid code, its Latin letters and digits joined by '-' (a digest of the name
appended where the slug is cut to fit, or another name already holds it), else ``U-`` and
a digest. The same rows give the same codes whatever the batch size.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping as Lookup
from functools import lru_cache

from domain.registry import CODE_PATTERN, Unit
from ledger.importer.row import RowError

CODE_LENGTH = 40
DIGEST = 10  # hex digits of the name's sha256 that set a colliding name's code apart


def _digest(name: str, length: int = DIGEST) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:length].upper()


@lru_cache(maxsize=4096)
def candidate_codes(name: str) -> tuple[str, ...]:
    """The codes a new unit of this name may get, in order of preference."""
    plain = [name] if CODE_PATTERN.match(name) else []
    slug = "-".join(re.findall(r"[A-Za-z0-9]+", name))
    suffixed = f"{slug[:CODE_LENGTH - DIGEST - 1]}-{_digest(name)}" if slug else ""
    if slug and name.isascii():
        if len(slug) <= CODE_LENGTH:
            plain.append(slug)
        plain.append(suffixed)
    plain += [f"U-{_digest(name)}", f"U-{_digest(name, 20)}"]
    return tuple(dict.fromkeys(plain))


def unit_code_for(name: str) -> str:
    """The code a new unit of this name gets when no other name holds it."""
    return candidate_codes(name)[0]


def generated(code: str, name: str) -> bool:
    """Whether ``code`` is one the importer makes from ``name`` (not the name itself)."""
    return code != name and code in candidate_codes(name)


class UnitBook:
    """The units known to an import: the store's, and those it registers as it goes
    (``pending``: a batch's, not yet saved)."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.names: dict[str, list[str]] = {}

    def know(self, code: str, unit: Unit) -> None:
        old = self.units.get(code)
        if old is not None and old.name != unit.name and code in self.names.get(old.name, []):
            self.names[old.name].remove(code)
        self.units[code] = unit
        codes = self.names.setdefault(unit.name, [])
        if code not in codes:
            codes.append(code)

    def _unit(self, code: str, pending: Lookup[str, Unit]) -> Unit | None:
        return pending.get(code) or self.units.get(code)

    def find(self, value: str, column: str, pending: Lookup[str, Unit],
             refusing: bool = False) -> str:
        """The code of the unit named ``value``: by exact name, else by a code a person
        gave. Unknown, ambiguous and retired units are refused naming the column."""
        codes = list(self.names.get(value, []))
        codes += [c for c, u in pending.items() if u.name == value and c not in codes]
        if len(codes) > 1:
            raise RowError("{column} {value!r} 是多个单位的名称：{codes}", column=column,
                           value=value, kind="ambiguous unit", codes=", ".join(codes))
        if not codes:
            unit = self._unit(value, pending)
            if unit is None or generated(value, unit.name):
                if refusing:
                    raise RowError("{column} {value!r} 既不是单位名称，也不是单位代码"
                                   "（映射文件规定拒收未知单位）",
                                   column=column, value=value, kind="unknown unit")
                raise RowError("{column} {value!r} 既不是单位名称，也不是单位代码",
                               column=column, value=value, kind="unknown unit")
            codes = [value]
        code = codes[0]
        unit = self._unit(code, pending)
        assert unit is not None
        if unit.retired:
            raise RowError("{column} {value!r}：单位 {code} 已撤销", column=column,
                           value=value, kind="retired unit", code=code)
        return code

    def new_code(self, name: str, column: str, pending: Lookup[str, Unit]) -> str:
        """A code for a new unit named ``name`` that no unit of another name holds."""
        for code in candidate_codes(name):
            if self._unit(code, pending) is None:
                return code
        raise RowError("{column} {value!r}：可用于登记它的代码（{codes}）都已被其他单位占用",
                       column=column, value=name, kind="ambiguous unit",
                       codes=", ".join(candidate_codes(name)))
