"""The console's HTTP answers without a browser (a console on a sandbox store, no venue running):
bad input is a clear 4xx page, a fault inside a request is a 500 and the console keeps serving,
the session cookie is HttpOnly and SameSite=Strict, and `[console]` keys are strict."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlencode

import pytest

from venue import sandbox
from venue.config import ConfigError, load_config
from venue.console.live import LiveState
from venue.console.web import Console

TOKEN = "token-of-otto"


@pytest.fixture
def console(tmp_path):
    config = sandbox.prepare(tmp_path / "sb", port=free_port(), chain="none")
    text = config.read_text()
    from venuetest import operators_section

    config.write_text(text[: text.index("\n[operators]")] + operators_section())
    c = Console(load_config(config), LiveState()).start()
    try:
        yield c
    finally:
        c.stop()


def free_port() -> int:
    from venuetest import free_port as pick

    return pick()


def ask(c: Console, method: str, path: str, body: dict | None = None, cookie: str | None = None, **headers):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    sent = {"Host": f"127.0.0.1:{c.port}", **headers}
    data = None
    if body is not None:
        data = urlencode(body)
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if cookie:
        sent["Cookie"] = cookie
    conn.request(method, path, body=data, headers=sent)
    res = conn.getresponse()
    return res.status, dict(res.getheaders()), res.read().decode()


def login(c: Console) -> tuple[str, str]:
    status, headers, _ = ask(c, "POST", "/login", {"token": TOKEN, "next": "/"})
    assert status == 303
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    sid = cookie.split(";")[0]
    _, _, page = ask(c, "GET", "/", cookie=sid)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return sid, csrf


def test_bad_requests_get_a_clear_4xx_page(console):
    assert ask(console, "GET", "/", Host="evil.example")[0] == 421
    assert ask(console, "GET", "/")[0] == 303  # to the login page
    assert ask(console, "POST", "/action/trading", {"symbol": "ACME"})[0] == 401
    sid, csrf = login(console)
    status, _, page = ask(console, "GET", "/nowhere", cookie=sid)
    assert status == 404 and "no page /nowhere" in page
    assert ask(console, "DELETE", "/", cookie=sid)[0] == 405
    assert ask(console, "POST", "/", {"a": "b"}, cookie=sid)[0] == 405
    status, _, page = ask(console, "GET", "/book?symbol=%3Cscript%3E", cookie=sid)
    assert status == 400 and "<script>" not in page
    assert ask(console, "GET", "/book?symbol=NOPE", cookie=sid)[0] == 404
    assert ask(console, "GET", "/orders?status=weird&reason=x", cookie=sid)[0] == 400
    assert ask(console, "GET", "/orders?member=A&member=B", cookie=sid)[0] == 400
    assert ask(console, "GET", "/fair-access?month=2026-13&reason=x", cookie=sid)[0] in (400, 403)
    form = {"csrf": csrf, "symbol": "ACME", "command": "halt", "reason": "x"}
    assert ask(console, "POST", "/action/trading", form, cookie=sid, Origin="http://evil.example")[0] == 403
    assert ask(console, "POST", "/action/trading", {**form, "command": "explode"}, cookie=sid)[0] == 400
    assert ask(console, "POST", "/action/trading", {**form, "symbol": "NOPE"}, cookie=sid)[0] == 400
    assert ask(console, "POST", "/action/kill", {"csrf": csrf, "member": "NOPE", "reason": "x"}, cookie=sid)[0] == 400
    status, _, _ = ask(console, "POST", "/action/trading", {**form, "reason": "x" * 20_000}, cookie=sid)
    assert status == 413
    status, _, _ = ask(console, "POST", "/action/trading", None, cookie=sid, **{"Content-Type": "application/json"})
    assert status == 415


def test_a_fault_inside_a_request_is_a_500_and_the_console_keeps_serving(console, monkeypatch):
    sid, _ = login(console)
    real = console.store.load_world

    def broken():
        raise RuntimeError("store exploded")

    monkeypatch.setattr(console.store, "load_world", broken)
    status, _, page = ask(console, "GET", "/", cookie=sid)
    assert status == 500 and "store exploded" not in page
    monkeypatch.setattr(console.store, "load_world", real)
    assert ask(console, "GET", "/", cookie=sid)[0] == 200


def test_a_page_without_a_feed_says_the_engine_state_is_unknown(console):
    sid, _ = login(console)
    _, _, page = ask(console, "GET", "/book?symbol=ACME", cookie=sid)
    assert "No word from the engine" in page  # never a made-up book
    _, _, page = ask(console, "GET", "/", cookie=sid)
    assert "engine state unknown" in page


@pytest.mark.parametrize(
    "section, message",
    [
        ("[console]\nport = 70000\n", r"\[console\] port must be 0"),
        ('[console]\nport = "9880"\n', r"\[console\] port must be a whole number"),
        ("[console]\nprot = 9880\n", r'unknown key "prot" in \[console\]; did you mean "port"\?'),
    ],
)
def test_console_keys_are_strict(tmp_path, section, message):
    path = tmp_path / "venue.toml"
    path.write_text('[venue]\ndatabase_url = "sqlite:///x.db"\n' + section)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_no_console_section_is_no_console(tmp_path):
    path = tmp_path / "venue.toml"
    path.write_text('[venue]\ndatabase_url = "sqlite:///x.db"\n')
    assert load_config(path).console_port == 0
