"""The gates' view of the chain (venue.chain.view.ChainView) against a real node: what a snapshot
holds, the canTransfer bounds it probes, a question asked on the spot, and a node that is gone."""

from __future__ import annotations

import time
from decimal import Decimal

from venue.chain.deploy import freeze_partial_tokens, sandbox_issuer_key, set_holding_period, set_wallet_frozen
from venue.chain.view import ChainView

KEY = sandbox_issuer_key()  # the sandbox issuer is the tokens' agent
YEAR = 365 * 86_400


def test_a_snapshot_holds_what_the_token_and_the_stablecoin_would_let_a_settlement_take(chain):
    client = chain.client()
    set_wallet_frozen(chain.w3, chain.deployment, KEY, "B-BOB", "BETA", True)
    freeze_partial_tokens(chain.w3, chain.deployment, KEY, "A-ALICE", "ACME", 7)
    snap = ChainView(chain.url, chain.deployment).refresh()
    assert snap.block == chain.w3.eth.block_number
    assert snap.verified == {a: True for a in chain.deployment.investors}
    assert snap.paused == {"ACME": False, "BETA": False}
    assert snap.frozen[("B-BOB", "BETA")] and not snap.frozen[("B-BOB", "ACME")]
    assert snap.tokens[("A-ALICE", "ACME")] == client.token_balance("A-ALICE", "ACME") - 7
    assert snap.tokens[("B-BOB", "ACME")] == client.token_balance("B-BOB", "ACME")
    assert snap.cash["B-BOB"] == Decimal(client.cash_balance("B-BOB")) / 10**6
    # canTransfer passes at the seller's whole deliverable balance: every smaller quantity passes
    bounds = snap.transfers[("ACME", "A-ALICE", "B-BOB")]
    assert (bounds.ok, bounds.refused) == (snap.tokens[("A-ALICE", "ACME")], None)


def test_refused_transfers_are_bisected_and_a_quantity_in_between_is_asked_on_the_spot(chain):
    view = ChainView(chain.url, chain.deployment)
    set_holding_period(chain.w3, chain.deployment, KEY, "ACME", YEAR)  # every lot locked
    snap = view.refresh()
    bounds = snap.transfers[("ACME", "B-BOB", "A-ALICE")]
    assert (bounds.ok, bounds.refused) == (0, 1), "nothing can move"
    assert view.can_transfer("ACME", "B-BOB", "A-ALICE", 5) is False
    assert view.calls_on_demand == 0, "answered from the bounds"

    set_holding_period(chain.w3, chain.deployment, KEY, "ACME", 0)  # after the snapshot: it still says refused
    assert view.can_transfer("ACME", "B-BOB", "A-ALICE", 5) is False
    # A quantity the snapshot cannot decide is asked of the node now, and remembered.
    snap.transfers[("ACME", "B-BOB", "A-ALICE")].refused = None
    assert view.can_transfer("ACME", "B-BOB", "A-ALICE", 5) is True
    assert view.calls_on_demand == 1
    assert view.can_transfer("ACME", "B-BOB", "A-ALICE", 3) is True
    assert view.calls_on_demand == 1, "3 <= 5 is known to pass"
    assert view.can_transfer("ACME", "NOBODY", "A-ALICE", 3) is None, "no wallet: unknown"


def test_a_node_that_is_gone_gives_unknown_at_once_and_is_not_asked_again_for_a_while(chain):
    view = ChainView(chain.url, chain.deployment)
    view.refresh()
    view.snapshot().transfers.clear()  # nothing known: every question goes to the node
    # The node is shared by this session's tests, so rather than stop it, point the view at a port
    # nothing listens on (the discard port): the same refused connection a dead node gives.
    view._url = "http://127.0.0.1:9"
    started = time.monotonic()
    assert view.can_transfer("ACME", "B-BOB", "A-ALICE", 5) is None
    assert view.can_transfer("ACME", "B-BOB", "A-ALICE", 6) is None
    assert time.monotonic() - started < 2.0, "an order does not wait on a dead node"
    assert view.calls_on_demand == 0
    assert view.verified("A-ALICE") is True, "the last snapshot still answers"
