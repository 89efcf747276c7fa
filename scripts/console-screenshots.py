#!/usr/bin/env python3
"""Screenshots of every page of the ops console, into docs/console/ (PNG).

Starts a fresh sandbox venue in a temporary folder (settlement on a local anvil node when the npm
packages are installed, else none), trades a little over FIX (a market maker's ladder, a few
crossing orders, one order the gates refuse), logs in with the sandbox admin's console token in a
headless Chromium and saves each page. Run: .venv/bin/python scripts/console-screenshots.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import chrome  # noqa: E402  (tests/browser: headless Chromium under Selenium)
from fixclient import FixClient  # noqa: E402
from venuetest import free_port  # noqa: E402

OUT = ROOT / "docs" / "console"
REASON = "console screenshots for the documentation"


def start_sandbox(data_dir: Path, port: int, chain: str) -> tuple[subprocess.Popen, list[str]]:
    cmd = [sys.executable, "-m", "venue.cli", "sandbox", "--port", str(port), "--tls-port", str(free_port(port))]
    cmd += ["--data-dir", str(data_dir), "--chain", chain]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("venue ready"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(180):
        proc.terminate()
        raise SystemExit("the sandbox did not start:\n" + "".join(lines[-30:]))
    return proc, lines


def trade(port: int) -> list[FixClient]:
    """A market maker's ladder on both securities, crossing orders, one refused order; the sessions
    stay logged on (MM1 cancels on disconnect) and are returned."""
    mm, brka, brkb = (FixClient(port, comp_id) for comp_id in ("MM1", "BRKA", "BRKB"))
    for client in (mm, brka, brkb):
        assert client.logon().type == "A"
    n = 0
    for symbol, mid, step, lot in (("ACME", 10.0, 0.05, 1), ("BETA", 25.0, 0.10, 10)):
        for level in range(1, 6):
            for side, sign in (("1", -1), ("2", 1)):
                n += 1
                mm.new_order(
                    f"Q{n}", symbol, side, 100 * level * lot, f"{mid + sign * step * level:.2f}", account="M-MAKER"
                )
                mm.exec_report(f"Q{n}")
    brka.new_order("A1", "ACME", "1", 150, "10.10", account="A-ALICE")  # lifts two offer levels
    brka.exec_report("A1", "F")
    brkb.new_order("B1", "ACME", "2", 80, "9.95", account="B-BOB")
    brkb.exec_report("B1", "F")
    brkb.new_order("B2", "BETA", "1", 500, "25.10", account="B-BOB")
    brkb.exec_report("B2", "F")
    brkb.new_order("C1", "ACME", "2", 500, "10.00", account="B-CAROL")  # inside its holding period: refused
    brkb.exec_report("C1")
    return [mm, brka, brkb]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    chain = "anvil" if (ROOT / "node_modules" / "@foundry-rs" / "anvil").exists() else "none"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "sandbox"
        port = free_port()
        proc, lines = start_sandbox(data_dir, port, chain)
        try:
            url = next(m.group(1) for line in lines if (m := re.match(r"console: (http://\S+/)", line)))
            token = (data_dir / "console-token").read_text().strip()
            watcher = FixClient(port, "OPSDC")  # a session up on the overview
            watcher.logon()
            sessions = [watcher, *trade(port)]
            time.sleep(6 if chain != "none" else 1)  # settlement: transaction hashes on the settlement page
            browser = chrome((1360, 900))
            try:
                browser.get(url + "login")
                browser.save_screenshot(str(OUT / "login.png"))
                browser.find_element("id", "token").send_keys(token)
                browser.find_element("id", "login").click()
                shots = [
                    ("overview", ""),
                    ("book", "book?symbol=ACME"),
                    ("orders", f"orders?status=all&reason={REASON}"),
                    ("gates", f"gates?outcome=reject&reason={REASON}"),
                    ("settlement", f"settlement?reason={REASON}"),
                    ("fair-access", f"fair-access?reason={REASON}"),
                    ("actions", "actions"),
                ]
                for name, path in shots:
                    browser.get(url + path)
                    time.sleep(1.0)  # the live parts have had their first update
                    browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
                    height = browser.execute_script("return document.body.scrollHeight")
                    browser.set_window_size(1360, max(900, min(height + 40, 3000)))
                    browser.save_screenshot(str(OUT / f"{name}.png"))
                    browser.set_window_size(1360, 900)
                    print(f"wrote {OUT.relative_to(ROOT) / (name + '.png')}")
            finally:
                browser.quit()
            for client in sessions:
                client.logout(timeout=2)
        finally:
            proc.terminate()
            proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
