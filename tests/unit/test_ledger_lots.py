"""Lots: the incremental unlocked-prefix count agrees with the plain definition (sum of lots past
their holding period, sales consuming the oldest lots first) on random histories."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from venue.ledger import Lots

OPS = st.lists(st.tuples(st.sampled_from(["add", "sell", "tick", "check"]), st.integers(1, 50),
                         st.integers(0, 30)), max_size=120)


@settings(max_examples=300, deadline=None)
@given(OPS, st.integers(1, 40))
def test_unlocked_matches_the_definition(ops, period):
    lots, plain, now = Lots(), [], 0
    for op, qty, dt in ops:
        if op == "add":
            acquired = now - dt  # mostly in order; sometimes older than the last lot (loading)
            lots.add(acquired, qty)
            plain.append([acquired, qty])
            plain.sort(key=lambda lot: lot[0])
        elif op == "sell":
            lots.consume(qty)
            left = qty
            while left and plain:
                take = min(left, plain[0][1])
                plain[0][1] -= take
                left -= take
                if not plain[0][1]:
                    plain.pop(0)
        elif op == "tick":
            now += dt
        expected = sum(q for acquired, q in plain if acquired + period <= now)
        assert lots.unlocked(now, period) == expected
        assert list(lots) == [tuple(lot) for lot in plain]
