"""Commands into the venue and reports out of it, independent of FIX.

The FIX acceptor translates FIX messages into these commands and these reports into FIX; the
venue core never sees a FIX message. Prices are `Decimal` here (the edge), quantities are `int`
token units; a field the member left out is None, so the gates can say what is missing.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from decimal import Decimal

# ---------------------------------------------------------------- commands from sessions


@dataclass(frozen=True, slots=True)
class NewOrderCommand:
    comp_id: str
    cl_ord_id: str
    symbol: str
    side: str
    ord_type: str
    qty: Decimal | None
    price: Decimal | None
    tif: str
    account: str | None
    min_qty: Decimal | None = None
    expire_time_us: int | None = None
    expire_date: str | None = None  # YYYYMMDD
    smp: str | None = None
    received_us: int = 0
    capacity: str | None = None  # OrderCapacity(528) as sent; None: absent (refused by gate O200)


@dataclass(frozen=True, slots=True)
class CancelCommand:
    comp_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    order_id: str | None
    symbol: str
    side: str
    received_us: int = 0


@dataclass(frozen=True, slots=True)
class ReplaceCommand:
    comp_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    order_id: str | None
    symbol: str
    side: str
    ord_type: str
    qty: Decimal | None
    price: Decimal | None
    tif: str | None
    account: str | None
    received_us: int = 0
    capacity: str | None = None  # OrderCapacity(528): if present, must be the order's


@dataclass(frozen=True, slots=True)
class StatusCommand:
    comp_id: str
    cl_ord_id: str | None
    order_id: str | None
    symbol: str
    side: str
    received_us: int = 0


@dataclass(frozen=True, slots=True)
class MarketDataRequestCommand:
    """MarketDataRequest (35=V)."""

    comp_id: str
    req_id: str
    subscription_type: str  # 0 snapshot, 1 snapshot + updates, 2 unsubscribe
    depth: int | None
    update_type: str | None
    entry_types: tuple[str, ...]
    symbols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SecurityListRequestCommand:
    """SecurityListRequest (35=x)."""

    comp_id: str
    req_id: str
    list_type: str  # SecurityListRequestType(559): 0 one symbol, 4 all securities
    symbol: str | None


@dataclass(frozen=True, slots=True)
class MassCancelCommand:
    """OrderMassCancelRequest (35=q): this session's open orders, by security (1) or all (7), and
    optionally one side."""

    comp_id: str
    cl_ord_id: str
    request_type: str
    symbol: str | None
    side: str | None
    received_us: int = 0


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """A session logged on or off (the core may act on it: cancel-on-disconnect)."""

    comp_id: str
    logged_on: bool


# ---------------------------------------------------------------- commands from ops


@dataclass(frozen=True, slots=True)
class OpsCommand:
    """An ops instruction taken from the store's ops queue (`venue halt ACME`, ...)."""

    command_id: int
    command: str
    argument: str
    payload: object = None  # what the sequencer read for the command (reload: the registry)


@dataclass(frozen=True, slots=True)
class SettlementEvent:
    """The settlement worker's outcome for one trade (final or failed), with the trade and its
    fills as the store holds them (read by the sequencer)."""

    event_id: int
    trade_id: int
    outcome: str  # final | failed
    tx_hash: str | None
    block_number: int | None
    reason: str | None
    trade: dict
    fills: tuple[dict, ...]  # the two fill executions (exec_id, comp_id, order_id, side, ...)


Command = (
    NewOrderCommand
    | CancelCommand
    | ReplaceCommand
    | StatusCommand
    | SessionEvent
    | OpsCommand
    | SettlementEvent
    | MarketDataRequestCommand
    | SecurityListRequestCommand
    | MassCancelCommand
)


# ---------------------------------------------------------------- reports to sessions


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One execution report. `to` is the owning session; `copy_to` the drop-copy sessions."""

    to: str
    order_id: str
    cl_ord_id: str
    exec_id: str
    exec_type: str
    ord_status: str
    symbol: str
    side: str
    order_qty: int
    leaves_qty: int
    cum_qty: int
    avg_px: Decimal
    transact_time_us: int
    account: str | None = None
    price: Decimal | None = None
    ord_type: str | None = None
    tif: str | None = None
    orig_cl_ord_id: str | None = None
    last_qty: int | None = None
    last_px: Decimal | None = None
    trade_id: str | None = None
    ord_rej_reason: int | None = None
    venue_reason: str | None = None
    text: str | None = None
    expire_time_us: int | None = None
    min_qty: int | None = None
    exec_ref_id: str | None = None  # a trade bust (150=H): the ExecID of the fill it cancels
    copy_to: tuple[str, ...] = field(default=())
    poss_resend: bool = False  # sent again after a restart: it may have been received already


@dataclass(frozen=True, slots=True)
class OrderCancelReject:
    to: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    ord_status: str
    response_to: str  # CxlRejResponseTo(434): 1 cancel, 2 cancel/replace
    reason: int  # CxlRejReason(102)
    text: str
    transact_time_us: int
    venue_reason: str | None = None  # VenueRejectCode(20001): the refusing gate's code


@dataclass(frozen=True, slots=True)
class SecurityStatusReport:
    """A security's trading status changed (halt/resume), sent to every logged-on session."""

    symbol: str
    halted: bool
    text: str
    transact_time_us: int


@dataclass(frozen=True, slots=True)
class TradingSessionStatusReport:
    """A security entered a new trading phase (calendar or ops), sent to every logged-on session as
    TradingSessionStatus (35=h). `phase` is a `venue.book.types.Phase` value."""

    symbol: str
    phase: str
    text: str
    transact_time_us: int


@dataclass(frozen=True, slots=True)
class SettlementReport:
    """A trade settled on-chain: TradeCaptureReport (35=AE) to one side's session and drop copies."""

    to: str
    trade_id: str
    symbol: str
    side: str
    qty: int
    price: Decimal
    order_id: str
    cl_ord_id: str
    account: str
    tx_hash: str
    block_number: int | None
    status: str
    executed_us: int
    transact_time_us: int
    copy_to: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class SecurityListEntry:
    symbol: str
    name: str
    currency: str
    tick_size: Decimal
    lot_size: int
    phase: str
    restrictions: str
    reference_price: Decimal | None = None  # last trade, or the configured reference before one
    band_bps: int | None = None


@dataclass(frozen=True, slots=True)
class SecurityListReport:
    """SecurityList (35=y). `result` is SecurityRequestResult(560)."""

    to: str
    req_id: str
    response_id: str
    result: str
    entries: tuple[SecurityListEntry, ...]
    text: str | None = None


@dataclass(frozen=True, slots=True)
class MassCancelReport:
    """OrderMassCancelReport (35=r). `response` is MassCancelResponse(531): 0 rejected, else the
    request type; `affected` is (OrigClOrdID, OrderID) per canceled order."""

    to: str
    cl_ord_id: str
    report_id: str
    request_type: str
    response: str
    affected: tuple[tuple[str, str], ...]
    symbol: str | None
    side: str | None
    transact_time_us: int
    reject_reason: str | None = None
    text: str | None = None


Report = (
    ExecutionReport
    | OrderCancelReject
    | SecurityStatusReport
    | TradingSessionStatusReport
    | SettlementReport
    | SecurityListReport
    | MassCancelReport
)


def pickled_by_fields(cls: type) -> type:
    """Pickle a frozen slots dataclass as (class, its field values): the values are read by one
    C-level attrgetter and the object is rebuilt by its __init__, about half the cost of the
    dataclass's own __getstate__/__setstate__ (commands and reports cross between the FIX and
    engine processes pickled, see venue.engine_process)."""
    names = [f.name for f in fields(cls)]
    get = operator.attrgetter(*names)
    if len(names) == 1:
        cls.__reduce__ = lambda self: (cls, (get(self),))
    else:
        cls.__reduce__ = lambda self: (cls, get(self))
    return cls


for _cls in (
    NewOrderCommand,
    CancelCommand,
    ReplaceCommand,
    StatusCommand,
    MarketDataRequestCommand,
    SecurityListRequestCommand,
    MassCancelCommand,
    SessionEvent,
    OpsCommand,
    SettlementEvent,
    ExecutionReport,
    OrderCancelReject,
    SecurityStatusReport,
    TradingSessionStatusReport,
    SettlementReport,
    SecurityListEntry,
    SecurityListReport,
    MassCancelReport,
):
    pickled_by_fields(_cls)
del _cls
