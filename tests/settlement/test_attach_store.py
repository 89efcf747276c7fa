"""`venue securities attach` in the store: the registry change and the positions taken from the
chain are one transaction; lots keep the on-chain tacking dates when they add up to the holding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from venue.model import Offering, Security
from venue.store.repository import StoreError
from venue.store.settlement import SettlementStore

DAY_US = 86_400 * 1_000_000
CHANGE = ({}, {"token": "0xToken"}, "ops-tester", "issuer listing")


def _lots(store, symbol):
    return sorted((r["account_id"], r["quantity"], r["tacking_us"]) for r in store.lots(symbol=symbol))


def test_positions_and_lots_from_the_chain_with_the_registry_change(store):
    store.add_security(Security("ISSR", "Issuer Co", Decimal("0.01"), 1, Offering.REGISTERED))
    settlement = SettlementStore(store)
    chain_lots = {"A-ALICE": [(10 * DAY_US, 60), (20 * DAY_US, 40)], "B-BOB": [(5 * DAY_US, 1)]}
    settlement.record_attach("ISSR", CHANGE, {"A-ALICE": 100, "B-BOB": 7, "B-CAROL": 0}, chain_lots, at_us=99 * DAY_US)
    assert settlement.positions("ISSR") == {("A-ALICE", "ISSR"): Decimal(100), ("B-BOB", "ISSR"): Decimal(7)}
    assert _lots(store, "ISSR") == [
        ("A-ALICE", 40, 20 * DAY_US),
        ("A-ALICE", 60, 10 * DAY_US),
        ("B-BOB", 7, 99 * DAY_US),  # its on-chain lots did not add up to its balance: one opening lot
    ]
    change = [c for c in store.registry_changes() if c["entity"] == "security" and c["key"] == "ISSR"][-1]
    assert (change["operator"], change["reason"]) == ("ops-tester", "issuer listing")

    # A second import of the same symbol is refused, and its registry change goes with it.
    count = len(store.registry_changes())
    with pytest.raises(StoreError, match="already holds ISSR"):
        settlement.record_attach("ISSR", CHANGE, {"A-ALICE": 1})
    assert len(store.registry_changes()) == count
    settlement.record_attach("ISSR", CHANGE)  # no positions: only the change
    assert len(store.registry_changes()) == count + 1
