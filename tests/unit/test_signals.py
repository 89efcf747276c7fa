"""A stop signal never hangs a process that waits on the Event its handler sets.

The child process waits on a ``threading.Event`` in a tight loop, as the venue's and the settlement
worker's main threads do, and a signal's stop callback sets that Event. Signals arrive at every
instant of the wait, including the few bytecodes where the waiting thread holds the Event's lock:
setting the Event inside the handler itself blocks there for good (the process then ignores SIGTERM
until SIGKILLed). The child must see all the signals it needs and exit on its own.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent("""
    import signal, sys, threading
    from venue.signals import stop_on_signals

    woken = threading.Event()
    stop_on_signals(lambda _signum: woken.set(), [signal.SIGUSR1])
    print("ready", flush=True)
    wakes = 0
    while wakes < int(sys.argv[1]):
        if woken.wait(0.00001):
            woken.clear()
            wakes += 1
    # Tell the parent, and exit only once it has stopped sending: the handler must stay in place
    # until then (at exit, Python puts back SIG_DFL, and one more SIGUSR1 would kill the child).
    print("done", flush=True)
    sys.stdin.read()
""")


def test_signals_at_any_instant_of_an_event_wait_never_hang_it():
    wakes = 2000
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(wakes)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline() == "ready\n"
        sent, deadline = 0, time.monotonic() + 60
        while not select.select([child.stdout], [], [], 0)[0] and time.monotonic() < deadline:
            os.kill(child.pid, signal.SIGUSR1)
            sent += 1
            time.sleep(0.0002)
        assert select.select([child.stdout], [], [], 5)[0], f"the child stopped answering signals ({sent} sent)"
        assert child.stdout.readline() == "done\n"
        child.stdin.close()  # signals stopped: the child may exit
        assert child.wait(5) == 0
        assert sent >= wakes
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
