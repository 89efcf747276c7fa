"""The ClOrdIDs taken in a trading day, in memory that does not grow with every order.

A ClOrdID used by an accepted order, cancel or replace cannot be used again that day, nor while
its order is open (spec/rules-of-engagement.md). The venue must therefore remember every ClOrdID
of the day: at 300 messages a second that is a million a day. Kept as dict entries of
(CompID, ClOrdID) -> OrderID they cost some 230 bytes each, and the engine's memory would climb
all day.

`ClOrdIndex` keeps recent entries in a dict. When that holds `compact_every` entries, the entries
of orders that are no longer open move to sorted runs of 128-bit keys (two 64-bit halves of a
BLAKE2b digest of CompID and ClOrdID) with their OrderIDs: 24 bytes an entry. Runs of similar size
are merged, so a lookup searches a handful of runs. A digest collision would need about 2^64
entries; an OrderID is only ever read for a closed order from a run (a cancel of it is too late).
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping

Key = tuple[str, str]  # (CompID, ClOrdID)
_NO_ORDER = -1  # a request that named no order (stored as None in the dict)


def _digest(key: Key) -> tuple[int, int]:
    raw = hashlib.blake2b(f"{key[0]}\x01{key[1]}".encode(), digest_size=16).digest()
    return int.from_bytes(raw[:8], "big", signed=True), int.from_bytes(raw[8:], "big", signed=True)


class _Run:
    """Entries sorted by (high, low) half of their digest."""

    __slots__ = ("high", "low", "order_ids")

    def __init__(self, entries: Iterable[tuple[int, int, int]]) -> None:
        self.high, self.low, self.order_ids = array("q"), array("q"), array("q")
        for high, low, order_id in sorted(entries):
            self.high.append(high)
            self.low.append(low)
            self.order_ids.append(order_id)

    def __len__(self) -> int:
        return len(self.high)

    def find(self, high: int, low: int) -> int | None:
        """The stored OrderID (or _NO_ORDER), None when the digest is not here."""
        i = bisect.bisect_left(self.high, high)
        while i < len(self.high) and self.high[i] == high:
            if self.low[i] == low:
                return self.order_ids[i]
            i += 1
        return None

    def entries(self) -> Iterator[tuple[int, int, int]]:
        return zip(self.high, self.low, self.order_ids, strict=True)


class ClOrdIndex:
    """(CompID, ClOrdID) -> OrderID (None: a request that named no order) for one trading day.
    `is_open(order_id)` tells whether an order is still open: only the entries of open orders stay
    in the dict when it is compacted, and only they are kept at the turn of the day."""

    def __init__(
        self,
        entries: Mapping[Key, int | None] | None = None,
        is_open: Callable[[int], bool] = lambda _oid: False,
        compact_every: int = 50_000,
    ) -> None:
        self._recent: dict[Key, int | None] = dict(entries or {})
        self._runs: list[_Run] = []
        self._is_open = is_open
        self._compact_every = compact_every
        self._compact_at = compact_every

    def __len__(self) -> int:
        return len(self._recent) + sum(len(run) for run in self._runs)

    def __contains__(self, key: Key) -> bool:
        if key in self._recent:
            return True
        return bool(self._runs) and self._find(key) is not None

    def get(self, key: Key) -> int | None:
        if key in self._recent:
            return self._recent[key]
        if not self._runs:
            return None
        found = self._find(key)
        return None if found is None or found == _NO_ORDER else found

    def __setitem__(self, key: Key, order_id: int | None) -> None:
        self._recent[key] = order_id
        if len(self._recent) >= self._compact_at:
            self.compact()

    def _find(self, key: Key) -> int | None:
        high, low = _digest(key)
        for run in reversed(self._runs):  # newest first
            found = run.find(high, low)
            if found is not None:
                return found
        return None

    def compact(self) -> None:
        """Move the entries of orders no longer open out of the dict into a sorted run; merge runs
        of similar size."""
        is_open = self._is_open
        keep: dict[Key, int | None] = {}
        moved: list[tuple[int, int, int]] = []
        for key, order_id in self._recent.items():
            if order_id is not None and is_open(order_id):
                keep[key] = order_id
            else:
                moved.append((*_digest(key), _NO_ORDER if order_id is None else order_id))
        self._recent = keep
        # Many open orders stay in the dict: compact again only once as many new entries came.
        self._compact_at = len(keep) + self._compact_every
        if not moved:
            return
        runs = self._runs
        runs.append(_Run(moved))
        while len(runs) > 1 and len(runs[-2]) <= 2 * len(runs[-1]):
            newer, older = runs.pop(), runs.pop()
            runs.append(_Run([*older.entries(), *newer.entries()]))

    def new_day(self) -> None:
        """A new trading day: only the ClOrdIDs of open orders stay taken (their entries are in the
        dict: a run holds closed orders only, and an order closes only once)."""
        is_open = self._is_open
        self._recent = {k: v for k, v in self._recent.items() if v is not None and is_open(v)}
        self._runs = []
        self._compact_at = len(self._recent) + self._compact_every
