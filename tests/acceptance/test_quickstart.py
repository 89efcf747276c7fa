"""The README's first command brings up a sandbox a FIX client can trade on."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

from fixclient import FixClient
from venuetest import ROOT, free_port


def test_make_sandbox_then_a_first_trade(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        ["make", "sandbox", f"ARGS=--port {port} --data-dir {tmp_path / 'sb'}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    ready, lines = threading.Event(), []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "venue ready" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        assert ready.wait(300), "sandbox did not start:\n" + "".join(lines[-30:])
        brka, brkb, ops = (FixClient(port, c) for c in ("BRKA", "BRKB", "OPSDC"))
        assert brka.logon().type == "A" and brkb.logon().type == "A" and ops.logon().type == "A"
        brka.new_order("QS-S", "ACME", "2", 100, "10.00", account="A-ALICE")
        assert brka.exec_report("QS-S", "0")[39] == "0"
        brkb.new_order("QS-B", "ACME", "1", 100, "10.00", account="B-BOB")
        buy, sell = brkb.exec_report("QS-B", "F"), brka.exec_report("QS-S", "F")
        assert buy[880] == sell[880]
        assert (buy[39], sell[39], buy[32], sell[32], buy[31]) == ("2", "2", "100", "100", "10.00")
        for c in (brka, brkb, ops):
            c.logout()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
