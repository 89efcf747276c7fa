"""The console's pages as HTML, from the data each page shows (no I/O here). Every value from the
venue is escaped on its way into the page; the only script is /static/console.js (live updates).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from venue.access import Operator, Role
from venue.clock import iso_utc

# Each page and action, and the `venue` command whose roles it has (venue.cli.ROLES;
# tests/browser/test_console_roles.py holds them equal); "book" has no command (see spec/console.md).
NAV = (
    ("overview", "/", "Overview"),
    ("book", "/book", "Book"),
    ("orders", "/orders", "Orders & trades"),
    ("gates", "/gates", "Gate refusals"),
    ("settlement", "/settlement", "Settlement"),
    ("fair-access", "/fair-access", "Fair access"),
    ("actions", "/actions", "Actions"),
)


def e(value) -> str:
    """A value as page text: `-` for nothing, escaped."""
    return "-" if value is None or value == "" else escape(str(value))


def layout(title: str, body: str, *, operator: Operator | None = None, csrf: str = "", allowed=(), flash=()) -> str:
    """A whole page: header with the pages this operator may open, messages, the body."""
    nav = ""
    if operator is not None:
        links = "".join(f'<a href="{href}">{escape(text)}</a>' for key, href, text in NAV if key in allowed)
        nav = (
            f'<nav>{links}</nav><form class="who" method="post" action="/logout">'
            f"<span>{e(operator.name)} ({e(operator.role.value)})</span>"
            f'<input type="hidden" name="csrf" value="{escape(csrf)}"><button type="submit">Log out</button></form>'
        )
    notes = "".join(f'<p class="flash">{e(text)}</p>' for text in flash)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - venue console</title>"
        '<link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script>'
        f'</head><body><header><span class="brand">venue console</span>{nav}</header>'
        f"<main><h1>{escape(title)}</h1>{notes}{body}</main></body></html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence], *, cls: str = "", empty: str = "none") -> str:
    """Rows as an HTML table; cells are escaped unless given as `Raw`."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="empty">({escape(empty)})</td></tr>'
    return f'<table class="{escape(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Raw(str):
    """HTML made here from escaped parts: put into a page as it is."""


def _cell(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return e(value)


def badge(text: str, kind: str) -> Raw:
    return Raw(f'<span class="badge {escape(kind)}">{escape(text)}</span>')


def select(name: str, options: Sequence[tuple[str, str]], chosen: str | None) -> str:
    opts = "".join(
        f'<option value="{escape(v)}"{" selected" if v == (chosen or "") else ""}>{escape(t)}</option>'
        for v, t in options
    )
    return f'<select name="{escape(name)}" id="{escape(name)}">{opts}</select>'


def field_(label: str, name: str, value: str | None = None, *, required: bool = False, wide: bool = False) -> str:
    req = " required" if required else ""
    cls = ' class="wide"' if wide else ""
    return (
        f'<label>{escape(label)} <input type="text" name="{escape(name)}" id="{escape(name)}" '
        f'value="{escape(value or "")}"{req}{cls}></label>'
    )


# ---------------------------------------------------------------- login and errors
def login(message: str | None = None, next_path: str = "/") -> str:
    note = f'<p class="error">{e(message)}</p>' if message else ""
    return layout(
        "Log in",
        f'{note}<form method="post" action="/login" class="login">'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<label>Operator token <input type="password" name="token" id="token" autocomplete="off" required '
        'autofocus></label> <button type="submit" id="login">Log in</button></form>'
        "<p>Your operator token is the one listed (by its SHA-256) in <code>[operators] tokens</code> of the "
        "venue config, as for <code>$VENUE_OPERATOR_TOKEN</code>.</p>",
    )


def problem(status: int, title: str, text: str, *, operator=None, csrf="", allowed=()) -> str:
    return layout(
        f"{status} {title}",
        f'<p class="error" id="problem">{e(text)}</p><p><a href="/">Back to the overview</a></p>',
        operator=operator,
        csrf=csrf,
        allowed=allowed,
    )


def reason_form(action: str, fields: str, reason: str | None, why: str) -> str:
    """The search form of a page showing confidential trading information: it asks why first."""
    return (
        f'<form method="get" action="{escape(action)}" class="search">{fields}'
        f"{field_('Reason for this read', 'reason', reason, required=True, wide=True)}"
        '<button type="submit" id="show">Show</button></form>'
        f'<p class="note">{escape(why)} Each search is kept with your name and reason in the read log '
        "(Reg ATS 301(b)(10); <code>venue access reads</code>).</p>"
    )


# ---------------------------------------------------------------- overview
def overview(world, live_view: dict, counts: Mapping[str, int], alerts: Sequence[tuple[str, str]]) -> str:
    """The overview fragment (updated live): engine state, alerts, securities, sessions, members,
    settlement backlog. Nothing here is a member's confidential trading information."""
    feed, stale, up = live_view["feed"], live_view["stale"], live_view["sessions"]
    if stale:
        engine = badge("engine state unknown", "bad")
    elif feed["degraded"]:
        engine = badge("DEGRADED: journal unavailable, orders refused", "bad")
    else:
        engine = badge("journal up, orders accepted", "good")
    at = iso_utc(feed["at_us"], "seconds") if feed else "-"
    books = feed["books"] if feed else {}
    alert_items = "".join(f'<li class="{escape(kind)}">{e(text)}</li>' for kind, text in alerts)
    securities = table(
        ("symbol", "name", "status", "phase"),
        (
            (s.symbol, s.name, _status_badge(s.trading_status.value), books.get(s.symbol, {}).get("phase", "-"))
            for s in sorted(world.securities.values(), key=lambda s: s.symbol)
        ),
        cls="securities",
    )
    sessions = table(
        ("CompID", "member", "role", "transport", "enabled", "session"),
        (
            (
                s.comp_id,
                s.member_id or "(venue)",
                s.role.value,
                s.transport.value,
                s.enabled,
                badge("up", "good") if s.comp_id in up else badge("down", "off"),
            )
            for s in sorted(world.sessions.values(), key=lambda s: s.comp_id)
        ),
        cls="sessions",
    )
    members = table(
        ("member", "name", "status", "kill switch"),
        (
            (m.member_id, m.name, m.status.value, badge("ON", "bad") if m.killed else "off")
            for m in sorted(world.members.values(), key=lambda m: m.member_id)
        ),
    )
    backlog = table(
        ("pending", "submitted", "confirmed", "final", "failed"),
        [[counts.get(k, 0) for k in ("pending", "submitted", "confirmed", "final", "failed")]],
        cls="backlog",
    )
    return (
        f'<p class="engine">Engine: {engine} <span class="at">as of {e(at)}</span></p>'
        f'<section><h2>Alerts</h2><ul class="alerts">{alert_items or "<li class=ok>none</li>"}</ul></section>'
        f'<div class="cols"><section><h2>Securities</h2>{securities}</section>'
        f"<section><h2>Settlement backlog (trades)</h2>{backlog}</section></div>"
        f"<section><h2>FIX sessions</h2>{sessions}</section>"
        f"<section><h2>Members</h2>{members}</section>"
    )


def _status_badge(status: str) -> Raw:
    return badge(status, "good" if status == "open" else "bad")


def alerts(world, live_view: dict, counts: Mapping[str, int]) -> list[tuple[str, str]]:
    """What needs an operator's eye now, most urgent first: (kind, text)."""
    out: list[tuple[str, str]] = []
    feed = live_view["feed"]
    if live_view["stale"]:
        out.append(("bad", "no word from the engine for several seconds: its state is not known"))
    elif feed["degraded"]:
        out.append(("bad", "the journal is unavailable: every order is refused (X910) until the store answers"))
    for s in sorted(world.securities.values(), key=lambda s: s.symbol):
        if s.trading_status.value != "open":
            out.append(("warn", f"{s.symbol} is {s.trading_status.value}"))
    for m in sorted(world.members.values(), key=lambda m: m.member_id):
        if m.killed:
            out.append(("warn", f"kill switch on for member {m.member_id}"))
        if m.status.value != "active":
            out.append(("warn", f"member {m.member_id} is {m.status.value}"))
    if counts.get("failed"):
        out.append(("warn", f"{counts['failed']} trade(s) failed settlement (see Settlement)"))
    return out


def overview_page(fragment: str) -> str:
    return f'<div id="live" data-live="/live?view=overview">{fragment}</div>'


# ---------------------------------------------------------------- book
def book_fragment(symbol: str, security, live_view: dict) -> str:
    """The depth of one book, as the engine's market data desk holds it."""
    feed = live_view["feed"]
    if live_view["stale"] or feed is None:
        return '<p class="error">No word from the engine: its books are not known right now.</p>'
    book = feed["books"].get(symbol)
    if book is None:
        return f'<p class="error">The engine has no book for {e(symbol)}.</p>'
    bids, offers = book["bids"], book["offers"]
    rows = []
    for i in range(max(len(bids), len(offers))):
        bid = bids[i] if i < len(bids) else ("", "")
        offer = offers[i] if i < len(offers) else ("", "")
        rows.append((bid[1], bid[0], offer[0], offer[1]))
    depth = table(("bid qty", "bid", "offer", "offer qty"), rows, cls="depth", empty="empty book")
    status = security.trading_status.value if security else "-"
    return (
        f'<p class="bookhead">{e(symbol)}: phase <b id="phase">{e(book["phase"])}</b>, status '
        f'{_status_badge(status)} <span class="at">as of {e(iso_utc(feed["at_us"], "milliseconds"))}</span></p>'
        f'{depth}<p class="note">Top levels per side, aggregated: what the market data feed (35=W/X) '
        "carries; no member or order is named.</p>"
    )


def book_page(symbols: Sequence[str], symbol: str, fragment: str) -> str:
    picks = " ".join(
        f'<a href="/book?symbol={escape(s)}"{" class=on" if s == symbol else ""}>{escape(s)}</a>' for s in symbols
    )
    return (
        f'<p class="picks">{picks}</p>'
        f'<div id="live" data-live="/live?view=book&amp;symbol={escape(symbol)}">{fragment}</div>'
    )


# ---------------------------------------------------------------- confidential listings
def orders_rows(orders, world) -> list[tuple]:
    rows = []
    for o in orders:
        sec = world.securities.get(o.symbol)
        price = sec.to_price(o.price) if (sec and o.price is not None) else "MKT"
        rows.append(
            (
                o.order_id,
                o.member_id,
                o.cl_ord_id,
                o.account,
                o.symbol,
                o.side.name,
                o.ord_type.name,
                price,
                o.qty,
                o.cum,
                o.leaves,
                o.tif.name,
                o.status.name,
            )
        )
    return rows


ORDER_HEADERS = (
    "order_id",
    "member",
    "cl_ord_id",
    "account",
    "symbol",
    "side",
    "type",
    "price",
    "qty",
    "cum",
    "leaves",
    "tif",
    "status",
)
TRADE_HEADERS = ("trade_id", "executed", "symbol", "qty", "price", "buyer", "seller", "aggressor", "settlement")


def trade_rows(trades) -> list[tuple]:
    return [
        (
            t["trade_id"],
            iso_utc(t["executed_us"], "milliseconds"),
            t["symbol"],
            t["qty"],
            t["price"],
            f"{t['buy_member']} {t['buy_account']}",
            f"{t['sell_member']} {t['sell_account']}",
            {"1": "buy", "2": "sell"}.get(t["aggressor"] or "", t["aggressor"]),
            t["settlement_status"],
        )
        for t in trades
    ]


def gate_rows(decisions) -> list[tuple]:
    return [
        (
            iso_utc(d["at_us"], "milliseconds"),
            d["comp_id"],
            d["cl_ord_id"],
            d["order_id"],
            d["symbol"],
            d["account"],
            d["side"],
            d["qty"],
            d["price"],
            badge(d["outcome"], "good" if d["outcome"] == "pass" else "bad"),
            d["gate"],
            d["text"],
            Raw(f"<details><summary>inputs</summary><pre>{escape(_pretty(d['inputs']))}</pre></details>"),
        )
        for d in decisions
    ]


GATE_HEADERS = ("at", "comp_id", "cl_ord_id", "order_id", "symbol", "account", "side", "qty", "price", "outcome")
GATE_HEADERS += ("gate", "text", "inputs")


def _pretty(inputs: str | None) -> str:
    try:
        return json.dumps(json.loads(inputs or "{}"), indent=1, sort_keys=True)
    except ValueError:
        return inputs or ""


def settlement_rows(trades) -> list[tuple]:
    return [
        (
            r["trade_id"],
            r["symbol"],
            r["qty"],
            r["price"],
            r["sell_account"],
            r["buy_account"],
            badge(r["settlement_status"], _SETTLEMENT_KIND.get(r["settlement_status"], "off")),
            r["settlement_attempts"],
            r["block_number"],
            Raw(f'<code class="hash">{e(r["tx_hash"])}</code>'),
            r["settlement_error"],
        )
        for r in trades
    ]


SETTLEMENT_HEADERS = ("trade_id", "symbol", "qty", "price", "seller", "buyer", "status", "attempts", "block")
SETTLEMENT_HEADERS += ("tx_hash", "error")
_SETTLEMENT_KIND = {"final": "good", "failed": "bad", "pending": "off", "submitted": "warn", "confirmed": "warn"}


# ---------------------------------------------------------------- actions
def actions(role: Role, csrf: str, securities: Sequence, members: Sequence) -> str:
    """The action forms this role may use (ops: halts and kill switches; compliance: AML holds;
    admin: all), each asking a reason."""
    token = f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
    parts = []
    if role in (Role.ADMIN, Role.OPS):
        symbols = [(s.symbol, f"{s.symbol} ({s.trading_status.value})") for s in securities]
        ids = [(m.member_id, f"{m.member_id}{' (kill switch on)' if m.killed else ''}") for m in members]
        parts.append(
            '<section><h2>Halt or resume a security</h2><form method="post" action="/action/trading" '
            f'id="trading">{token}<label>Security {select("symbol", symbols, None)}</label> '
            f"{field_('Reason', 'reason', required=True, wide=True)} "
            '<button type="submit" name="command" value="halt" id="halt">Halt</button> '
            '<button type="submit" name="command" value="resume" id="resume">Resume</button></form>'
            '<p class="note">As <code>venue halt|resume SYMBOL --reason</code>: new orders are refused while '
            "halted (cancels are accepted); every session is told (SecurityStatus 35=f).</p></section>"
        )
        parts.append(
            '<section><h2>Kill switch</h2><form method="post" action="/action/kill" id="kill">'
            f"{token}<label>Member {select('member', ids, None)}</label> "
            f"{field_('Reason', 'reason', required=True, wide=True)} "
            '<button type="submit" name="on" value="yes" id="kill-on">Kill</button> '
            '<button type="submit" name="on" value="no" id="kill-off">Unkill</button></form>'
            '<p class="note">As <code>venue kill|unkill MEMBER --reason</code>: kill cancels every open order '
            "of the member and refuses its new ones (access log, standard AS-5).</p></section>"
        )
    if role in (Role.ADMIN, Role.COMPLIANCE):
        parts.append(
            '<section><h2>Account hold (AML)</h2><form method="post" action="/action/hold" id="hold">'
            f"{token}{field_('Investor account', 'account', required=True)} "
            f"{field_('Reason', 'reason', required=True, wide=True)} "
            '<button type="submit" name="on" value="yes" id="hold-on">Hold</button> '
            '<button type="submit" name="on" value="no" id="hold-off">Release</button></form>'
            '<p class="note">As <code>venue accounts set ACCOUNT --aml-hold|--no-aml-hold --reason</code>: '
            "the investor's resting orders are canceled and new ones refused.</p></section>"
        )
    return "".join(parts)
