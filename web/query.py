"""Reading a query string: each value parsed or refused with the field and the value named
(a 400 answer, never a traceback)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo

from domain.base import Refused
from domain.months import MONTH


class BadInput(Refused):
    """A query-string value that cannot be read (answered with 400)."""

    def __init__(self, template: str, /, *, name: str, value: str, **values: object) -> None:
        super().__init__(template, name=name, value=value, **values)
        self.name = name
        self.value = value


class Query:
    """The typed values of one request's query string."""

    def __init__(self, params: Mapping[str, str], zone: tzinfo | None = None) -> None:
        self.params = params
        self.zone = zone

    def text(self, name: str) -> str | None:
        value = (self.params.get(name) or "").strip()
        return value or None

    def choice(self, name: str, choices: Sequence[str], default: str | None = None
               ) -> str | None:
        value = self.text(name)
        if value is None:
            return default
        if value not in choices:
            raise BadInput("{name} 须为以下之一：{choices}，收到 {value!r}", name=name, value=value,
                           choices=", ".join(choices))
        return value

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value is None:
            return False
        if value not in ("1", "on", "true", "yes", "0", "off", "false", "no"):
            raise BadInput("{name} 须为 1 或 0，收到 {value!r}", name=name, value=value)
        return value in ("1", "on", "true", "yes")

    def number(self, name: str, default: int | None, lowest: int = 1,
               highest: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = lowest - 1
        if highest is not None and not lowest <= number <= highest:
            raise BadInput("{name} 须为 {lowest} 到 {highest} 之间的整数，收到 {value!r}",
                           name=name, value=value, lowest=lowest, highest=highest)
        if number < lowest:
            raise BadInput("{name} 须为 {lowest} 或以上的整数，收到 {value!r}", name=name,
                           value=value, lowest=lowest)
        return number

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise BadInput("{name} 须为 YYYY-MM-DD 格式的日期，收到 {value!r}", name=name,
                           value=value) from None

    def moment(self, name: str) -> datetime | None:
        """A date or date-time (ISO 8601); without an offset, in the campaign's zone (as
        the command line reads ``--as-of``)."""
        value = self.text(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadInput("{name} 须为日期或日期时间 YYYY-MM-DD[THH:MM[:SS]]，收到 {value!r}",
                           name=name, value=value) from None
        if moment.tzinfo is None and self.zone is not None:
            moment = moment.replace(tzinfo=self.zone)
        return moment

    def month(self, name: str, default: str | None = None) -> str | None:
        value = self.text(name)
        if value is None:
            return default
        if not MONTH.match(value):
            raise BadInput("{name} 须为 YYYY-MM 格式的月份，收到 {value!r}", name=name, value=value)
        return value
