"""Stopping a process on SIGTERM/SIGINT without taking a lock inside the signal handler.

Python runs a signal handler in the main thread between two bytecodes, possibly while that thread
holds a lock. A handler that sets a ``threading.Event`` the main thread is waiting on can land
between the wait taking the Event's (non-reentrant) lock and releasing it; ``Event.set`` then waits
for that lock, held by the thread it interrupted, forever. The process ignores SIGTERM and has to be
SIGKILLed. So the handler here only starts a thread, and that thread does the stopping.

Starting a thread waits for it to run, and a signal that arrives meanwhile runs the handler again,
inside the first: a storm of signals on a busy machine nested handlers until the interpreter's
recursion limit killed the process. A signal that arrives while the handler is starting a thread
for that same signal is taken by the thread being started (it stops once for both).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable


def stop_on_signals(
    stop: Callable[[int], None], signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
) -> None:
    """Call ``stop(signum)`` on a short-lived thread of its own when one of ``signals`` arrives."""

    starting: set[int] = set()  # signals whose thread the handler is starting (no lock: see above)

    def handler(signum: int, _frame: object) -> None:
        if signum in starting:
            return
        starting.add(signum)
        try:
            threading.Thread(target=stop, args=(signum,), name=f"stop-on-signal-{signum}", daemon=True).start()
        finally:
            starting.discard(signum)

    for sig in signals:
        signal.signal(sig, handler)
