"""Browser tests of the ops console: Debian's Chromium, headless, driven by Selenium through
/usr/bin/chromedriver, against a real sandbox venue (the `venue` fixture: SQLite and PostgreSQL)
with real FIX sessions (tests/fixclient.py)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait
from venuetest import OPERATOR_TOKENS, operators_section, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def chrome(window: tuple[int, int] = (1400, 1000)):
    """A headless Chromium under Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium per test worker (each test logs in afresh: `Console.login`)."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists() or shutil.which("chromedriver") is None:
        pytest.fail("Chromium is not installed: apt-get install chromium chromium-driver (scripts/setup.sh does)")
    driver = chrome()
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


class Console:
    """The console of a test venue, seen through the browser."""

    def __init__(self, venue, browser) -> None:
        self.venue, self.browser = venue, browser
        self.url = wait_for(self._printed_url, "the venue to print its console URL")

    def _printed_url(self) -> str | None:
        for line in self.venue.output:
            if m := re.match(r"console: (http://127\.0\.0\.1:\d+/)", line):
                return m.group(1)
        return None

    def open(self, path: str) -> None:
        self.browser.get(self.url + path.lstrip("/"))

    def login(self, name: str) -> None:
        """Log in as the test operator `name` (venuetest.OPERATOR_TOKENS) on a fresh browser state."""
        (token,) = (t for t, v in OPERATOR_TOKENS.items() if v.split(":")[0] == name)
        self.login_with(token)
        assert not self.browser.title.startswith("Log in"), self.text()

    def login_with(self, token: str) -> None:
        self.browser.delete_all_cookies()
        self.open("/login")
        self.browser.find_element("id", "token").send_keys(token)
        self.browser.find_element("id", "login").click()
        WebDriverWait(self.browser, 10).until(  # logged in (left the login page), or refused
            lambda b: not b.current_url.endswith("/login") or b.find_elements("css selector", "p.error")
        )

    def submit(self, button_id: str) -> None:
        """Click a form's submit button and wait for the page it loads (a click returns before the
        browser has navigated: reading the page at once can read the old one)."""
        from selenium.webdriver.support import expected_conditions

        page = self.browser.find_element("tag name", "html")
        self.browser.find_element("id", button_id).click()
        WebDriverWait(self.browser, 10).until(expected_conditions.staleness_of(page))

    def text(self) -> str:
        return self.browser.find_element("tag name", "body").text


@pytest.fixture
def console(venue, browser) -> Console:
    """The sandbox venue's console, its config listing the tests' operators (venuetest.OPERATOR_TOKENS:
    otto ops, cora compliance, rea read-only, ops-alice admin); read at each request, no restart."""
    config = venue.data_dir / "venue.toml"
    text = config.read_text()
    config.write_text(text[: text.index("\n[operators]")] + operators_section())
    return Console(venue, browser)
