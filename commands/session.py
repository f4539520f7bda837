"""What one invocation works with, handed to every command."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from domain.base import DomainError
from i18n import _
from ledger import witness
from ledger.app import Ledger
from ledger.chain import Tampered
from ledger.faults import STORE_FAULTS, loaded
from ledger.store import Store

if TYPE_CHECKING:
    from datetime import datetime

    from projections.positions import Outdated
    from projections.read import ReadSide
    from services.bootstrap import Services


class Session:
    """The store URL, the acting person, and the store opened on first use.

    ``claimed`` is what ``--as`` (or TAIZHANG_AS) said, ``on_behalf_of`` the person a proxy
    entry is for; the acting person follows from the account the store authenticated.

    The store must exist unless the command creates one (:meth:`create_if_missing`). On
    opening it, the ledger is checked against what this OS account last saw of it (its
    witness, ``ledger.witness``): a ledger that went back is refused, unless the command
    only inspects (:meth:`inspecting`: it reports the finding itself). At the end, the
    head the command leaves is remembered."""

    def __init__(self, url: str, claimed: str | None,
                 on_behalf_of: str | None = None) -> None:
        self.url = url
        self.claimed = claimed
        self.on_behalf_of = on_behalf_of
        self.creates = False
        self.refuses_going_back = True
        self.seen: witness.Seen | None = None
        self.witness_path: Path | None = None
        self.went_back: Tampered | None = None

    def create_if_missing(self) -> None:
        """This command makes the store when there is none (``init`` and the like)."""
        self.creates = True

    def inspecting(self) -> None:
        """This command reports on the ledger: a witness finding is kept in
        :attr:`went_back` for it to report, not refused."""
        self.refuses_going_back = False

    @cached_property
    def actor(self) -> str:
        """The person this command acts for (asked only by commands that write): the
        account's own person, checked against --as; or the one --on-behalf-of names."""
        from ledger.identity import Accounts

        return Accounts(self.store.ledger).acting_id(self.claimed, self.on_behalf_of)

    @cached_property
    def store(self) -> Store:
        return Store(self.url, create=self.creates, opened=self._witness)

    @cached_property
    def services(self) -> Services:
        """Everything the command works with, built by the composition root on first use
        (``services.bootstrap``)."""
        from services.bootstrap import Services

        return Services(self.store, upgrading=_upgrading)

    @property
    def read(self) -> ReadSide:
        return self.services.read

    def localize(self, moment: datetime | None) -> datetime | None:
        """A moment typed without an offset, in the campaign's time zone (``--at``)."""
        return self.services.localize(moment)

    def _witness(self, ledger: Ledger) -> None:
        identity = ledger.recorder.identity()  # type: ignore[attr-defined]
        if not identity:
            return  # a store made before stores had identities, opened by a role that
            # may not add one: no witness
        path = witness.path_for(identity)
        self.witness_path = path
        self.seen = witness.load(path) if path.exists() else None
        if self.seen is not None:
            self.went_back = witness.went_back(ledger, self.seen, path)
        if self.went_back is not None and self.refuses_going_back:
            raise self.went_back

    def close(self) -> None:
        if "store" in self.__dict__:
            if "ledger" in self.store.__dict__ and self.witness_path is not None \
                    and self.went_back is None:
                try:
                    witness.remember(self.store.ledger, self.store.url.describe(),
                                     self.witness_path, self.seen)
                except (*loaded(*STORE_FAULTS), DomainError):
                    pass  # the command has reported what went wrong with the store
            if "ledger" in self.store.__dict__ and self.store.ledger.written \
                    and self.store.url.kind == "postgresql":  # the warning's only backend
                from ledger.access import privileged_warning

                try:
                    warning = privileged_warning(self.store)
                except loaded(*STORE_FAULTS) as e:  # the store went away
                    said = str(getattr(e, "orig", None) or e).strip().splitlines()
                    warning = _("无法判断写入的是哪种账户：{why}").format(
                        why=said[0] if said else type(e).__name__)
                if warning:
                    click.echo(_("警告：{warning}").format(warning=warning), err=True)
            self.store.close()


@contextlib.contextmanager
def _upgrading(outdated: list[Outdated], facts: int) -> Iterator[Callable[[int], None]]:
    """A read model that another version built is rebuilt when the store is first read:
    one line on stderr says which and why, and a progress bar (on a terminal) follows it."""
    from commands.output import progress

    for stale in outdated:
        click.echo(stale.reason(), err=True)
    with progress(facts, _("正在重建")) as update:
        yield update


pass_session = click.make_pass_decorator(Session)
