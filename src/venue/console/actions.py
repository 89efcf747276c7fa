"""The console's actions: halt and resume a security, a member's kill switch on and off, an
investor's AML hold on and off. Each writes what its `venue` command writes, in the same store
calls and order (`venue halt|resume`: the registry change audit, then the ops queue; `venue
kill|unkill`: the access log, then the audited change with its `kill`/`unkill` notice; `venue
accounts set --aml-hold`: the audited change with its `reload` notice), with the operator's name
and reason; then the running venue applies it as it applies the command's, and its answer is
waited for (`result`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from venue.store import Store
from venue.store.access import record_access

WAIT_SECONDS = 5.0
_STATUS_AFTER = {"halt": "halted", "resume": "open"}


class ActionRefused(Exception):
    """The action names something that does not exist, or lacks its reason: nothing was written."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the running venue answered to the ops command (status "pending": no answer in time)."""

    command_id: int
    what: str
    status: str
    result: str

    def text(self) -> str:
        if self.status == "pending":
            return (
                f"{self.what} stored (#{self.command_id}) but the venue did not confirm it within "
                f"{WAIT_SECONDS:g}s; it applies when the venue takes it"
            )
        return f"{self.what}: {self.result}" if self.status != "failed" else f"{self.what} failed: {self.result}"


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ActionRefused("say why: every action needs a reason (kept in the audit with your name)")
    return reason


def trading(store: Store, operator: str, command: str, symbol: str, reason: str) -> int:
    """`venue halt|resume SYMBOL --reason`: the change recorded in the registry change audit, then
    the ops command queued for the running venue. Returns the ops command's id."""
    reason = _reason(reason)
    security = store.load_world().securities.get(symbol)
    if security is None:
        raise ActionRefused(f"unknown symbol {symbol!r}")
    store.record_change(
        "halt",
        symbol,
        {"trading_status": security.trading_status.value},
        {"trading_status": _STATUS_AFTER[command]},
        operator,
        reason,
    )
    return store.enqueue_ops_command(command, symbol, requested_by=operator)


def kill_switch(store: Store, operator: str, member_id: str, on: bool, reason: str) -> int:
    """`venue kill|unkill MEMBER --reason`: the access-log record (AS-5), then the audited change
    with the notice the running venue applies."""
    reason = _reason(reason)
    if member_id not in store.load_world().members:
        raise ActionRefused(f"no member {member_id!r}")
    record_access(
        store,
        member_id,
        "limit" if on else "restore",
        "venue",
        f"kill switch {'on' if on else 'off'}: {reason}",
        "AS-5",
        operator,
    )
    command_id = store.change(
        "member", member_id, {"killed": on}, operator=operator, reason=reason, notify="kill" if on else "unkill"
    )
    assert command_id is not None
    return command_id


def aml_hold(store: Store, operator: str, account_id: str, on: bool, reason: str) -> int:
    """`venue accounts set ACCOUNT --aml-hold|--no-aml-hold --reason`: the audited change and its
    `reload`; the running venue cancels the investor's resting orders the gates now refuse."""
    reason = _reason(reason)
    if account_id not in store.load_world().accounts:
        raise ActionRefused(f"no investor account {account_id!r}")
    command_id = store.change("investor", account_id, {"aml_flag": on}, operator=operator, reason=reason)
    assert command_id is not None
    return command_id


def result(store: Store, command_id: int, what: str, wait: float = WAIT_SECONDS) -> Outcome:
    """Wait (up to `wait` seconds) for the running venue to take the ops command; its answer."""
    deadline = time.monotonic() + wait
    while True:
        row = store.ops_command(command_id)
        if row and row["status"] != "pending":
            return Outcome(command_id, what, row["status"], row["result"] or "")
        if time.monotonic() >= deadline:
            return Outcome(command_id, what, "pending", "")
        time.sleep(0.05)
