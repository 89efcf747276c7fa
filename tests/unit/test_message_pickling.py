"""Commands and reports cross between the FIX and engine processes pickled (venue.engine_process),
each as (class, field values) (venue.messages.pickled_by_fields): every one must come back equal,
of its own class, with each value in its own field."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from decimal import Decimal

import pytest

from venue import market_data, messages

CLASSES = sorted(
    {
        cls
        for module in (messages, market_data)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if dataclasses.is_dataclass(cls)
        and cls.__module__ == module.__name__
        and dataclasses.fields(cls)
        and cls.__dataclass_params__.frozen
        and not cls.__name__.startswith("_")
    },
    key=lambda c: c.__name__,
)


def test_every_message_class_is_covered():
    names = {c.__name__ for c in CLASSES}
    assert {"NewOrderCommand", "ExecutionReport", "MarketDataSnapshot", "SettlementReport"} <= names
    for cls in CLASSES:
        assert "__reduce__" in vars(cls), f"{cls.__name__} is pickled by the dataclass default"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_round_trip_keeps_each_field(cls):
    values = [(f"v{i}", Decimal(i) / 7, i, None, (f"t{i}",))[i % 5] for i in range(len(dataclasses.fields(cls)))]
    obj = cls(*values)
    back = pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(back) is cls and back == obj
    assert [getattr(back, f.name) for f in dataclasses.fields(cls)] == values
