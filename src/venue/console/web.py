"""The console's HTTP server: the standard library's ThreadingHTTPServer on 127.0.0.1, one thread
per request, pages rendered here (`venue.console.pages`), live parts as Server-Sent Events.

Every request is checked in this order: the Host header names this console (no DNS rebinding),
the session cookie (else the login page), for a POST the Origin and the session's CSRF token, then
the operator's role for the page or action (`NEEDS`, the roles of the equivalent `venue` command).
A page showing members' confidential trading information asks why first and writes the read log
before it reads anything. Bad input is a 4xx page; an error inside a request is logged and
answered 500, and never reaches the venue.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from venue import fair_access as fa
from venue.access import Operator, Role
from venue.config import ConfigError, VenueConfig
from venue.console import actions, pages
from venue.console.auth import COOKIE, ConfiguredOperators, LoginRefused, Session, Sessions, csrf_ok
from venue.console.live import LiveState
from venue.store import Store, StoreError
from venue.store import access as sa
from venue.store.settlement import SettlementState, SettlementStore

log = logging.getLogger("venue.console")

HOST = "127.0.0.1"
MAX_BODY = 16 * 1024
MAX_STREAMS = 32  # live pages open at once (each holds a thread)
STREAM_TICK_SECONDS = 2.0  # a live page is rendered again at least this often (store-held parts)
KEEPALIVE_SECONDS = 15.0
STATIC = Path(__file__).resolve().parent / "static"
_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}$")  # a member, symbol or account as typed


@dataclass(frozen=True, slots=True)
class Needs:
    """Who may open a page or take an action: admin and `roles`; `confidential`: it shows members'
    confidential trading information (a reason, and the read log first). `command`: the `venue`
    command it is the console's form of, whose roles these are (venue.cli.ROLES)."""

    roles: frozenset[Role]
    confidential: bool
    command: str | None

    def names(self) -> str:
        roles = [r.value for r in Role if r in self.roles]
        return f"{', '.join(roles)} or admin" if roles else "admin"


_ANY = frozenset({Role.OPS, Role.COMPLIANCE, Role.READ_ONLY})
_STAFF = frozenset({Role.OPS, Role.COMPLIANCE})
NEEDS: dict[str, Needs] = {
    "overview": Needs(_ANY, False, "members list"),  # sessions, securities' status, counts: no member's orders
    "book": Needs(_STAFF, False, None),  # aggregated depth, as market data carries it (spec/console.md)
    "orders": Needs(_STAFF, True, "orders"),
    "trades": Needs(_STAFF, True, "settlement list"),  # shown on the orders page
    "gates": Needs(_STAFF, True, "gates"),
    "settlement": Needs(_STAFF, True, "settlement list"),
    "fair-access": Needs(frozenset({Role.COMPLIANCE}), True, "report fair-access"),
    "actions": Needs(_STAFF, False, None),  # the forms; each action checks its own command's roles
    "halt": Needs(frozenset({Role.OPS}), False, "halt"),
    "resume": Needs(frozenset({Role.OPS}), False, "resume"),
    "kill": Needs(frozenset({Role.OPS}), False, "kill"),
    "unkill": Needs(frozenset({Role.OPS}), False, "unkill"),
    "hold": Needs(frozenset({Role.COMPLIANCE}), False, "accounts set"),
}


class Refused(Exception):
    """Answer the request with this status and text (a 4xx page)."""

    def __init__(self, status: HTTPStatus, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


class Console:
    """The console of one running venue: bound at construction (a port in use is a start-up error),
    served from `start()` until `stop()`."""

    def __init__(self, cfg: VenueConfig, live: LiveState) -> None:
        self.cfg, self.live = cfg, live
        self.port = cfg.console_port
        self.origins = {f"http://{HOST}:{self.port}", f"http://localhost:{self.port}"}
        self.hosts = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        self.sessions = Sessions(ConfiguredOperators(cfg.config_path))
        self.stopping = threading.Event()
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self.static = {name: (STATIC / name).read_bytes() for name in ("console.css", "console.js")}
        try:
            self.httpd = _Server((HOST, self.port), _Handler)
        except OSError as exc:
            raise ConfigError(f"[console] port {self.port}: cannot listen on {HOST}: {exc.strerror or exc}") from None
        self.httpd.console = self
        self.store = Store(cfg.database_url)
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="console", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> Console:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (live pages end); never raises: the venue stops after it."""
        self.stopping.set()
        try:
            if self._thread.ident is not None:
                self.httpd.shutdown()
            self.httpd.server_close()
            self.store.dispose()
        except Exception:  # noqa: BLE001
            log.exception("console: could not stop cleanly")

    def live_view(self) -> dict:
        return {"feed": self.live.feed, "stale": self.live.feed_stale(), "sessions": self.live.sessions()}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    console: Console

    def handle_error(self, request, client_address) -> None:  # noqa: ARG002 - socketserver's signature
        log.error("console: request from %s failed\n%s", client_address, traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    server_version = "venue-console"
    sys_version = ""
    server: _Server
    session: Session | None = None
    operator: Operator | None = None

    # ------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        log.debug("console: %s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_HEAD(self) -> None:  # noqa: N802
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, "use GET or POST")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD

    def _serve(self, method: str) -> None:
        self.console = self.server.console
        try:
            if self.headers.get("Host") not in self.console.hosts:
                raise Refused(HTTPStatus.MISDIRECTED_REQUEST, "this console answers to 127.0.0.1 or localhost only")
            url = urlsplit(self.path)
            self.route, self.query = url.path, _fields(url.query)
            routes = _GET if method == "GET" else _POST
            handler = routes.get(self.route)
            if handler is None:
                other = _POST if method == "GET" else _GET
                if self.route in other:
                    raise Refused(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.route} does not take {method}")
                raise Refused(HTTPStatus.NOT_FOUND, f"no page {self.route}")
            handler(self)
        except Refused as refused:
            self._refuse(refused.status, refused.text)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # noqa: BLE001 - a console fault is the console's, never the venue's
            log.error("console: %s %s failed\n%s", method, self.path, traceback.format_exc())
            try:
                self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, "the console could not answer this (see venue.log)")
            except OSError:
                pass

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._security_headers()
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _security_headers(self) -> None:
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "same-origin")  # "no-referrer" would make Chrome send Origin: null
        self.send_header("Cache-Control", "no-store")

    def _html(self, text: str, status: HTTPStatus = HTTPStatus.OK, headers: dict | None = None) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8", headers)

    def _redirect(self, to: str, headers: dict | None = None) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": to, **(headers or {})})

    def _refuse(self, status: HTTPStatus, text: str) -> None:
        session, operator = self.session, self.operator
        allowed = self._allowed() if operator else ()
        self._html(
            pages.problem(
                status.value,
                status.phrase,
                text,
                operator=operator,
                csrf=session.csrf if session else "",
                allowed=allowed,
            ),
            status,
        )

    def _page(self, title: str, body: str) -> None:
        assert self.session is not None
        flash, self.session.flash = self.session.flash, []
        self._html(
            pages.layout(
                title, body, operator=self.operator, csrf=self.session.csrf, allowed=self._allowed(), flash=flash
            )
        )

    def _allowed(self) -> set[str]:
        assert self.operator is not None
        return {key for key, _, _ in pages.NAV if self.operator.role.may(NEEDS[key].roles)}

    # ------------------------------------------------------------ who asks
    def _cookie(self) -> str | None:
        try:
            morsel = SimpleCookie(self.headers.get("Cookie", "")).get(COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel else None

    def _login_required(self) -> None:
        """The session of this request; else to the login page (a live stream: 401)."""
        found = self.console.sessions.find(self._cookie())
        if found is None:
            if self.route == "/live" or self.command == "POST":
                raise Refused(HTTPStatus.UNAUTHORIZED, "log in first (your session ended or never began)")
            raise _ToLogin()
        self.session, self.operator = found

    def _may(self, key: str) -> Needs:
        """The operator may open this page or take this action; 403 naming the roles it needs."""
        needs = NEEDS[key]
        assert self.operator is not None
        if not self.operator.role.may(needs.roles):
            what = f"`venue {needs.command}`" if needs.command else f"the {key} page"
            raise Refused(
                HTTPStatus.FORBIDDEN,
                f"{what} needs the role {needs.names()}; {self.operator} may not "
                "(an admin changes roles in [operators] of the venue config)",
            )
        return needs

    def _post_checked(self) -> dict[str, str]:
        """A POST's form, after its Origin and CSRF token are checked."""
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.console.origins:
            raise Refused(HTTPStatus.FORBIDDEN, "a form from another site is refused")
        form = self._form()
        assert self.session is not None
        if not csrf_ok(self.session, form.get("csrf")):
            raise Refused(HTTPStatus.FORBIDDEN, "the form carried no valid CSRF token: open the page again and resend")
        return form

    def _form(self) -> dict[str, str]:
        if self.headers.get_content_type() != "application/x-www-form-urlencoded":
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the form as application/x-www-form-urlencoded")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise Refused(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if not 0 <= length <= MAX_BODY:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a form is at most {MAX_BODY} bytes")
        try:
            return _fields(self.rfile.read(length).decode())
        except UnicodeDecodeError:
            raise Refused(HTTPStatus.BAD_REQUEST, "the form is not UTF-8") from None

    # ------------------------------------------------------------ reads of confidential information
    def _read_recorded(self, key: str, scope: dict[str, str | None]) -> bool:
        """With a reason: the read recorded in the read log (then True); without: False (the page
        shows its form only)."""
        reason = " ".join((self.query.get("reason") or "").split())
        if not reason:
            return False
        if len(reason) > 500:
            raise Refused(HTTPStatus.BAD_REQUEST, "the reason is at most 500 characters")
        assert self.operator is not None
        text = " ".join(f"{k}={v or '*'}" for k, v in scope.items())
        sa.record_data_access(self.console.store, self.operator.name, f"console {key}", text or "*", reason)
        return True


class _ToLogin(Exception):
    """Not logged in: a page request goes to the login page."""


def _fields(text: str) -> dict[str, str]:
    """A query string or form: each name at most once."""
    try:
        parsed = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except ValueError:
        raise Refused(HTTPStatus.BAD_REQUEST, "too many fields") from None
    repeated = [name for name, values in parsed.items() if len(values) > 1]
    if repeated:
        raise Refused(HTTPStatus.BAD_REQUEST, f"{', '.join(sorted(repeated))} given more than once")
    return {name: values[0] for name, values in parsed.items()}


def _name(value: str | None, what: str) -> str | None:
    """A member, symbol or account id as typed: None when empty; 400 when it cannot be one."""
    value = (value or "").strip()
    if not value:
        return None
    if not _TEXT.match(value):
        raise Refused(HTTPStatus.BAD_REQUEST, f"{what} {value[:70]!r} is not a valid {what}")
    return value


def _choice(value: str | None, choices: tuple[str, ...], what: str, default: str) -> str:
    value = value or default
    if value not in choices:
        raise Refused(HTTPStatus.BAD_REQUEST, f"{what} must be one of {', '.join(choices)}")
    return value


def _pages(route: str):
    """Page handlers: logged in first (else the login page), then the rest."""

    def decorate(fn):
        def run(h: _Handler) -> None:
            try:
                h._login_required()
            except _ToLogin:
                h._redirect(f"/login?next={quote(h.path, safe='')}")
                return
            fn(h)

        _GET[route] = run
        return fn

    return decorate


_GET: dict[str, object] = {}
_POST: dict[str, object] = {}


# ---------------------------------------------------------------- login
def _login_page(h: _Handler) -> None:
    h._html(pages.login(next_path=_next(h.query.get("next"))))


def _login(h: _Handler) -> None:
    origin = h.headers.get("Origin")
    if origin is not None and origin not in h.console.origins:
        raise Refused(HTTPStatus.FORBIDDEN, "a form from another site is refused")
    form = h._form()
    try:
        session, operator = h.console.sessions.login(form.get("token", ""))
    except LoginRefused as exc:
        log.warning("console: login refused from %s: %s", h.client_address[0], exc)
        time.sleep(0.5)  # guessing tokens is slow
        h._html(pages.login(str(exc), _next(form.get("next"))), HTTPStatus.UNAUTHORIZED)
        return
    log.info("console: %s logged in", operator)
    h._redirect(
        _next(form.get("next")),
        {"Set-Cookie": f"{COOKIE}={session.sid}; HttpOnly; SameSite=Strict; Path=/"},
    )


def _next(value: str | None) -> str:
    """Where to go after logging in: a path of this console only."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


def _logout(h: _Handler) -> None:
    h._login_required()
    h._post_checked()
    assert h.session is not None
    h.console.sessions.logout(h.session.sid)
    log.info("console: %s logged out", h.operator)
    h._redirect("/login", {"Set-Cookie": f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"})


def _static(name: str, content_type: str):
    def serve(h: _Handler) -> None:
        h._send(HTTPStatus.OK, h.console.static[name], content_type)

    return serve


_GET["/login"] = _login_page
_GET["/static/console.css"] = _static("console.css", "text/css; charset=utf-8")
_GET["/static/console.js"] = _static("console.js", "text/javascript; charset=utf-8")
_POST["/login"] = _login
_POST["/logout"] = _logout


# ---------------------------------------------------------------- overview and book (live)
def _overview_fragment(h: _Handler) -> str:
    store = h.console.store
    world = store.load_world()
    counts = SettlementStore(store).status_counts()
    view = h.console.live_view()
    return pages.overview(world, view, counts, pages.alerts(world, view, counts))


@_pages("/")
def _overview(h: _Handler) -> None:
    h._may("overview")
    h._page("Overview", pages.overview_page(_overview_fragment(h)))


def _symbol(h: _Handler, world) -> str:
    symbols = sorted(world.securities)
    symbol = _name(h.query.get("symbol"), "symbol") or (symbols[0] if symbols else "")
    if symbol not in world.securities:
        raise Refused(HTTPStatus.NOT_FOUND, f"no security {symbol!r}")
    return symbol


def _book_fragment(h: _Handler, world, symbol: str) -> str:
    return pages.book_fragment(symbol, world.securities.get(symbol), h.console.live_view())


@_pages("/book")
def _book(h: _Handler) -> None:
    h._may("book")
    world = h.console.store.load_world()
    if not world.securities:
        h._page("Book", "<p>No security is listed.</p>")
        return
    symbol = _symbol(h, world)
    h._page(f"Book {symbol}", pages.book_page(sorted(world.securities), symbol, _book_fragment(h, world, symbol)))


def _live(h: _Handler) -> None:
    """Server-Sent Events: the page's live part, rendered again whenever the engine's state or the
    sessions change (and every couple of seconds, for what the store holds), until the operator's
    session ends or the console stops."""
    h._login_required()
    view = _choice(h.query.get("view"), ("overview", "book"), "view", "overview")
    h._may(view)
    if view == "book":
        symbol = _symbol(h, h.console.store.load_world())

        def render() -> str:
            return _book_fragment(h, h.console.store.load_world(), symbol)
    else:

        def render() -> str:
            return _overview_fragment(h)

    if not h.console.streams.acquire(blocking=False):
        raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, f"at most {MAX_STREAMS} live pages at once")
    try:
        h.send_response(HTTPStatus.OK)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Connection", "close")
        h._security_headers()
        h.end_headers()
        h.wfile.write(b"retry: 3000\n\n")
        sent, version, quiet_since = None, -1, time.monotonic()
        assert h.session is not None
        sid = h.session.sid
        while not h.console.stopping.is_set():
            found = h.console.sessions.find(sid)
            if found is None or not found[1].role.may(NEEDS[view].roles):
                h.wfile.write(b"event: end\ndata: session ended\n\n")
                h.wfile.flush()
                return
            html = render()
            if html != sent:
                h.wfile.write("".join(f"data: {line}\n" for line in html.splitlines() or [""]).encode() + b"\n")
                h.wfile.flush()
                sent, quiet_since = html, time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                h.wfile.write(b": keep-alive\n\n")
                h.wfile.flush()
                quiet_since = time.monotonic()
            version = h.console.live.changed(version, STREAM_TICK_SECONDS)
    finally:
        h.console.streams.release()


_GET["/live"] = _live


# ---------------------------------------------------------------- confidential listings
@_pages("/orders")
def _orders(h: _Handler) -> None:
    h._may("orders")
    h._may("trades")
    q = h.query
    member, symbol, account = _name(q.get("member"), "member"), _name(q.get("symbol"), "symbol"), None
    account = _name(q.get("account"), "account")
    status = _choice(q.get("status"), _ORDER_STATUS_CHOICES, "status", "open")
    fields = (
        pages.field_("Member", "member", member)
        + pages.field_("Symbol", "symbol", symbol)
        + pages.field_("Account", "account", account)
        + f"<label>Status {pages.select('status', [(s, s) for s in _ORDER_STATUS_CHOICES], status)}</label>"
    )
    body = pages.reason_form(
        "/orders", fields, q.get("reason"), "Orders (newest first, up to 200) and trades (newest first, up to 200)."
    )
    scope = {"member": member, "symbol": symbol, "account": account, "status": status}
    if h._read_recorded("orders", scope):
        store = h.console.store
        world = store.load_world()
        orders = store.orders(member=member, symbol=symbol, status=_ORDER_STATUS[status], account=account, limit=200)
        trades = [
            t
            for t in SettlementStore(store).list_trades(None, symbol, 2000)
            if (member is None or member in (t["buy_member"], t["sell_member"]))
            and (account is None or account in (t["buy_account"], t["sell_account"]))
        ][:200]
        body += (
            f"<section><h2>Orders</h2>{pages.table(pages.ORDER_HEADERS, pages.orders_rows(orders, world), cls='orders')}"
            f"</section><section><h2>Trades</h2>{pages.table(pages.TRADE_HEADERS, pages.trade_rows(trades), cls='trades')}"
            '<p class="note">Trades: of the newest 2000.</p></section>'
        )
    h._page("Orders and trades", body)


_ORDER_STATUS = {
    "open": ["0", "1"],
    "filled": ["2"],
    "canceled": ["4"],
    "expired": ["C"],
    "rejected": ["8"],
    "all": None,
}
_ORDER_STATUS_CHOICES = tuple(_ORDER_STATUS)


@_pages("/gates")
def _gates(h: _Handler) -> None:
    h._may("gates")
    outcome = _choice(h.query.get("outcome"), ("reject", "pass", "all"), "outcome", "reject")
    fields = f"<label>Outcome {pages.select('outcome', [(o, o) for o in ('reject', 'pass', 'all')], outcome)}</label>"
    body = pages.reason_form(
        "/gates", fields, h.query.get("reason"), "Gate decisions on new orders, newest first (up to 200), with inputs."
    )
    if h._read_recorded("gates", {"outcome": outcome}):
        decisions = h.console.store.gate_decisions(limit=200, outcome=None if outcome == "all" else outcome)
        body += pages.table(pages.GATE_HEADERS, pages.gate_rows(decisions), cls="gates")
    h._page("Gate refusals", body)


@_pages("/settlement")
def _settlement(h: _Handler) -> None:
    h._may("settlement")
    states = ("all", *(s.value for s in SettlementState))
    status = _choice(h.query.get("status"), states, "status", "all")
    symbol = _name(h.query.get("symbol"), "symbol")
    fields = f"<label>Status {pages.select('status', [(s, s) for s in states], status)}</label>" + pages.field_(
        "Symbol", "symbol", symbol
    )
    body = pages.reason_form(
        "/settlement",
        fields,
        h.query.get("reason"),
        "Trades and their on-chain settlement (DvP), newest first (up to 200).",
    )
    if h._read_recorded("settlement", {"status": status, "symbol": symbol}):
        store = SettlementStore(h.console.store)
        trades = store.list_trades(None if status == "all" else SettlementState(status), symbol, 200)
        counts = store.status_counts()
        body += (
            '<p class="counts">'
            + " ".join(f"{s.value}: <b>{counts.get(s.value, 0)}</b>" for s in SettlementState)
            + "</p>"
            + pages.table(pages.SETTLEMENT_HEADERS, pages.settlement_rows(trades), cls="settlement")
        )
    h._page("Settlement", body)


@_pages("/fair-access")
def _fair_access(h: _Handler) -> None:
    h._may("fair-access")
    text = (h.query.get("month") or "").strip()
    try:
        month = fa.Month.parse(text) if text else None
    except ValueError as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, f"month: {exc}") from None
    body = pages.reason_form(
        "/fair-access",
        pages.field_("Month (YYYY-MM)", "month", text),
        h.query.get("reason"),
        f"Per security and month: the venue's share of the average daily volume; under the fair-access regime "
        f"with {fa.THRESHOLD * 100}% or more in {fa.MONTHS_REQUIRED} of the {fa.LOOKBACK_MONTHS} months before.",
    )
    if h._read_recorded("fair-access", {"month": text or None}):
        store = h.console.store
        venue, market = sa.venue_daily_volume(store), sa.market_daily_volume(store)
        symbols = sorted(set(store.load_world().securities) | set(venue) | set(market))
        if month is not None:
            months = month.shift(-fa.LOOKBACK_MONTHS).through(month)
        else:
            current = fa.Month.of(datetime.now(UTC).date())
            span = fa.data_months(*venue.values(), *market.values())
            months = (span[0] if span else current).through(max(span[1], current) if span else current)
        rows = []
        for s in symbols:
            for v, r in fa.assess(venue.get(s, {}), market.get(s, {}), months):
                share = v.share
                rows.append(
                    (
                        s,
                        str(v.month),
                        v.venue_volume,
                        v.market_volume,
                        v.trading_days,
                        None if share is None else str((share * 100).quantize(Decimal("0.0001"), ROUND_DOWN)),
                        v.qualifies,
                        pages.badge("yes", "warn") if r.fair_access else "no",
                        f"{len(r.qualifying)}/{len(r.lookback)}",
                    )
                )
        body += pages.table(
            ("symbol", "month", "venue volume", "market volume", "trading days", "share %", ">= 5%", "fair access")
            + ("qualifying months",),
            rows,
            cls="fair-access",
        )
    h._page("Fair access", body)


# ---------------------------------------------------------------- actions
@_pages("/actions")
def _actions_page(h: _Handler) -> None:
    h._may("actions")
    world = h.console.store.load_world()
    assert h.operator is not None and h.session is not None
    body = pages.actions(
        h.operator.role,
        h.session.csrf,
        sorted(world.securities.values(), key=lambda s: s.symbol),
        sorted(world.members.values(), key=lambda m: m.member_id),
    )
    h._page("Actions", body)


def _act(h: _Handler, run) -> None:
    """Take an action whose role was checked (`run`: the operation of its `venue` command); the
    venue's answer is flashed on the actions page."""
    assert h.operator is not None and h.session is not None
    try:
        outcome = run()
    except actions.ActionRefused as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, str(exc)) from None
    except StoreError as exc:
        raise Refused(HTTPStatus.CONFLICT, str(exc)) from None
    log.info("console: %s: %s", h.operator, outcome.text())
    h.session.flash.append(outcome.text())
    h._redirect("/actions")


def _action_trading(h: _Handler) -> None:
    h._login_required()
    form = h._post_checked()
    command = _choice(form.get("command"), ("halt", "resume"), "command", "halt")
    h._may(command)
    symbol = _name(form.get("symbol"), "symbol") or ""
    assert h.operator is not None
    _act(h, lambda: actions.trading(h.console.store, h.operator.name, command, symbol, form.get("reason", "")))


def _action_kill(h: _Handler) -> None:
    h._login_required()
    form = h._post_checked()
    on = _choice(form.get("on"), ("yes", "no"), "on", "yes") == "yes"
    h._may("kill" if on else "unkill")
    member = _name(form.get("member"), "member") or ""
    assert h.operator is not None
    _act(h, lambda: actions.kill_switch(h.console.store, h.operator.name, member, on, form.get("reason", "")))


def _action_hold(h: _Handler) -> None:
    h._login_required()
    form = h._post_checked()
    on = _choice(form.get("on"), ("yes", "no"), "on", "yes") == "yes"
    h._may("hold")
    account = _name(form.get("account"), "account") or ""
    assert h.operator is not None
    _act(h, lambda: actions.aml_hold(h.console.store, h.operator.name, account, on, form.get("reason", "")))


_POST["/action/trading"] = _action_trading
_POST["/action/kill"] = _action_kill
_POST["/action/hold"] = _action_hold
