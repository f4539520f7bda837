"""Open311 GeoReport v2, read side: services (the campaign's categories) and service requests
(the tasks), in the specification's field names, as JSON.

A task is ``open`` until it is verified (整改到位) or closed (销号), then ``closed``; its
state in words is the ``status_notes``. ``requested_datetime`` is when it was assigned,
``updated_datetime`` its last action, ``expected_datetime`` the end of its deadline day.
The endpoints answer to a logged-in browser's session or to the server's API key
(``api_key=``, printed when the server starts), the way the specification's clients send it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from domain.task_fields import SOURCES
from domain.task_states import CLOSED, STATE_LABELS, STATES, VERIFIED
from projections.times import for_machines
from web.access import COOKIE
from web.app import Server
from web.query import BadInput, Query

CLOSED_STATES = (VERIFIED, CLOSED)
OPEN_STATES = tuple(s for s in STATES if s not in CLOSED_STATES)
PAGE_SIZE = 1000  # the specification's usual most per answer


@dataclass
class View:
    """The store and read side (a snapshot of its own) a request reads, and the units it
    may see (None: all)."""

    store: Any
    read: Any
    scope: list[str] | None


def endpoint(handler: Callable[[Request, View, Query], Any]) -> Callable[[Request], Response]:
    """A GeoReport JSON endpoint: a session or the API key; a snapshot of its own."""

    @functools.wraps(handler)
    def wrapped(request: Request) -> Response:
        server: Server = request.app.state.server
        session = server.gate.session(request.cookies.get(COOKIE))
        if session is None and (server.by_password
                                or not server.gate.key_ok(request.query_params.get("api_key"))):
            raise HTTPException(401, "api_key missing or wrong (or log in first)")
        login = session is not None and session.store is not None
        with server.reader_of(session).snapshot() as snapshot:
            view = View(session.store, snapshot, session.scope) if login else \
                View(server.store, snapshot, None)  # type: ignore[union-attr]
            query = Query(request.query_params, view.store.ledger.zone())
            return JSONResponse(handler(request, view, query))

    return wrapped


@endpoint
def services(request: Request, server: View, query: Query) -> list[dict[str, Any]]:
    return [{"service_code": category, "service_name": category,
             "description": f"{category}（文明创建问题类别）", "metadata": False,
             "type": "realtime", "keywords": "", "group": ""}
            for category in server.store.ledger.campaign().categories]


def _statuses(query: Query) -> list[str] | None:
    text = query.text("status")
    if text is None:
        return None
    wanted = [s.strip() for s in text.split(",")]
    if not all(s in ("open", "closed") for s in wanted):
        raise BadInput("{name} 须为 open、closed 或 open,closed，收到 {value!r}", name="status",
                       value=text)
    return [s for w in wanted for s in (OPEN_STATES if w == "open" else CLOSED_STATES)]


def _as_request(row: dict[str, Any], names: dict[str, str], zone: Any) -> dict[str, Any]:
    deadline_end = datetime.combine(datetime.fromisoformat(row["deadline"]).date(),
                                    time(23, 59, 59), zone)
    closed = row["state"] in CLOSED_STATES
    return {
        "service_request_id": row["task"],
        "status": "closed" if closed else "open",
        "status_notes": STATE_LABELS[row["state"]]
        + (f"（{row['closure']}）" if row.get("closure") else ""),
        "service_name": row["category"], "service_code": row["category"],
        "description": row["description"],
        "agency_responsible": f"{row['unit']} {names.get(row['unit'], '')}".strip(),
        "service_notice": SOURCES.get(row["source"], row["source"]),
        "requested_datetime": _w3c(row["assigned_at"], zone),
        "updated_datetime": _w3c(row["last_action_at"], zone),
        "expected_datetime": deadline_end.isoformat(),
        "address": row["location"], "address_id": "", "zipcode": "",
        "lat": row.get("latitude"), "long": row.get("longitude"), "media_url": "",
    }


def _w3c(iso: str, zone: Any) -> str:
    return for_machines(iso, zone)  # type: ignore[return-value]


@endpoint
def requests_(request: Request, server: View, query: Query) -> list[dict[str, Any]]:
    start, end = query.moment("start_date"), query.moment("end_date")
    if start and end and start > end:
        raise BadInput("{name} 须晚于 start_date，收到 {value!r}", name="end_date",
                       value=query.text("end_date") or "")
    ids = query.text("service_request_id")
    page_size = query.number("page_size", PAGE_SIZE, highest=PAGE_SIZE)
    page = query.number("page", 1)
    filters = {"category": query.text("service_code"), "states": _statuses(query),
               "assigned_from": start, "assigned_to": end,
               "unit": server.scope[0] if server.scope else None}
    zone = server.store.ledger.zone()
    names = {u["code"]: u["name"] for u in server.read.units()}
    if ids is not None:
        named = [t.strip().upper() for t in ids.split(",") if t.strip()]
        return [_as_request(r, names, zone) for r in server.read.board(**filters, task_ids=named)]
    total = server.read.board_count(**filters)
    if page > 1 and (page - 1) * page_size >= total:
        raise HTTPException(404, f"page {page} is past the last page "
                            f"({max(1, -(-total // page_size))} of {page_size} requests)")
    rows = server.read.board(**filters, sort="assigned", limit=page_size,
                             offset=(page - 1) * page_size)
    return [_as_request(r, names, zone) for r in rows]


@endpoint
def one_request(request: Request, server: View, query: Query) -> list[dict[str, Any]]:
    task_id = request.path_params["id"].strip().upper()
    rows = server.read.board(task_ids=[task_id],
                             unit=server.scope[0] if server.scope else None)
    if not rows:
        raise HTTPException(404, f"unknown service request: {task_id}")
    names = {u["code"]: u["name"] for u in server.read.units()}
    return [_as_request(rows[0], names, server.store.ledger.zone())]


ROUTES = [
    Route("/open311/v2/services.json", services),
    Route("/open311/v2/requests.json", requests_),
    Route("/open311/v2/requests/{id}.json", one_request),
]
