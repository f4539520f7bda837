"""The supervision bulletin (督查通报) of a month, built and written in a format: what
``taizhang bulletin`` and the web's bulletin downloads both give."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from projections.bulletin import Bulletin
    from projections.fonts import WordStyle
    from services.bootstrap import Services

FORMATS = ("md", "html", "xlsx", "docx")


def of_month(services: Services, month: str, lang: str) -> Bulletin:
    """A month's bulletin: a published month's from what the publication froze (its
    position and head), any other month's from the ledger as it stands (read again if it
    moved meanwhile)."""
    from projections.bulletin_gather import gather
    from projections.times import local_date

    evaluations, evaluator = services.evaluations, services.evaluator
    campaign = services.ledger.campaign()
    publication = evaluations.publication(month)

    def gather_at(source: Any, position: int, head: str) -> Bulletin:
        return gather(evaluator, source, month, evaluations.rules_for, lang=lang,
                      campaign=campaign.name, position=position, head=head,
                      published_at=local_date(publication["published_at"], services.zone)
                      if publication else None)

    if publication:
        then = services.evaluator_at(position=publication["position"])
        _, found = then.stable(lambda source: gather_at(
            source, publication["position"], publication["head"]))
    else:
        _, found = evaluator.stable(lambda source: gather_at(
            source, evaluator.position(), evaluations.hash_at(evaluator.position())))
    return found


def document(services: Services, month: str, fmt: str, lang: str,
             number: str | None = None, style: WordStyle | None = None) -> str | bytes:
    """A month's bulletin as Markdown or HTML (text), or an Excel workbook or a Word
    document (bytes). ``number``: the Word document's 文号 line (default 〔YEAR〕第N期, the
    campaign's Nth month); ``style``: its fonts."""
    if fmt not in FORMATS:
        raise ValueError(f"no bulletin format {fmt!r}")
    from projections import bulletin

    found = of_month(services, month, lang)
    if fmt == "md":
        return bulletin.markdown(found)
    if fmt == "html":
        return bulletin.to_html(found)
    if fmt == "xlsx":
        from projections.workbook import to_xlsx

        return to_xlsx(found)
    from projections.fonts import WordStyle
    from projections.word import bulletin_docx

    return bulletin_docx(found, number if number is not None else
                         services.evaluations.bulletin_number(month), style or WordStyle())
