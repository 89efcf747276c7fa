"""`venue accounts set-wallet`: an investor's own wallet, by address only. The venue records the
address (and the registry change), never a key; it refuses another account's wallet, an unknown
account and what is not an address; a wallet the venue's registry does not verify, or one that does
not yet hold the account's ledger holdings, is noted."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from eth_account import Account
from settle_world import start_node
from venuetest import TEST_READ_REASON, operators_section

from venue.chain.deploy import Deployment
from venue.chain.service import deploy_sandbox_chain


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_account_settles_from_an_address_it_gives(store, store_url, tmp_path):
    from venue.cli import main

    config = tmp_path / "venue.toml"
    config.write_text(f'[venue]\ndata_dir = "."\ndatabase_url = "{store_url}"\n' + operators_section())

    def venue(*args):
        return CliRunner().invoke(
            main, ["--config", str(config), *args], catch_exceptions=False, env={"VENUE_READ_REASON": TEST_READ_REASON}
        )

    with start_node("anvil") as node:
        chain = deploy_sandbox_chain(store, tmp_path, url=node.url)
        chain.write_config(config)
        own = Account.create()  # Bob's own key: the test holds it, the venue never sees it
        ok = venue("accounts", "set-wallet", "B-BOB", "--address", own.address, "--reason", "client's wallet")
        assert ok.exit_code == 0, ok.output
        assert f"B-BOB settles from wallet {own.address}" in ok.output
        assert "not verified in the venue's identity registry" in ok.output
        assert "the ledger holds" in ok.output and "ACME" in ok.output
        text = chain.deployment_path.read_text()
        d = Deployment.from_json(text)
        assert d.wallet("B-BOB").address == own.address and d.wallet("B-BOB").identity == ""
        assert own.key.hex().removeprefix("0x") not in text
        change = [c for c in store.registry_changes(account="B-BOB") if c["entity"] == "investor"][-1]
        assert json.loads(change["after"])["wallet"] == own.address and change["reason"] == "client's wallet"
        assert json.loads(change["before"])["wallet"] == chain.deployment.wallet("B-BOB").address

        alice = d.wallet("A-ALICE").address
        taken = venue("accounts", "set-wallet", "B-CAROL", "--address", alice, "--reason", "x")
        assert taken.exit_code == 1 and f"{alice} is already the wallet of A-ALICE" in taken.output
        unknown = venue("accounts", "set-wallet", "Z-NOBODY", "--address", own.address, "--reason", "x")
        assert unknown.exit_code == 1 and "no account Z-NOBODY" in unknown.output
        bad = venue("accounts", "set-wallet", "B-CAROL", "--address", "0x12", "--reason", "x")
        assert bad.exit_code == 1 and "is not an address" in bad.output
        assert Deployment.from_json(chain.deployment_path.read_text()) == d, "refusals write nothing"
