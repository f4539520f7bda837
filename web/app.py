"""The web application: one store's read side as pages and as Open311 JSON.

`create_app` builds a Starlette application over a `Server` (the store, the read side and
the login gate). Every page is a plain function of the request run by Starlette in its
thread pool, many at once; `page` wraps it with what every page needs — a live session, a
snapshot of the read models of its own (``web/snapshot.py``: one read transaction, taken
current; no request waits for another), the campaign's zone — and the exception handlers
turn refusals into error pages (or JSON for /open311) with the right status, never a
traceback.
"""

from __future__ import annotations

import functools
import secrets
import logging
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlunsplit

import sqlalchemy.exc  # noqa: F401 (loaded: its errors are store faults, STORE_FAULTS)
from markupsafe import Markup, escape
import eventsourcing.persistence  # noqa: F401 (loaded: the same)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from domain.base import DomainError, NotFound, Said
from domain.roles import UNIT
from domain.task_states import STATE_LABELS
from ledger.identity import Accounts
from ledger.app import utc_now
from ledger.faults import STORE_FAULTS, loaded
from ledger.store import Store
from projections.overlay import may_write
from projections.positions import POSITIONS
from projections.read import ReadSide
from projections.times import for_people, local_date
from services.bootstrap import Services
from web.access import COOKIE, Gate, Session, csrf_ok
import i18n
from i18n import N_, labels, refusal
from web.i18n import translator
from web.query import Query
from web.snapshot import Reader, Snapshot

HERE = Path(__file__).parent
LOG = logging.getLogger("taizhang.web")
templates = Jinja2Templates(directory=str(HERE / "templates"))


class Server:
    """What the pages share: the store, its read side (the one that folds the log into the
    read models, one catch-up at a time), the gate."""

    def __init__(self, url: str, gate: Gate,
                 clock: Callable[[], datetime] = utc_now, lang: str = "zh") -> None:
        self.url = url
        self.lang = lang
        self._ = translator(lang)
        # An event's kind in the pages' language: 交办 / Assigned.
        self.kind = functools.partial(labels.kind, translate=self._)
        self.store = Store(url, clock=clock)
        self.gate = gate
        self.services = Services(self.store)
        self.read = self.services.read
        # On PostgreSQL each person logs in with their own role and password.
        self.by_password = self.store.url.kind == "postgresql" and gate.announce is None
        self.reader = Reader(self.read)
        self.verifications: dict[str, Any] = {}

    def reader_of(self, session: Session | None) -> Reader:
        """What takes a request's snapshot: a PostgreSQL login's own, else the server's."""
        if session is not None and session.reader is not None:
            return session.reader  # type: ignore[no-any-return]
        return self.reader

    @cached_property
    def folds(self) -> bool:
        """Whether the server's own account may write the read models (on PostgreSQL, the
        owner's or the projector's): then it is the one writer that brings them up to date
        for every login."""
        return may_write(self.store, POSITIONS.name)

    def login_catch_up(self, own: ReadSide) -> Callable[[], None]:
        """How a login's snapshots are taken current: by the server's one writer if it may
        write the read models, else by the login's own read side (a private copy)."""
        def catch_up() -> None:
            if self.folds:
                self.reader.catch_up()
            else:
                own.current()
                # A page quotes the head it was computed at. The server's catch-up commits
                # the read models synchronously after the events it folded, so they are on
                # disk; a private copy is not the ledger's database, so the events it
                # folded are waited for (docs/durability.md).
                own.store.ledger.recorder.wait_durable()
        return catch_up


class Page:
    """What a page handler gets: the request, its session, the server, the query."""

    def __init__(self, request: Request, server: Server, session: Session,
                 snapshot: Snapshot) -> None:
        self.request = request
        self.server = server
        self.session = session
        self.store: Store = session.store or server.store
        # The read models as this request's read transaction sees them.
        self.read: ReadSide = snapshot
        self.snapshot = snapshot
        self.services = Services(self.store, self.read)
        self.zone = self.services.zone
        self.query = Query(request.query_params, self.zone)

    def visible(self, unit: str | None) -> str | None:
        """The unit a query is about: the one asked for, which must be within what the
        session may see; by default, for a unit's people, their own unit."""
        scope = self.session.scope
        if scope is None:
            return unit
        if unit is None:
            return scope[0]
        if unit not in scope:
            raise PageError(403, "{who} 可以查看单位 {own} 及其下属单位，不能查看 {unit}",
                            who=self.session.who, own=scope[0], unit=unit)
        return unit

    def local(self, iso: str | None, seconds: bool = False) -> str:
        return for_people(iso, self.zone, seconds)

    def day(self, iso: str) -> str:
        """The local date of a moment, in the campaign's zone."""
        return local_date(iso, self.zone)

    def url(self, path: str, **params: Any) -> str:
        """A path with the query parameters given (those None or empty left out)."""
        kept = {k: v for k, v in params.items() if v not in (None, "", False)}
        return path + ("?" + urlencode(kept) if kept else "")

    def unit_options(self, selected: str | None) -> Markup:
        """The units as a form's choices, the one given selected (made here, not in the
        template, and kept while the units stay the same: a city has hundreds)."""
        html = _options(tuple((u["code"], u["name"]) for u in self.read.units()))
        if selected:
            mark = f'<option value="{escape(selected)}">'
            html = html.replace(mark, mark[:-1] + " selected>", 1)
        return Markup(html)

    def render(self, name: str, status_code: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(self.request, name, {
            "p": self, "who": self.session.who, "csrf": self.session.csrf,
            "lang": self.server.lang, "_": self.server._,
            "position": self.snapshot.position, "head": self.snapshot.hash,
            "state_labels": STATE_LABELS,
            "kind": self.server.kind, **context},
            status_code=status_code)


@functools.lru_cache(maxsize=16)
def _options(units: tuple[tuple[str, str], ...]) -> str:
    return "".join(f'<option value="{escape(code)}">{escape(code)} {escape(name)}</option>'
                   for code, name in units)


def page(handler: Callable[[Page], Response]) -> Callable[[Request], Response]:
    """A page that needs a live session, computed from a snapshot of its own."""

    @functools.wraps(handler)
    def endpoint(request: Request) -> Response:
        server: Server = request.app.state.server
        session = current_session(request)
        with server.reader_of(session).snapshot() as snapshot:
            return handler(Page(request, server, session, snapshot))

    return endpoint


def current_session(request: Request) -> Session:
    server: Server = request.app.state.server
    sid = request.cookies.get(COOKIE)
    session = server.gate.session(sid)
    if session is None:
        raise HTTPException(401, N_("登录已过期或会话无效：请用服务器控制台上的登录链接重新登录。")
                            if sid else N_("请先用服务器控制台上打印的登录链接登录。"))
    return session


async def check_csrf(request: Request) -> Session:
    """A posted form's session and CSRF token (403 when the token is missing or wrong)."""
    session = current_session(request)
    form = await request.form()
    if not csrf_ok(session, str(form.get("csrf") or "")):
        raise HTTPException(403, N_("表单的 CSRF 令牌缺失或不符：请刷新页面后重试。"))
    return session


# --- login and logout ------------------------------------------------------------------

LOGIN_CSRF = "taizhang_login"


def login(request: Request) -> Response:
    server: Server = request.app.state.server
    if server.by_password:
        return login_form(request, server)
    session = server.gate.login(request.query_params.get("token", ""))
    if session is None:
        raise HTTPException(401, N_("登录链接无效或已使用：每个链接只能使用一次，"
                               "请使用服务器控制台上打印的最新链接。"))
    return _signed_in(server, session)


def _signed_in(server: Server, session: Session) -> Response:
    response = RedirectResponse("/board", status_code=303)
    response.set_cookie(COOKIE, session.id, max_age=int(server.gate.lifetime),
                        httponly=True, samesite="lax")
    response.delete_cookie(LOGIN_CSRF)
    return response


def login_form(request: Request, server: Server, status: int = 200,
               message: str = "") -> Response:
    """The PostgreSQL login: role and password, with a CSRF token (double-submitted: in the
    form and in a cookie, as there is no session yet)."""
    token = request.cookies.get(LOGIN_CSRF) or secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, "login.html", {
        "csrf": token, "message": message, "lang": server.lang, "_": server._},
        status_code=status)
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict")
    return response


async def login_post(request: Request) -> Response:
    server: Server = request.app.state.server
    if not server.by_password:
        raise PageError(405, "本服务器用其控制台上打印的登录链接登录")
    form = await request.form()
    sent, kept = str(form.get("csrf") or ""), request.cookies.get(LOGIN_CSRF) or ""
    if not (sent and kept and secrets.compare_digest(sent, kept)):
        raise HTTPException(403, N_("表单的 CSRF 令牌缺失或不符：请刷新页面后重试。"))
    role, password = str(form.get("role") or "").strip(), str(form.get("password") or "")
    if not role:
        return login_form(request, server, 400, server._("需要登录角色"))
    session = await run_in_threadpool(authenticate, server, role, password)
    if isinstance(session, Said):
        return login_form(request, server, 401, refusal(session, server._))
    return _signed_in(server, session)


def authenticate(server: Server, role: str, password: str) -> Session | Said:
    """Open the store as this role (PostgreSQL checks the password; taizhang stores none)
    and find the person the login is bound to: a session, or why not."""
    url = server.store.url
    store = Store(urlunsplit(("postgresql", f"{quote(role, safe='')}:"
                              f"{quote(password, safe='')}@{url.host}:{url.port}",
                              f"/{url.database}", f"schema={url.schema}", "")))
    import psycopg  # noqa: F401 (a login is PostgreSQL's: its driver's errors are the store's)

    try:
        me = Accounts(store.ledger).whoami()
    except (*loaded(*STORE_FAULTS), DomainError) as e:
        store.close()
        said = str(getattr(e, "orig", None) or e).strip().splitlines()
        LOG.warning("login of %s refused: %s", role, said[0] if said else e)
        return Said("存储拒绝了登录 {role}：{said}", role=role, said=said[0] if said else "")
    if me["person"] is None or me.get("retired"):
        store.close()
        return Said("登录 {role} 没有绑定账本中的人员（taizhang access grant）", role=role)
    read = Services(store).read
    scope = None
    if me["role"] == UNIT:
        scope = read.unit_and_descendants(store.ledger.person(me["person"]).unit)
    return server.gate.open(f"{role} · {me['person']} {me['name']}", store=store, read=read,
                            scope=scope,
                            reader=Reader(read, catch_up=server.login_catch_up(read)))


async def logout(request: Request) -> Response:
    session = await check_csrf(request)
    request.app.state.server.gate.logout(session.id)
    response = RedirectResponse("/signed-out", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def signed_out(request: Request) -> Response:
    server: Server = request.app.state.server
    return templates.TemplateResponse(request, "message.html", {
        "title": N_("已退出"), "message": N_("您已退出登录。"), "lang": server.lang, "_": server._})


def home(request: Request) -> Response:
    return RedirectResponse("/board", status_code=303)


# --- errors ----------------------------------------------------------------------------

def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/open311/")


def error_response(request: Request, status: int, message: str) -> Response:
    server: Server = request.app.state.server
    if _wants_json(request):
        return JSONResponse([{"code": status, "description": message}], status_code=status)
    return templates.TemplateResponse(request, "error.html", {
        "status": status, "message": server._(message), "lang": server.lang, "_": server._},
        status_code=status)


class PageError(HTTPException):
    """An HTTP error whose words are a refusal's (``domain.base.Said``): a Chinese message
    with its values, said in the page's language — ``PageError(404, "第 {n} 页不存在", n=…)``."""

    def __init__(self, status: int, template: str, /, **values: Any) -> None:
        self.said = Said(template, **values)
        super().__init__(status, str(self.said))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, PageError):
        server: Server = request.app.state.server
        return error_response(request, exc.status_code, refusal(exc.said, server._))
    return error_response(request, exc.status_code, str(exc.detail))


async def domain_error(request: Request, exc: Exception) -> Response:
    server: Server = request.app.state.server
    return error_response(request, 404 if isinstance(exc, NotFound) else 400,
                          refusal(exc, server._))


async def store_error(request: Request, exc: Exception) -> Response:
    said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    LOG.error("store error on %s: %s", request.url.path, said[0] if said else exc)
    server: Server = request.app.state.server
    return error_response(request, 503, server._("账本存储暂时无法读取：") + (said or ["?"])[0])


async def server_error(request: Request, exc: Exception) -> Response:
    LOG.exception("error on %s", request.url.path)
    return error_response(request, 500, N_("服务器内部错误（已记录在服务器日志中）。"))


# No script, no frames, nothing from elsewhere; the login link's token never leaves in a
# Referer header.
HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
           "script-src 'none'; frame-ancestors 'none'; form-action 'self'",
           "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff"}


class Guarded:
    """ASGI middleware: the headers above on every answer, and every answer in the server's
    language (``serve --lang``), whatever the process speaks: the event summaries and
    labels the read side says with ``i18n._`` too."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = getattr(scope["app"].state, "server", None) if "app" in scope else None
        with i18n.speaking(server.lang if server is not None else i18n.language()):
            await self._answer(scope, receive, send)

    async def _answer(self, scope: Any, receive: Any, send: Any) -> None:

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *(
                    (k.lower().encode(), v.encode()) for k, v in HEADERS.items())]
            await send(message)

        await self.app(scope, receive, sending)


def create_app(server: Server) -> Starlette:
    from web import evaluation_pages, open311, pages

    routes = [
        Route("/", home),
        Route("/login", login),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/signed-out", signed_out),
        *pages.ROUTES, *evaluation_pages.ROUTES, *open311.ROUTES,
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    if server.store.url.kind == "postgresql":  # its driver's errors are the store's too
        import psycopg  # noqa: F401
    handlers: dict[Any, Callable[..., Any]] = {
        HTTPException: http_error, DomainError: domain_error,
        **dict.fromkeys(loaded(*STORE_FAULTS), store_error), Exception: server_error}
    app = Starlette(routes=routes, middleware=[Middleware(Guarded)],
                    exception_handlers=handlers)
    app.state.server = server
    return app
