"""The day's ClOrdID index: the same answers as a plain dict, whatever has been compacted."""

from __future__ import annotations

import random
import sys

from venue.core.cl_ord_ids import ClOrdIndex


def test_answers_as_a_dict_would_through_compactions_and_merges():
    rng = random.Random(5)
    open_orders: set[int] = set()
    index = ClOrdIndex(is_open=open_orders.__contains__, compact_every=64)
    reference: dict[tuple[str, str], int | None] = {}
    next_id = 0
    for i in range(5_000):
        comp = rng.choice(("BRKA", "BRKB", "MM1"))
        key = (comp, f"C{i}")
        if rng.random() < 0.2 and reference:  # a cancel's request id, naming an order (or none)
            order_id = rng.choice([None, *list(reference.values())[-50:]])
        else:
            next_id += 1
            order_id = next_id
            open_orders.add(order_id)
        index[key] = order_id
        reference[key] = order_id
        if open_orders and rng.random() < 0.7:
            open_orders.discard(rng.choice(sorted(open_orders)[:20]))  # an order closes
    assert len(index) == len(reference)
    for key, order_id in reference.items():
        assert key in index and index.get(key) == order_id
    for key in [("BRKA", "never"), ("BRKC", "C1"), ("BRKB", "C1\x01x")]:
        assert key not in index and index.get(key) is None


def test_a_new_day_keeps_only_the_ids_of_open_orders():
    open_orders = {2}
    index = ClOrdIndex({("BRKA", "A1"): 1, ("BRKA", "A2"): 2, ("BRKA", "X"): None}, open_orders.__contains__, 2)
    index[("BRKA", "A3")] = 3  # compacts: A2 stays in the dict, A1, X and A3 go to a run
    assert ("BRKA", "A1") in index and index.get(("BRKA", "X")) is None and ("BRKA", "X") in index
    index.new_day()
    assert [k for k in (("BRKA", "A1"), ("BRKA", "A2"), ("BRKA", "A3"), ("BRKA", "X")) if k in index] == [
        ("BRKA", "A2")
    ]
    assert index.get(("BRKA", "A2")) == 2


def test_a_compacted_entry_costs_under_a_fifth_of_a_dict_entry():
    index = ClOrdIndex(compact_every=10_000)
    for i in range(100_000):
        index[("BRKA", f"ORDER-{i:08d}")] = i + 1
    runs = sum(sys.getsizeof(a) for run in index._runs for a in (run.high, run.low, run.order_ids))
    assert len(index) == 100_000 and runs < 100_000 * 30, "24 bytes an entry, plus array slack"
    as_dict = {("BRKA", f"ORDER-{i:08d}"): i + 1 for i in range(100_000)}
    dict_bytes = sys.getsizeof(as_dict) + sum(sys.getsizeof(k) + sys.getsizeof(k[1]) for k in as_dict)
    assert runs * 5 < dict_bytes
