"""The console's actions: halt and resume a security, a member's kill switch on and off, an
investor's AML hold on and off. Each is the operation its `venue` command runs (`venue.operations`:
`venue halt|resume` and `venue kill|unkill` theirs, the AML hold the registry change of `venue
accounts set --aml-hold|--no-aml-hold`), with the operator's name and the reason the console
requires; the running venue's answer is waited for and told in the console's words (`Outcome`).
"""

from __future__ import annotations

from dataclasses import dataclass

from venue import operations
from venue.store import Store

WAIT_SECONDS = 5.0


class ActionRefused(Exception):
    """The action names something that does not exist, or lacks its reason: nothing was written."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the running venue answered to the action (status "pending": no answer in time)."""

    what: str
    answer: operations.Answer

    def text(self) -> str:
        status, result = self.answer.status, self.answer.result
        if status == "pending":
            return (
                f"{self.what} stored (#{self.answer.command_id}) but the venue did not confirm it within "
                f"{WAIT_SECONDS:g}s; it applies when the venue takes it"
            )
        return f"{self.what}: {result}" if status != "failed" else f"{self.what} failed: {result}"


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ActionRefused("say why: every action needs a reason (kept in the audit with your name)")
    return reason


def trading(store: Store, operator: str, command: str, symbol: str, reason: str) -> Outcome:
    """`venue halt|resume SYMBOL --reason`."""
    reason = _reason(reason)
    try:
        answer = operations.trading_status(store, operator, command, symbol, reason, WAIT_SECONDS)
    except operations.Unknown:
        raise ActionRefused(f"unknown symbol {symbol!r}") from None
    return Outcome(f"{command} {symbol}", answer)


def kill_switch(store: Store, operator: str, member_id: str, on: bool, reason: str) -> Outcome:
    """`venue kill|unkill MEMBER --reason`."""
    reason = _reason(reason)
    try:
        answer = operations.kill_switch(store, operator, member_id, on, reason, WAIT_SECONDS)
    except operations.Unknown:
        raise ActionRefused(f"no member {member_id!r}") from None
    return Outcome(f"{'kill' if on else 'unkill'} {member_id}", answer)


def aml_hold(store: Store, operator: str, account_id: str, on: bool, reason: str) -> Outcome:
    """`venue accounts set ACCOUNT --aml-hold|--no-aml-hold --reason`: the running venue cancels the
    investor's resting orders the gates now refuse."""
    reason = _reason(reason)
    if account_id not in store.load_world().accounts:  # refused as a bad request, before any write
        raise ActionRefused(f"no investor account {account_id!r}")
    answer = operations.change(store, operator, "investor", account_id, {"aml_flag": on}, reason, WAIT_SECONDS)
    return Outcome(f"AML hold {'on' if on else 'off'} {account_id}", answer)
