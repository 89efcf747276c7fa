"""Lots: the incremental unlocked-prefix count agrees with the plain definition (sum of lots whose
holding period of calendar months is over, sales consuming the earliest tacking dates first) on
random histories, lots arriving out of tacking order included (a purchase that tacks)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from venue.clock import DAY_US
from venue.ledger import Lots
from venue.resale import release_us

START = 19_700 * DAY_US  # 2023-12-08: histories cross month ends and the leap day of 2024

OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "sell", "tick", "check"]),
        st.integers(1, 50),
        st.integers(0, 400),  # days: a tacking date that far back, or a tick that long
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(OPS, st.sampled_from([1, 6, 12]), st.integers(0, DAY_US - 1))
def test_unlocked_matches_the_definition(ops, months, offset):
    lots, plain, now = Lots(), [], START + offset
    for op, qty, days in ops:
        if op == "add":
            tacking = now - days * DAY_US  # mostly now; often earlier than the last lot (a tacked purchase)
            lots.add(tacking, qty)
            plain.append([tacking, qty])
            plain.sort(key=lambda lot: lot[0])  # stable: after lots with the same date
        elif op == "sell":
            pieces = lots.consume(qty)
            left, taken = qty, []
            while left and plain:
                take = min(left, plain[0][1])
                taken.append((plain[0][0], take))
                plain[0][1] -= take
                left -= take
                if not plain[0][1]:
                    plain.pop(0)
            assert pieces == taken
        elif op == "tick":
            now += days * DAY_US // 7
        expected = sum(q for tacking, q in plain if release_us(tacking, months) <= now)
        assert lots.unlocked(now, months) == expected
        assert list(lots) == [tuple(lot) for lot in plain]
