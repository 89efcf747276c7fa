"""The ops console in a real browser against a real venue (spec/console.md): orders entered over FIX
show in the live book, the halt button halts over FIX (35=f) with the operator and reason audited,
roles and CSRF tokens refuse what they must, a wrong token does not log in."""

from __future__ import annotations

import json
import time

from selenium.webdriver.support.ui import Select, WebDriverWait

from venue.store import Store
from venue.store import access as sa


def _store(venue) -> Store:
    from venue.config import load_config

    return Store(load_config(venue.data_dir / "venue.toml").database_url)


def _live_text(console, css: str) -> str:
    """The text of an element of a live part, read in one step (the part is replaced as it changes)."""
    return console.browser.execute_script("return document.querySelector(arguments[0]).textContent", css)


def _depth(console) -> list[list[str]]:
    """The depth table's cells, read in one step (the live part is replaced as the book changes)."""
    return console.browser.execute_script(
        "return Array.from(document.querySelectorAll('table.depth tbody tr'),"
        " row => Array.from(row.querySelectorAll('td'), td => td.textContent));"
    )


def test_orders_entered_over_fix_appear_live_on_the_book_page(console, connect):
    console.login("otto")
    console.open("/book?symbol=ACME")
    WebDriverWait(console.browser, 10).until(lambda _: _depth(console) == [["(empty book)"]], console.text())
    console.browser.execute_script("window.notReloaded = true")
    brka, brkb = connect("BRKA"), connect("BRKB")
    brka.new_order("B1", "ACME", "1", 100, "9.50", account="A-ALICE")
    assert brka.exec_report("B1")[150] == "0"
    brkb.new_order("S1", "ACME", "2", 40, "10.25", account="B-BOB")
    brkb.new_order("S2", "ACME", "2", 60, "10.25", account="B-BOB")
    brkb.new_order("S3", "ACME", "2", 5, "10.50", account="B-BOB")
    for cl in ("S1", "S2", "S3"):
        assert brkb.exec_report(cl)[150] == "0"
    expected = [["100", "9.50", "10.25", "100"], ["-", "-", "10.50", "5"]]
    WebDriverWait(console.browser, 10).until(lambda _: _depth(console) == expected, _depth(console))
    brka.new_order("B2", "ACME", "1", 30, "10.25", account="A-ALICE")  # trades 30 against S1
    assert brka.exec_report("B2", "F")[32] == "30"
    WebDriverWait(console.browser, 10).until(lambda _: _depth(console)[0] == ["100", "9.50", "10.25", "70"])
    assert console.browser.execute_script("return window.notReloaded") is True  # live, not reloaded
    assert console.browser.execute_script("return document.getElementById('phase').textContent") == "CONTINUOUS"

    # the trade shows on the orders page once a reason is given, and the read is logged first
    console.open("/orders?symbol=ACME&status=all")
    assert console.browser.find_elements("css selector", "table.orders") == []
    console.browser.find_element("id", "reason").send_keys("surveillance check 7")
    console.submit("show")
    orders = console.browser.find_element("css selector", "table.orders").text
    assert "B1" in orders and "S3" in orders
    assert "A-ALICE" in console.browser.find_element("css selector", "table.trades").text
    store = _store(console.venue)
    try:
        reads = [r for r in sa.data_access_log(store) if r["command"] == "console orders"]
    finally:
        store.dispose()
    assert [(r["actor"], r["reason"], r["scope"]) for r in reads] == [
        ("otto", "surveillance check 7", "member=* symbol=ACME account=* status=all")
    ]


def test_the_halt_button_halts_over_fix_and_the_audit_names_operator_and_reason(console, connect):
    brkb = connect("BRKB")
    console.login("otto")
    console.open("/actions")
    Select(console.browser.find_element("id", "symbol")).select_by_value("ACME")
    console.browser.find_element("css selector", "#trading input[name=reason]").send_keys("erroneous prints, desk call")
    console.browser.find_element("id", "halt").click()
    status = brkb.wait_for(lambda m: m.type == "f" and m.get(55) == "ACME", timeout=10)
    WebDriverWait(console.browser, 10).until(lambda b: b.find_elements("css selector", "p.flash"))
    assert status[326] == "2"  # SecurityTradingStatus: trading halt
    assert "halt ACME" in console.browser.find_element("css selector", "p.flash").text
    changes = json.loads(console.venue.cli("audit", "changes", "--json").stdout)
    halts = [c for c in changes if c["entity"] == "halt" and c["key"] == "ACME"]
    assert [(c["operator"], c["reason"], c["after"]) for c in halts] == [
        ("otto", "erroneous prints, desk call", {"trading_status": "halted"})
    ]
    brkb.new_order("H1", "ACME", "1", 10, "9.00", account="B-BOB")
    assert brkb.exec_report("H1")[150] == "8"  # refused while halted
    console.open("/")
    assert "ACME is halted" in _live_text(console, "ul.alerts")

    console.open("/actions")
    console.browser.find_element("css selector", "#trading input[name=reason]").send_keys("prints corrected")
    Select(console.browser.find_element("id", "symbol")).select_by_value("ACME")
    console.browser.find_element("id", "resume").click()
    brkb.wait_for(lambda m: m.type == "f" and m.get(55) == "ACME" and m.get(326) != "2", timeout=10)


def _post_from_page(console, path: str, fields: dict) -> int:
    """POST a form from the page with the session's own cookie (and whatever `fields` carry); the status."""
    return console.browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', body: new URLSearchParams(arguments[1])})"
        ".then(r => done(r.status)).catch(e => done(String(e)));",
        path,
        fields,
    )


def _csrf(console) -> str:
    return console.browser.find_element("css selector", "form.who input[name=csrf]").get_attribute("value")


def test_roles_and_csrf_tokens_refuse_what_they_must(console, connect):
    brkb = connect("BRKB")
    # read-only: the overview only; no confidential page, no action, even with its own CSRF token
    console.login("rea")
    links = [a.text for a in console.browser.find_elements("css selector", "header nav a")]
    assert links == ["Overview"]
    assert "BRKA" in _live_text(console, "table.sessions")
    for path in ("/orders?reason=curious", "/actions", "/book"):
        console.open(path)
        assert console.browser.title.startswith("403"), path
        assert "read-only" in console.browser.find_element("id", "problem").text
    console.open("/")
    status = _post_from_page(
        console, "/action/trading", {"csrf": _csrf(console), "symbol": "ACME", "command": "halt", "reason": "x"}
    )
    assert status == 403
    # compliance may not halt (`venue halt` is ops'), ops may not set an AML hold (`venue accounts set`)
    console.login("cora")
    assert (
        _post_from_page(
            console, "/action/trading", {"csrf": _csrf(console), "symbol": "ACME", "command": "halt", "reason": "x"}
        )
        == 403
    )
    console.login("otto")
    assert (
        _post_from_page(
            console, "/action/hold", {"csrf": _csrf(console), "account": "B-BOB", "on": "yes", "reason": "x"}
        )
        == 403
    )
    # no CSRF token: the form is refused, nothing happens
    console.open("/actions")
    console.browser.execute_script("document.querySelector('#trading input[name=csrf]').remove()")
    console.browser.find_element("css selector", "#trading input[name=reason]").send_keys("no token")
    console.browser.find_element("id", "halt").click()
    WebDriverWait(console.browser, 10).until(lambda b: b.title.startswith("403"))
    assert "CSRF" in console.browser.find_element("id", "problem").text
    assert (
        _post_from_page(
            console, "/action/trading", {"csrf": "forged", "symbol": "ACME", "command": "halt", "reason": "x"}
        )
        == 403
    )
    # a reason is required
    assert (
        _post_from_page(
            console, "/action/trading", {"csrf": _csrf(console), "symbol": "ACME", "command": "halt", "reason": " "}
        )
        == 400
    )
    time.sleep(0.5)
    assert [m for m in brkb.drain(0.5) if m.type == "f"] == []
    store = _store(console.venue)
    try:
        assert store.load_world().securities["ACME"].trading_status.value == "open"
        assert [c for c in store.registry_changes() if c["entity"] == "halt"] == []
    finally:
        store.dispose()
    # compliance holds an account through the form; the audit names cora
    console.login("cora")
    console.open("/actions")
    console.browser.find_element("css selector", "#hold input[name=account]").send_keys("B-CAROL")
    console.browser.find_element("css selector", "#hold input[name=reason]").send_keys("sanctions screening hit")
    console.browser.find_element("id", "hold-on").click()
    WebDriverWait(console.browser, 10).until(lambda b: b.find_elements("css selector", "p.flash"))
    assert "AML hold on B-CAROL" in console.browser.find_element("css selector", "p.flash").text
    changes = json.loads(console.venue.cli("audit", "changes", "--account", "B-CAROL", "--json").stdout)
    assert [(c["operator"], c["reason"], c["after"]) for c in changes][-1] == (
        "cora",
        "sanctions screening hit",
        {"aml_flag": True},
    )


def test_a_wrong_token_does_not_log_in(console):
    console.login_with("token-of-nobody")
    assert console.browser.title.startswith("Log in")
    assert "not an operator's token" in console.browser.find_element("css selector", "p.error").text
    assert console.browser.get_cookies() == []
    console.open("/")
    assert console.browser.title.startswith("Log in")  # still not logged in: back to the login page
