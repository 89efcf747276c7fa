"""The venue's tables. Prices are integer ticks, times integer microseconds since the epoch (UTC),
decimal reference values exact text: nothing passes through a float on any backend.

Schema changes go through Alembic migrations in `store/migrations/versions/`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    true,
)

metadata = MetaData()

members = Table(
    "members",
    metadata,
    Column("member_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    # Self-match prevention when an order does not say (FIX 2964 values: 1 incoming, 2 resting, 3 both)
    Column("default_smp", String(1), nullable=False, server_default="1"),
    # Risk limits (NULL: no limit) and the kill switch
    Column("max_order_qty", BigInteger, nullable=True),
    Column("max_notional", String(40), nullable=True),
    Column("collar_bps", Integer, nullable=True),
    Column("max_msgs_per_s", Integer, nullable=True),
    Column("killed", Boolean, nullable=False, server_default=false()),
)

fix_sessions = Table(
    "fix_sessions",
    metadata,
    Column("comp_id", String(32), primary_key=True),
    Column("member_id", String(32), ForeignKey("members.member_id"), nullable=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("cancel_on_disconnect", Boolean, nullable=False, default=False),
    Column("cod_keep_gtc", Boolean, nullable=False, server_default=false()),
    Column("created_us", BigInteger, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("transport", String(8), nullable=False, server_default="plain"),  # plain | tls
    Column("allowed_addresses", Text, nullable=True),  # comma-separated IPv4 addresses; NULL: any
    Column("cert_sha256", String(64), nullable=True),  # a pinned client certificate (TLS sessions)
    Column("password_changed_us", BigInteger, nullable=True),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("member_id", String(32), ForeignKey("members.member_id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("jurisdiction", String(8), nullable=False),
    Column("accredited", Boolean, nullable=False),
    Column("investor_type", String(32), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("kyc_status", String(16), nullable=False, server_default="pending"),  # pending verified rejected
    Column("kyc_expires", String(10), nullable=True),  # ISO date; NULL: no expiry
    Column("aml_flag", Boolean, nullable=False, server_default=false()),  # sanctions/AML hold
    Column("accreditation_expires", String(10), nullable=True),
)

securities = Table(
    "securities",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tick_size", String(40), nullable=False),
    Column("lot_size", BigInteger, nullable=False),
    Column("offering", String(32), nullable=False),
    Column("trading_status", String(16), nullable=False),
    Column("reference_price", String(40), nullable=True),
    Column("band_bps", Integer, nullable=True),
    Column("currency", String(8), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("auction_interval_s", Integer, nullable=True),  # periodic auctions instead of continuous
    Column("allowed_jurisdictions", String(200), nullable=True),  # comma-separated; NULL: any
    Column("denied_jurisdictions", String(200), nullable=True),
    Column("us_buyers_from", String(10), nullable=True),  # Reg S distribution compliance period end
    Column("max_holders", Integer, nullable=True),
    Column("max_non_accredited_holders", Integer, nullable=True),
    Column("min_holding", BigInteger, nullable=True),
    Column("max_holding", BigInteger, nullable=True),
    # Resale restrictions (venue.resale; migration 0011_resale_rules)
    Column("restricted", Boolean, nullable=False, server_default=false()),  # Rule 144(a)(3)
    Column("issuer_reporting", Boolean, nullable=False, server_default=false()),  # Rule 144(d)(1)(i)
    Column("issue_date", String(10), nullable=True),  # ISO date: Reg CF year, Reg S period start
    Column("reg_s_category", Integer, nullable=True),  # Rule 903(b): 1, 2 or 3
    Column("debt", Boolean, nullable=False, server_default=false()),
    Column("outstanding", BigInteger, nullable=True),  # units of the class outstanding, Rule 144(e)
)

# An account's relationship to the issuer of one security (Rule 144(a)(1)): issuer | affiliate.
issuer_affiliations = Table(
    "issuer_affiliations",
    metadata,
    Column("account_id", String(64), ForeignKey("accounts.account_id"), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

# Two accounts declared members of one family (Reg CF 227.501(c)), the smaller account id first.
family_links = Table(
    "family_links",
    metadata,
    Column("account_id", String(64), ForeignKey("accounts.account_id"), primary_key=True),
    Column("family_account_id", String(64), ForeignKey("accounts.account_id"), primary_key=True),
    Column("relationship", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

# Starting positions of investor accounts (the sandbox world; later put on-chain).
holdings = Table(
    "holdings",
    metadata,
    Column("account_id", String(64), ForeignKey("accounts.account_id"), primary_key=True),
    Column("asset", String(32), primary_key=True),  # a symbol, or the cash currency
    Column("quantity", String(60), nullable=False),
)

# Token holdings by acquisition lot (Rule 144 holding periods run per lot). The sum of an account's
# lots in a symbol equals its `holdings` row for that symbol. A settled sale consumes the seller's
# lots earliest tacking date first; a settled purchase gives the buyer those pieces with their
# tacking dates when the seller was neither the issuer nor an affiliate (`trades.seller_role`
# NULL), else one lot tacking from the trade's execution (venue.resale).
lots = Table(
    "lots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("acquired_us", BigInteger, nullable=False),  # when this account acquired it
    Column("trade_id", BigInteger, nullable=True),
    Column("tacking_us", BigInteger, nullable=False),  # when its holding period runs from
)
Index("ix_lots_account", lots.c.account_id, lots.c.symbol, lots.c.acquired_us)
Index("ix_lots_tacking", lots.c.account_id, lots.c.symbol, lots.c.tacking_us)

orders = Table(
    "orders",
    metadata,
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comp_id", String(32), nullable=False),
    Column("member_id", String(32), nullable=False),
    Column("cl_ord_id", String(64), nullable=False),
    Column("orig_cl_ord_id", String(64), nullable=True),
    Column("account", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(1), nullable=False),
    Column("ord_type", String(1), nullable=False),
    Column("price_ticks", BigInteger, nullable=True),
    Column("qty", BigInteger, nullable=False),
    Column("min_qty", BigInteger, nullable=False),
    Column("tif", String(1), nullable=False),
    Column("expire_at_us", BigInteger, nullable=True),
    Column("trading_day", String(10), nullable=False),
    Column("smp", String(1), nullable=False),
    Column("status", String(1), nullable=False),
    Column("leaves", BigInteger, nullable=False),
    Column("cum", BigInteger, nullable=False),
    Column("notional_ticks", BigInteger, nullable=False),
    Column("priority", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    Column("capacity", String(1), nullable=True),  # OrderCapacity(528); NULL: journaled before 0012
)
Index("ix_orders_open", orders.c.status, orders.c.symbol)
Index("ix_orders_member", orders.c.member_id, orders.c.created_us)

# Every ClOrdID a session used (new, cancel, replace), the UTC day it was used and the order it
# refers to. A ClOrdID is unique per session per day, and while its order is open (the core's index).
cl_ord_ids = Table(
    "cl_ord_ids",
    metadata,
    Column("comp_id", String(32), primary_key=True),
    Column("cl_ord_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD, UTC
    Column("order_id", BigInteger, nullable=True),
)

# The journal of every execution report the venue sent (and to whom).
executions = Table(
    "executions",
    metadata,
    Column("exec_id", BigInteger, primary_key=True, autoincrement=False),
    Column("order_id", BigInteger, nullable=True),
    Column("comp_id", String(32), nullable=False),
    Column("cl_ord_id", String(64), nullable=False),
    Column("orig_cl_ord_id", String(64), nullable=True),
    Column("exec_type", String(1), nullable=False),
    Column("ord_status", String(1), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(1), nullable=False),
    Column("account", String(64), nullable=True),
    Column("order_qty", BigInteger, nullable=False),
    Column("price", String(40), nullable=True),
    Column("last_qty", BigInteger, nullable=True),
    Column("last_px", String(40), nullable=True),
    Column("leaves", BigInteger, nullable=False),
    Column("cum", BigInteger, nullable=False),
    Column("avg_px", String(40), nullable=False),
    Column("trade_id", BigInteger, nullable=True),
    Column("ord_rej_reason", Integer, nullable=True),
    Column("venue_reason", String(16), nullable=True),
    Column("text", Text, nullable=True),
    Column("transact_us", BigInteger, nullable=False),
)
Index("ix_executions_order", executions.c.order_id)
Index("ix_executions_comp", executions.c.comp_id, executions.c.exec_id)

cancel_rejects = Table(
    "cancel_rejects",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("comp_id", String(32), nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("cl_ord_id", String(64), nullable=False),
    Column("orig_cl_ord_id", String(64), nullable=True),
    Column("response_to", String(1), nullable=False),
    Column("reason", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("transact_us", BigInteger, nullable=False),
    Column("venue_reason", String(8), nullable=True),  # the refusing gate's code
)

trades = Table(
    "trades",
    metadata,
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("symbol", String(32), nullable=False),
    Column("price_ticks", BigInteger, nullable=False),
    Column("price", String(40), nullable=False),
    Column("qty", BigInteger, nullable=False),
    Column("buy_order_id", BigInteger, nullable=False),
    Column("sell_order_id", BigInteger, nullable=False),
    Column("buy_account", String(64), nullable=False),
    Column("sell_account", String(64), nullable=False),
    Column("buy_member", String(32), nullable=False),
    Column("sell_member", String(32), nullable=False),
    Column("aggressor", String(1), nullable=True),
    Column("executed_us", BigInteger, nullable=False),
    Column("settlement_status", String(16), nullable=False),  # pending submitted confirmed final failed
    Column("tx_hash", String(66), nullable=True),
    Column("block_number", BigInteger, nullable=True),
    Column("settlement_error", Text, nullable=True),
    Column("settlement_attempts", Integer, nullable=False, server_default="0"),
    Column("settlement_updated_us", BigInteger, nullable=True),
    Column("seller_role", String(16), nullable=True),  # issuer | affiliate | NULL: the buyer tacks (Rule 144)
)
Index("ix_trades_settlement", trades.c.settlement_status, trades.c.trade_id)

# Outcomes of settlement, written by the settlement worker (another process) and taken in id order
# by the sequencer, which reports them over FIX (final: TradeCaptureReport; failed: trade bust)
# and updates the ledger. `processed_us` is set in the same commit as those reports.
settlement_events = Table(
    "settlement_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trade_id", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),  # final | failed
    Column("tx_hash", String(66), nullable=True),
    Column("block_number", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("processed_us", BigInteger, nullable=True),
)
Index("ix_settlement_events_pending", settlement_events.c.processed_us, settlement_events.c.id)
Index("ix_trades_symbol", trades.c.symbol, trades.c.executed_us)

# Halts, resumes and other status changes of a security.
security_events = Table(
    "security_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(32), nullable=False),
    Column("event", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
)

# Logon attempts, good and bad.
auth_events = Table(
    "auth_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("comp_id", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at_us", BigInteger, nullable=False),
)

# Instructions from the CLI to a running venue (halt, resume, ...), taken in id order.
ops_commands = Table(
    "ops_commands",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("command", String(32), nullable=False),
    Column("argument", String(200), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("result", Text, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("done_us", BigInteger, nullable=True),
)
Index("ix_ops_pending", ops_commands.c.status, ops_commands.c.id)

# Every gate decision on a new order, pass or refuse, with what the gates looked at (Reg ATS audit).
gate_decisions = Table(
    "gate_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("comp_id", String(32), nullable=False),
    Column("cl_ord_id", String(64), nullable=False),
    Column("order_id", BigInteger, nullable=True),
    Column("symbol", String(32), nullable=False),
    Column("account", String(64), nullable=True),
    Column("side", String(1), nullable=False),
    Column("qty", String(40), nullable=True),
    Column("price", String(40), nullable=True),
    Column("outcome", String(8), nullable=False),  # pass | reject
    Column("gate", String(16), nullable=True),  # the refusing gate's code
    Column("text", Text, nullable=True),
    Column("inputs", Text, nullable=False),  # JSON: the values the gates used
    Column("msg_type", String(8), nullable=True),  # D new order, G replace (NULL: written before 0008)
)
Index("ix_gate_decisions_at", gate_decisions.c.at_us)

# ---------------------------------------------------------------- access (Reg ATS 301(b)(5), 301(b)(10))
# Migration 0003_access. See spec/fair-access.md.

# Which securities a member may trade: one row per (member, symbol); symbol "*" means every security.
# No row, no access: revoking a member's last entitlement never widens its access.
entitlements = Table(
    "entitlements",
    metadata,
    Column("member_id", String(32), ForeignKey("members.member_id"), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("created_us", BigInteger, nullable=False),
)

# Every grant, denial, limitation, restoration and revocation of access, with its reason and the id(s)
# of the written access standard(s) applied. Append-only.
access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("member_id", String(32), nullable=False),  # an applicant that was denied need not be a member
    Column("action", String(16), nullable=False),  # grant deny limit restore revoke
    Column("scope", String(32), nullable=False),  # "venue", a symbol, or "*"
    Column("reason", Text, nullable=False),
    Column("standard", String(200), nullable=False),  # comma-separated standard ids, e.g. "AS-1,AS-2"
    Column("actor", String(64), nullable=False),
)
Index("ix_access_log_member", access_log.c.member_id, access_log.c.id)

# Imported daily market volume of a security (all venues and on-chain transfers), in token units.
market_volume = Table(
    "market_volume",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD, UTC
    Column("quantity", BigInteger, nullable=False),
)

# Reads of members' confidential trading information by the venue's staff (Reg ATS 301(b)(10)):
# who, when, which command, its scope, why. Append-only (migration 0009_operators: UPDATE refused,
# DELETE refused within the retention period).
data_access_log = Table(
    "data_access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("command", String(64), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("reason", Text, nullable=False, server_default="(not recorded before 0009_operators)"),
)
Index("ix_data_access_log_at", data_access_log.c.at_us)
# ---------------------------------------------------------------- end of access

# Every change to the registry (investors, members, sessions, entitlements, limits, securities,
# halts, kill switches): who, when, the values before and after (JSON), why. Append-only
# (migration 0008_controls: UPDATE refused, DELETE refused within the retention period).
registry_changes = Table(
    "registry_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("entity", String(16), nullable=False),  # investor member session security halt affiliation market_volume
    Column("key", String(64), nullable=False),  # the account, member, CompID or symbol changed
    Column("account", String(64), nullable=True),  # the investor account, for `audit changes --account`
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("reason", Text, nullable=False),
)
Index("ix_registry_changes_at", registry_changes.c.at_us)
Index("ix_registry_changes_account", registry_changes.c.account, registry_changes.c.id)

# The highest ExecID the venue had sent when it journaled its last batch (one row). Executions
# journaled after it may not have reached their sessions before a crash: the venue sends them again
# at start-up, flagged PossResend.
report_watermark = Table(
    "report_watermark",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("exec_id", BigInteger, nullable=False),
)

# Looking up a trade's fills (settlement outcomes) must not scan the executions journal.
Index("ix_executions_trade", executions.c.trade_id)
