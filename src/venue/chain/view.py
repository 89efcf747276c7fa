"""What the matching process knows of the chain: a cache of each investor wallet's standing in the
token's identity registry (ERC-3643 `isVerified`), refreshed by a background thread.

The gates must never wait for the chain, so they read this cache (a dict lookup); the refresher
asks the node with `eth_call` every `refresh_s` seconds. An account the cache has not seen yet, or
a node that does not answer, gives "unknown" and the gate passes: the settlement worker checks
every leg again (`transferFrom` runs the token's own compliance) and a leg that fails busts the
trade. The cache narrows the window in which a trade can be busted; it cannot close it.
"""

from __future__ import annotations

import logging
import threading

from venue.chain import backend
from venue.chain.deploy import Deployment
from venue.chain.settlement import DvPClient

log = logging.getLogger("venue.chain.view")


class ChainView:
    """Cached identity-registry standing of every investor account of the deployment."""

    def __init__(self, url: str, deployment: Deployment, operator_key: str, refresh_s: float = 2.0) -> None:
        self._url, self._deployment, self._key = url, deployment, operator_key
        self._refresh_s = refresh_s
        self._verified: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chain-view", daemon=True)

    def verified(self, account_id: str) -> bool | None:
        """True/False from the last refresh; None when unknown (no answer yet, or not on-chain)."""
        return self._verified.get(account_id)

    def start(self) -> ChainView:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def refresh(self) -> None:
        """Ask the node once for every investor (an `eth_call` each)."""
        client = DvPClient(backend.connect(self._url), self._deployment, self._key)
        fresh = {account: client.is_verified(account) for account in self._deployment.investors}
        changed = sorted(a for a, ok in fresh.items() if self._verified.get(a) not in (None, ok))
        self._verified = fresh  # one reference swap: readers see the old or the new dict
        if changed:
            log.info("identity registry changed for %s", ", ".join(changed))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - a node outage must not stop the venue
                log.warning("chain view not refreshed (%s): identity checks fall back to settlement", exc)
            self._stop.wait(self._refresh_s)
