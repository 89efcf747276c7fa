"""The venue's two processes (venue.engine_process): the FIX process and its engine child live and
die together, and a venue never runs without its journal."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
from fixclient import FixClient
from venuetest import free_port


def _engine_pid(venue) -> int:
    """The engine child of the venue process (its command line names venue.engine_process)."""
    out = subprocess.run(
        ["pgrep", "-P", str(venue.proc.pid), "-f", "venue.engine_process"], capture_output=True, text=True
    ).stdout.split()
    assert len(out) == 1, f"one engine process expected, found {out}"
    return int(out[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def _wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_orders_cross_the_two_processes_and_a_clean_stop_leaves_no_engine(venue, connect):
    engine = _engine_pid(venue)
    brka, brkb = connect("BRKA"), connect("BRKB")
    brka.new_order("S1", "ACME", "2", 10, "10.00", account="A-ALICE")
    assert brka.exec_report("S1")[150] == "0"
    brkb.new_order("B1", "ACME", "1", 10, "10.00", account="B-BOB")
    assert brkb.exec_report("B1", "F")[880] == brka.exec_report("S1", "F")[880]
    assert venue.stop() == 0
    assert _wait_dead(engine), "the engine stops with the venue"


def test_the_venue_exits_70_when_its_engine_dies_and_a_restart_has_every_acked_order(venue, connect):
    brka = connect("BRKA")
    brka.new_order("K1", "ACME", "1", 5, "9.00", account="A-ALICE")
    order_id = brka.exec_report("K1")[37]
    os.kill(_engine_pid(venue), signal.SIGKILL)
    assert venue.proc.wait(30) == 70, "no journal, no venue"
    assert "engine process ended" in "".join(venue.output)
    venue.restart()
    again = FixClient(venue.port, "BRKA", seq=brka.out_seq)  # the session goes on where it was
    assert again.logon().type == "A"
    again.status("Q1", "ACME", "1", order_id=order_id)
    status = again.exec_report(exec_type="I")
    again.logout(timeout=1)
    assert (status[37], status[39], status[151]) == (order_id, "0", "5")


def test_killing_the_fix_process_takes_the_engine_with_it(venue):
    engine = _engine_pid(venue)
    venue.kill()
    assert _wait_dead(engine), "an engine without its FIX process would hold the journal"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_port_in_use_stops_the_venue_at_once_with_no_engine_left(venue):
    venue.stop()
    before = set(_engines())
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        proc = subprocess.Popen(
            venue._cmd("--config", str(venue.data_dir / "venue.toml"), "serve", "--port", str(port)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            out, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode != 0 and time.monotonic() - started < 20, out
    assert str(port) in out, out
    time.sleep(0.5)
    # Engines of other venues (other test workers) have their own venue as parent: only this
    # venue's child, or an orphan (re-parented to init), would be one left behind.
    left = [pid for pid in _engines() if pid not in before and _alive(pid) and _parent(pid) in (proc.pid, 1)]
    assert left == [], "no engine left behind"


def _parent(pid: int) -> int | None:
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _engines() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "venue.engine_process"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]
