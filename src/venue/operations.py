"""Venue operations as an operator starts them, one way for every front end (the `venue` commands
and the ops console): halt, suspend or resume a security, a member's kill switch, an audited
registry change (an investor's AML hold among them), then the running venue's answer.

Each writes to the store, with the operator's name and reason, what the running venue then takes
from the ops queue and carries out (`venue.core.ops`), and waits for its answer:

- a trading status (`trading_status`): the registry change audit (entity "halt"), then the ops
  command `halt`, `suspend` or `resume`;
- a kill switch (`kill_switch`): the access-log record (AS-5), then the audited change with its
  `kill`/`unkill` notice;
- a registry change (`change`): the row, its audit record and its `reload` notice, in one
  transaction.

No front end's words here: a name the registry does not hold is `Unknown`, the venue's answer an
`Answer`; the CLI and the console each say them their own way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from venue.store import Store
from venue.store.access import record_access

STATUS_AFTER = {"halt": "halted", "suspend": "suspended", "resume": "open"}
POLL_SECONDS = 0.05


class Unknown(Exception):
    """The security or member named is not in the registry: nothing was written."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the running venue answered to an ops command: status "done" or "failed" with its
    one-line result, or "pending" when it gave no answer within the wait."""

    command_id: int
    status: str
    result: str


def answer(store: Store, command_id: int, wait: float) -> Answer:
    """Wait up to `wait` seconds (0: look once) for the running venue to take the ops command."""
    deadline = time.monotonic() + wait
    while True:
        row = store.ops_command(command_id)
        if row and row["status"] != "pending":
            return Answer(command_id, row["status"], row["result"] or "")
        if time.monotonic() >= deadline:
            return Answer(command_id, "pending", "")
        time.sleep(POLL_SECONDS)


def trading_status(store: Store, operator: str, command: str, symbol: str, reason: str, wait: float) -> Answer:
    """`command` ("halt", "suspend" or "resume") for `symbol`: recorded in the registry change
    audit, then queued for the running venue (the store's trading status is the venue's to write)."""
    security = store.load_world().securities.get(symbol)
    if security is None:
        raise Unknown(f"unknown symbol {symbol}")
    store.record_change(
        "halt",
        symbol,
        {"trading_status": security.trading_status.value},
        {"trading_status": STATUS_AFTER[command]},
        operator,
        reason,
    )
    return answer(store, store.enqueue_ops_command(command, symbol, requested_by=operator), wait)


def kill_switch(store: Store, operator: str, member_id: str, on: bool, reason: str, wait: float) -> Answer:
    """A member's kill switch on (every open order canceled, new ones refused) or off: the
    access-log record (AS-5), then the audited change with the notice the running venue applies."""
    if member_id not in store.load_world().members:
        raise Unknown(f"no member {member_id}")
    record_access(
        store,
        member_id,
        "limit" if on else "restore",
        "venue",
        f"kill switch {'on' if on else 'off'}: {reason}",
        "AS-5",
        operator,
    )
    return change(store, operator, "member", member_id, {"killed": on}, reason, wait, notify="kill" if on else "unkill")


def change(
    store: Store,
    operator: str,
    entity: str,
    key: str,
    changes: dict,
    reason: str,
    wait: float,
    notify: str = "reload",
) -> Answer:
    """One audited registry change (`entity`: investor, member, session or security), and the
    `notify` ops command that makes the running venue apply it (an investor's resting orders the
    gates now refuse are canceled). StoreError when `key` is not in the registry."""
    command_id = store.change(entity, key, changes, operator=operator, reason=reason, notify=notify)
    assert command_id is not None
    return answer(store, command_id, wait)
