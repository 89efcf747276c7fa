"""The chain tests' world: investors, securities and starting balances (shared by fixtures and tests)."""

from venue.chain import backend

OPERATOR_KEY = backend.DEV_OPERATOR_KEY
DAY = 86_400
HOLDING_PERIOD = 180 * DAY

INVESTORS = [("ALICE", "US"), ("BOB", "DE"), ("CAROL", "GB"), ("DAVE", 250)]
SECURITIES = [("ACME", "Acme Corp common", 0), ("LOCK", "Lockup Inc restricted", HOLDING_PERIOD)]
INITIAL_TOKENS = {("ALICE", "ACME"): 1_000, ("BOB", "ACME"): 500, ("ALICE", "LOCK"): 300}
INITIAL_CASH = {"ALICE": 1_000_000_000, "BOB": 5_000_000_000, "CAROL": 2_000_000_000, "DAVE": 10_000_000}
