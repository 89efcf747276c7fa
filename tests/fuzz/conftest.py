"""The fuzz run's summary: messages sent, answers by type, reconnects; crashes are test failures
(every fuzz test checks the venue process is alive and still trades afterwards)."""

from __future__ import annotations

import fuzzfix


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest's hook
    tally = fuzzfix.TALLY
    if not tally:
        return
    answers = ", ".join(f"{k.split('=')[1]}: {v}" for k, v in sorted(tally.items()) if k.startswith("answers"))
    crashed = sum(1 for r in terminalreporter.stats.get("failed", []) if "fuzz" in r.nodeid)
    terminalreporter.write_line(
        f"fuzz: {tally['messages sent']} messages sent; answers by MsgType: {answers}; "
        f"{tally['reconnects after a logout or disconnect']} reconnects; failed fuzz tests (crash or wrong answer): "
        f"{crashed}"
    )
