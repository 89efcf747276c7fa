"""The host clock's synchronization state, read from the kernel: what CAT's clock-synchronization
rule asks a reporter to keep a record of (CAT NMS Plan section 6.8: clocks synchronized to NIST
within 50 ms for order events).

Read with adjtimex(2) in read-only mode (`modes = 0`, no privilege needed) through `ctypes`, so no
external program (timedatectl, chronyc) is involved. The kernel's NTP state is what the time daemon
(chrony, ntpd, systemd-timesyncd) keeps up to date:

- `STA_UNSYNC` in `status` (or the call returning `TIME_ERROR`) means the clock is not synchronized;
- `esterror` is the estimated error and `maxerror` the maximum error, both in microseconds;
- `offset` is the last offset the daemon measured (nanoseconds when `STA_NANO` is set).

This module owns that one outside thing; `venue.reports.store` keeps the readings and the CAT
export shows the day's in its header.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

TIME_ERROR = 5  # adjtimex's return value: the clock is not synchronized
STA_UNSYNC = 0x0040
STA_NANO = 0x2000
SOURCE = "adjtimex"


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """struct timex of <sys/timex.h> (glibc, Linux)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


def read_clock_sync(at_us: int) -> dict:
    """The clock's state now, as a `clock_sync` row taken at `at_us`: `synchronized`,
    `est_error_us`, `max_error_us`, `offset_us`, `status` (the kernel's STA_* bits) and `source`.
    When the state cannot be read (not Linux, the call refused) the row says so in `source` and
    counts as not synchronized: nothing shows that it was."""
    if not sys.platform.startswith("linux"):
        return _unknown(at_us, f"{SOURCE} unavailable on {sys.platform}")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError) as exc:
        return _unknown(at_us, f"{SOURCE} unavailable: {exc}")
    adjtimex.argtypes = [ctypes.POINTER(_Timex)]
    adjtimex.restype = ctypes.c_int
    tx = _Timex()  # modes 0: read only
    state = adjtimex(ctypes.byref(tx))
    if state == -1:
        return _unknown(at_us, f"{SOURCE} failed: errno {ctypes.get_errno()}")
    offset_us = tx.offset // 1000 if tx.status & STA_NANO else tx.offset
    return {
        "at_us": at_us,
        "synchronized": state != TIME_ERROR and not tx.status & STA_UNSYNC,
        "est_error_us": int(tx.esterror),
        "max_error_us": int(tx.maxerror),
        "offset_us": int(offset_us),
        "status": int(tx.status),
        "source": SOURCE,
    }


def _unknown(at_us: int, why: str) -> dict:
    return {
        "at_us": at_us,
        "synchronized": False,
        "est_error_us": None,
        "max_error_us": None,
        "offset_us": None,
        "status": None,
        "source": why,
    }
