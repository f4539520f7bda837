"""The evaluation and audit pages: the monthly ranking (with revisions and the trend chart),
metrics and their drill-down, bulletins for download, and the audit status with a
verification that runs on the server."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.figures import FIGURES
from domain.months import month_add
from ledger import audit
from ledger.store import Store
from projections import bulletin as bulletins
from projections.evaluation import LEVELS
from projections.metrics import METRICS
from services import audit as auditing
from services import bulletins as bulletin_service
from services import evaluation as evaluating
from services.bootstrap import Services
from web.app import Page, PageError, Server, check_csrf, page
from web.query import Query

# The figures the metrics page shows (those of `taizhang metrics`), each with its drill-down.
METRIC_COLUMNS = ("assigned", "due", "on_time_rate", "rework_rate", "mean_days",
                  "overdue_open", "recurrence_rate", "inspection_coverage",
                  "complaint_response_hours")
BULLETIN_TYPES = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml."
                          "document"}


def _month(p: Page) -> str:
    """The month asked for; by default the last complete month that has tasks (a ledger
    that ended earlier shows its own last month)."""
    default = evaluating.default_month(p.services)
    return p.query.month("month", default)  # type: ignore[return-value]


@page
def ranking(p: Page) -> Response:
    month = _month(p)
    level = p.query.choice("level", LEVELS, "社区")
    parent = p.query.text("parent")
    found = evaluating.ranking(p.services, month, level,  # type: ignore[arg-type]
                               parent).ranking
    rows = [{"placement": pl, "terms": [bulletins.term_text(line, p.server.lang)
                                        for line in pl.lines if line.points],
             "change": bulletins.change_text(pl.placed.rank_change)}
            for pl in found.placements]
    return p.render("ranking.html", ranking=found, rows=rows, month=month, level=level,
                    parent=parent, levels=LEVELS,
                    publication=p.services.evaluations.publication(month),
                    published=evaluating.published_months(p.services),
                    previous=month_add(month, -1), following=month_add(month, 1))


@page
def revisions(p: Page) -> Response:
    month = p.query.month("month")
    if month is None:
        raise PageError(400, "需要月份（YYYY-MM）")
    publication, changes, causes = evaluating.revisions(p.services, month)
    return p.render("revisions.html", month=month, publication=publication,
                    changes=changes, causes=causes)


@page
def trend_chart(p: Page) -> Response:
    month = _month(p)
    trend = evaluating.trend(p.services, month)
    return Response(bulletins.trend_svg(trend, p.server.lang), media_type="image/svg+xml")


@page
def metrics(p: Page) -> Response:
    month = _month(p)
    level = p.query.choice("level", LEVELS)
    unit = p.visible(p.query.text("unit"))
    rows = evaluating.figures(p.services, month, unit, level)
    return p.render("metrics.html", rows=rows, month=month, level=level, unit=unit,
                    levels=LEVELS, columns=METRIC_COLUMNS, figures=FIGURES,
                    shown=bulletins.shown)


@page
def explain(p: Page) -> Response:
    month = _month(p)
    unit = p.query.text("unit")
    if unit is None:
        raise PageError(400, "需要单位")
    p.visible(unit)
    metric = p.query.choice("metric", list(METRICS))
    if metric is None:
        raise PageError(400, "需要指标：{choices} 之一", choices=", ".join(METRICS))
    value, tally, parts = evaluating.explain(p.services, month, unit, metric)
    items = [{"role": role, "item": item, "detail": bulletins.item_detail(item, p.zone)}
             for role, item in parts]
    return p.render("explain.html", month=month, unit=unit, metric=metric,
                    label=FIGURES[metric].label(p.server.lang), value=bulletins.shown(metric, value),
                    tally=tally, items=items)


@page
def bulletin_list(p: Page) -> Response:
    month = _month(p)
    return p.render("bulletins.html", month=month, formats=BULLETIN_TYPES,
                    published=evaluating.published_months(p.services))


@page
def bulletin_file(p: Page) -> Response:
    month = Query(p.request.path_params).month("month")
    fmt = p.request.path_params["fmt"]
    if fmt not in BULLETIN_TYPES:
        raise PageError(404, "没有通报格式 {fmt!r}：只有 {formats}", fmt=fmt,
                        formats=", ".join(BULLETIN_TYPES))
    lang = p.query.choice("lang", ("zh", "en"), p.server.lang)
    body = bulletin_service.document(p.services, month, fmt, lang)  # type: ignore[arg-type]
    return Response(body, media_type=BULLETIN_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="bulletin-{month}.{fmt}"'})


# --- audit ---------------------------------------------------------------------------------

@dataclass
class Run:
    """One verification running (or run) on the server."""

    id: str
    total: int
    done: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def advance(self, count: int) -> None:
        with self.lock:
            self.done += count


def _verify_in_background(server: Server, run: Run) -> None:
    # Its own store (own connections), so that pages are served while it reads the log.
    store = Store(server.url)
    try:
        services = Services(store)
        run.result = auditing.verify(services, auditing.baseline(services),
                                     progress=run.advance).result.as_dict()
    except Exception as e:  # noqa: BLE001 - reported on the page, not lost in a thread
        run.error = str(e).splitlines()[0] if str(e) else type(e).__name__
    finally:
        store.close()


@page
def audit_status(p: Page) -> Response:
    ledger = p.store.ledger
    checkpoints = audit.recorded_checkpoints(ledger)[-5:]
    last = p.server.verifications.get("last")
    return p.render("audit.html", chain_head=audit.head(ledger), checkpoints=checkpoints[::-1],
                    last=last)


async def verify_start(request: Request) -> Response:
    await check_csrf(request)
    server: Server = request.app.state.server
    running = server.verifications.get("last")
    if running is not None and running.result is None and running.error is None:
        return RedirectResponse(f"/audit/verify/{running.id}", status_code=303)
    run = Run(secrets.token_hex(8), server.store.ledger.max_position())
    server.verifications[run.id] = run
    server.verifications["last"] = run
    threading.Thread(target=_verify_in_background, args=(server, run), daemon=True).start()
    return RedirectResponse(f"/audit/verify/{run.id}", status_code=303)


@page
def verify_progress(p: Page) -> Response:
    run = p.server.verifications.get(p.request.path_params["run"])
    if run is None or p.request.path_params["run"] == "last":
        raise PageError(404, "没有这次核验（服务器只保留它启动以来运行的核验）")
    return p.render("verify.html", run=run)


ROUTES = [
    Route("/ranking", ranking),
    Route("/ranking/revisions", revisions),
    Route("/ranking/trend.svg", trend_chart),
    Route("/metrics", metrics),
    Route("/metrics/explain", explain),
    Route("/bulletins", bulletin_list),
    Route("/bulletins/{month}.{fmt}", bulletin_file),
    Route("/audit", audit_status),
    Route("/audit/verify", verify_start, methods=["POST"]),
    Route("/audit/verify/{run}", verify_progress),
]
