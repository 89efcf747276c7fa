"""PlainBook, book_bench's speed baseline, answers exactly as FastBook does, event for event.

book_bench compares their checksums on 1M operations; here seeded streams check the same thing
op by op: the bench's own stream, and a mixed one with IOC and market orders, self-match
prevention, few accounts, the price band, duplicate ids and cancels of unknown orders.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from book_bench import make_stream  # noqa: E402
from plain_book import PlainBook  # noqa: E402

from venue.book.base import BookConfig  # noqa: E402
from venue.book.fast import FastBook  # noqa: E402
from venue.book.types import (  # noqa: E402
    NewOrder,
    OrdType,
    Phase,
    RestingOrder,
    SelfMatchPrevention,
    Side,
    TimeInForce,
)


def mixed_commands(seed: int, n: int) -> list[tuple]:
    """n commands ("submit", NewOrder) | ("cancel", id) around a reference of 1,000 ticks."""
    rng = random.Random(seed)
    accounts = [f"a{i}" for i in range(5)]
    tifs = [TimeInForce.DAY] * 5 + [TimeInForce.GTC, TimeInForce.GTD, TimeInForce.IOC, TimeInForce.IOC]
    commands: list[tuple] = []
    next_id = 1
    for _ in range(n):
        roll = rng.randrange(100)
        if roll < 20 and next_id > 1:
            commands.append(("cancel", rng.randrange(1, next_id + 5)))  # some unknown, some done
            continue
        side = rng.choice((Side.BUY, Side.SELL))
        qty = rng.randrange(1, 30)
        account = rng.choice(accounts)
        smp = rng.choice(list(SelfMatchPrevention))
        order_id = rng.randrange(1, next_id) if roll < 22 and next_id > 1 else next_id  # a few duplicates
        if roll < 27:
            order = NewOrder(order_id, account, side, OrdType.MARKET, None, qty, TimeInForce.DAY, smp=smp)
        else:
            # mostly near their own side; a few reach far across, some beyond the band
            away = rng.randrange(-5, 20) if rng.randrange(30) else -rng.randrange(90, 130)
            price = 1_000 - away if side is Side.BUY else 1_000 + away
            order = NewOrder(order_id, account, side, OrdType.LIMIT, price, qty, rng.choice(tifs), smp=smp)
        commands.append(("submit", order))
        next_id += order_id == next_id
    return commands


def assert_same_books(plain: PlainBook, fast: FastBook) -> None:
    plain.validate_internal_state()
    fast.validate_internal_state()
    assert list(plain.resting_orders()) == list(fast.resting_orders())
    for side in Side:
        assert plain.depth(side, 5) == fast.depth(side, 5)
    assert plain.reference_price == fast.reference_price


def test_bench_stream_event_for_event() -> None:
    plain, fast = PlainBook(), FastBook()
    for step, (is_order, arg) in enumerate(make_stream(30_000, seed=7)):
        if is_order:
            assert plain.submit(arg) == fast.submit(arg), f"op {step}: submit {arg}"
        else:
            assert plain.cancel(arg) == fast.cancel(arg), f"op {step}: cancel {arg}"
    assert_same_books(plain, fast)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mixed_stream_event_for_event(seed: int) -> None:
    config = BookConfig(reference_price=1_000, band_bps=1_000)
    plain, fast = PlainBook(config), FastBook(config)
    for step, command in enumerate(mixed_commands(seed, 8_000)):
        if command[0] == "submit":
            assert plain.submit(command[1]) == fast.submit(command[1]), f"op {step}: {command}"
        else:
            assert plain.cancel(command[1]) == fast.cancel(command[1]), f"op {step}: {command}"
            assert plain.get(command[1]) is None
        if step % 1_000 == 0:
            assert_same_books(plain, fast)
    assert_same_books(plain, fast)


def test_features_it_does_not_need_raise_not_implemented() -> None:
    book = PlainBook()
    fok = NewOrder(1, "a", Side.BUY, OrdType.LIMIT, 100, 10, TimeInForce.FOK)
    min_qty = NewOrder(2, "a", Side.BUY, OrdType.LIMIT, 100, 10, TimeInForce.DAY, min_qty=5)
    resting = NewOrder(3, "a", Side.BUY, OrdType.LIMIT, 100, 10, TimeInForce.DAY)
    for call in (
        lambda: book.submit(fok),
        lambda: book.submit(min_qty),
        lambda: book.replace(3, 5, None),
        lambda: book.restore(RestingOrder(resting, 10, 0, 1)),
        lambda: book.set_phase(Phase.PRE_OPEN),
        lambda: book.uncross(),
        lambda: book.crossing(Side.SELL, 100, "b", 10),
        lambda: PlainBook(phase=Phase.OPENING_AUCTION),
    ):
        with pytest.raises(NotImplementedError):
            call()
    assert list(book.resting_orders()) == []
