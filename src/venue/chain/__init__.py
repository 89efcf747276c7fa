"""On-chain settlement: the ERC-3643 (T-REX) venue chain, the DvP contract and its Python client.

Only this package talks to a chain (and imports web3). Modules:

* ``backend``: connect to any JSON-RPC node; start the embedded node or anvil; raw JSON-RPC calls.
* ``embedded_node``: eth-tester's py-evm chain behind a JSON-RPC HTTP server
  (``python -m venue.chain.embedded_node --port N``).
* ``deploy``: deploy and wire the venue chain; onboard investors; mint; fund cash.
* ``settlement``: the DvP client (settle trades, read balances and eligibility).
* ``transactions``: signing, nonces, explicit gas, receipts, retries (one writer per key).
* ``errors``: the one error hierarchy, and where backend-specific failures are normalised.
* ``artifacts`` / ``contracts``: compiled contracts (own, committed; T-REX/ONCHAINID from npm).

See spec/settlement.md.
"""
