"""The settlement worker: settles the venue's matched trades on chain, in its own process.

The matching process only inserts ``pending`` trades; it never waits for the chain. This worker
(``python -m venue.chain.worker --config venue.toml``, or ``venue settle``) repeats one step:

1. **Orphans.** Trades left ``submitted`` by an interrupted step or a previous process are resolved
   by asking the chain (``settledInBlock``): settled -> ``confirmed``/``final``; not settled and the
   transaction still waiting in the node's pool -> left alone (re-sent after ``resubmit_after``);
   otherwise -> back to ``pending``. Re-sending is safe: the DvP contract settles a trade id once.
2. **Submit.** Up to ``batch_size x pipeline`` pending trades, oldest trade id first, become
   ``settleBatch`` transactions of ``batch_size`` trades, pipelined from the operator's single
   sender (explicit gas, local nonces resynchronised from the node after any node trouble). Each
   transaction's trades are marked ``submitted`` with its hash as soon as the node accepts it,
   before its receipt is awaited. Receipt read: a settled trade becomes ``confirmed`` (or ``final``
   at once when the finality policy is already met); a trade whose leg reverted (compliance,
   identity, balance, allowance) becomes ``failed`` with the reason; the others of its batch are
   unaffected. A transaction refused as a whole (out of gas, the operator lacking its role) is not
   the trades' fault: they go back to ``pending`` and the step reports the error.
3. **Finality.** A ``confirmed`` trade becomes ``final`` once ``confirmations`` blocks are mined on
   top of its block (0: final on inclusion, for the auto-mining sandbox node), after checking that
   the chain still says it settled in that block (a reorg sends it back to ``confirmed`` in its new
   block, or to ``pending``).

Node trouble (connection refused, timeouts, node errors) never fails a trade: the step stops, the
trades stay ``pending``/``submitted`` with a note in ``settlement_error``, and :meth:`run_forever`
retries with exponential backoff (capped), logging what is wrong. ``final`` and ``failed`` are
written with their ``settlement_events`` row, and ``final`` with the holdings/lots update, in one
transaction each (:mod:`venue.store.settlement`).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from eth_utils import event_signature_to_log_topic
from sqlalchemy.exc import SQLAlchemyError
from web3 import Web3

from venue.chain.backend import rpc
from venue.chain.deploy import Deployment
from venue.chain.errors import ChainError, RevertError
from venue.chain.settlement import (
    DvPClient,
    SettlementInstruction,
    SettlementResult,
    SettlementStatus,
    trade_key,
)
from venue.chain.transactions import TxSender
from venue.clock import now_us
from venue.signals import stop_on_signals
from venue.store.settlement import (
    Failure,
    Settled,
    SettlementState,
    SettlementStore,
    TradeToSettle,
)

log = logging.getLogger("venue.settlement")

_TOPIC_SETTLED = (
    "0x" + event_signature_to_log_topic("Settled(bytes32,address,address,address,uint256,address,uint256)").hex()
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How the worker batches, waits and retries."""

    batch_size: int = 100  # trades per settleBatch transaction
    pipeline: int = 2  # transactions sent before the first receipt is awaited
    confirmations: int = 0  # blocks on top of a trade's block before it is final
    poll_interval: float = 0.2  # seconds between steps when there is nothing to do
    backoff_initial: float = 0.5  # seconds; doubles after each failed step
    backoff_max: float = 30.0
    receipt_timeout: float = 60.0  # seconds to wait for one receipt before treating the node as stuck
    resubmit_after: float = 60.0  # seconds a submitted trade may wait in the node's pool before a re-send

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.pipeline < 1 or self.confirmations < 0:
            raise ValueError("batch_size and pipeline must be >= 1, confirmations >= 0")


@dataclass(slots=True)
class StepReport:
    """What one step did (counts of trades), and the error that cut it short, if any."""

    submitted: int = 0
    confirmed: int = 0
    final: int = 0
    failed: int = 0
    returned: int = 0  # sent back to pending
    error: str | None = None
    final_ids: list[int] = field(default_factory=list)
    failed_ids: list[int] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        """True if the step found nothing to do."""
        return not (self.submitted or self.confirmed or self.final or self.failed or self.returned)


class _ReportingSender(TxSender):
    """The operator's single sender; calls ``on_sent(tx_hash)`` once the node accepted a transaction."""

    on_sent: Callable[[str], None] | None = None

    def send(self, to: str | None, data: str, gas: int, value: int = 0) -> str:
        tx_hash = super().send(to, data, gas, value)
        if self.on_sent is not None:
            self.on_sent(tx_hash)
        return tx_hash


class SettlementWorker:
    """Drives trades from ``pending`` to ``final`` or ``failed``. One worker per operator key."""

    def __init__(
        self,
        store: SettlementStore,
        w3: Web3,
        deployment: Deployment,
        operator_key: str,
        settings: WorkerSettings = WorkerSettings(),
        *,
        clock: Callable[[], int] = now_us,
    ) -> None:
        self.store = store
        self.w3 = w3
        self.deployment = deployment
        self.settings = settings
        self.clock = clock
        self.sender = _ReportingSender(
            w3, operator_key, chain_id=deployment.chain_id, receipt_timeout=settings.receipt_timeout
        )
        self.client = DvPClient(
            w3, deployment, operator_key, max_batch=max(settings.batch_size, 2), confirmations=1, sender=self.sender
        )
        self._accounts_by_address = {w.address.lower(): a for a, w in deployment.investors.items()}
        self._stop = threading.Event()
        self._resync_nonce = False
        self.consecutive_errors = 0

    # ------------------------------------------------------------ running
    def stop(self) -> None:
        """Asks :meth:`run_forever` to return after the current step (from another thread; a signal
        handler goes through :func:`venue.signals.stop_on_signals`)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def backoff(self) -> float:
        """Seconds to wait after ``consecutive_errors`` failed steps."""
        if not self.consecutive_errors:
            return 0.0
        s = self.settings
        return min(s.backoff_initial * 2 ** (self.consecutive_errors - 1), s.backoff_max)

    def run_forever(self) -> None:
        """Steps until :meth:`stop`: at once after a step that did work, after ``poll_interval`` when
        idle, after the backoff when a step failed."""
        while not self._stop.is_set():
            report = self.run_once()
            if report.error:
                delay = self.backoff()
                log.warning(
                    "settlement waiting %.1fs before retrying (%d failed step%s in a row)",
                    delay,
                    self.consecutive_errors,
                    "" if self.consecutive_errors == 1 else "s",
                )
                self._stop.wait(delay)
            elif report.idle:
                self._stop.wait(self.settings.poll_interval)

    def run_once(self) -> StepReport:
        """One step: resolve orphaned submissions, submit pending trades, finalise confirmed ones.

        Chain or store trouble ends the step early with ``report.error`` set (and is logged); no
        trade is failed because of it.
        """
        report = StepReport()
        try:
            if self._resync_nonce:
                self.sender.nonces.resync()
                self._resync_nonce = False
            self.resolve_submitted(report)
            self.submit_pending(report)
            self.finalize_confirmed(report)
        except ChainError as exc:
            self._resync_nonce = True
            report.error = f"{type(exc).__name__}: {exc}"
            log.error("settlement step stopped, chain at %s: %s", self.node_url, report.error)
        except SQLAlchemyError as exc:
            report.error = f"store: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
            log.error("settlement step stopped, %s", report.error)
        if report.error:
            self.consecutive_errors += 1
        else:
            self.consecutive_errors = 0
            if not report.idle:
                log.info(
                    "settlement: %d submitted, %d confirmed, %d final, %d failed, %d back to pending",
                    report.submitted,
                    report.confirmed,
                    report.final,
                    report.failed,
                    report.returned,
                )
        return report

    @property
    def node_url(self) -> str:
        """The URL of the node this worker talks to."""
        return str(getattr(self.w3.provider, "endpoint_uri", "?"))

    # ------------------------------------------------------------ step 1: orphans
    def resolve_submitted(self, report: StepReport) -> None:
        """Submitted trades nobody is waiting for: ask the chain what became of them."""
        orphans = [t for t in self.store.in_flight() if t.status is SettlementState.SUBMITTED]
        if not orphans:
            return
        head = self._head()
        settled: list[Settled] = []
        back: list[int] = []
        now = self.clock()
        for trade in orphans:
            block = self.client.settled_in_block(str(trade.trade_id))
            if block is not None:
                settled.append(Settled(trade.trade_id, self._settlement_tx(trade, block), block))
                continue
            waited = (now - (trade.updated_us or now)) / 1e6
            if trade.tx_hash and self._in_pool(trade.tx_hash) and waited < self.settings.resubmit_after:
                continue
            back.append(trade.trade_id)
        self._record_settled(settled, head, report)
        if back:
            report.returned += self.store.return_to_pending(
                back, "not settled on chain after submission; re-sent (a trade id settles once)", now
            )

    def _in_pool(self, tx_hash: str) -> bool:
        tx = rpc(self.w3, "eth_getTransactionByHash", [tx_hash])
        return tx is not None and not tx.get("blockNumber")

    # ------------------------------------------------------------ step 2: submit
    def submit_pending(self, report: StepReport) -> None:
        """Sends pending trades in batches and records what the chain did with each."""
        s = self.settings
        trades = self.store.pending(s.batch_size * s.pipeline)
        if not trades:
            return
        ready: list[tuple[TradeToSettle, SettlementInstruction]] = []
        invalid: list[Failure] = []
        for trade in trades:
            instruction = self._instruction(trade)
            if isinstance(instruction, str):
                invalid.append(Failure(trade.trade_id, instruction))
            else:
                ready.append((trade, instruction))
        if invalid:
            self._record_failed(invalid, report)
        chunks = [ready[i : i + s.batch_size] for i in range(0, len(ready), s.batch_size)]
        if not chunks:
            return
        unsent = list(chunks)

        def on_sent(tx_hash: str) -> None:
            chunk = unsent.pop(0)
            report.submitted += self.store.mark_submitted([t.trade_id for t, _ in chunk], tx_hash, self.clock())

        self.sender.on_sent = on_sent
        try:
            if s.batch_size >= 2:
                results = self.client.settle_batch([i for _, i in ready], batch_size=s.batch_size)
            else:  # one trade per transaction, still through settleBatch so a refused leg fails alone
                results = []
                for chunk in chunks:
                    results += self.client.settle_batch([i for _, i in chunk], batch_size=2)
        except RevertError as exc:
            # a node that executes transactions on submission refused one as a whole
            waiting = [t.trade_id for chunk in unsent for t, _ in chunk]
            self.store.note_error(waiting, f"transaction refused as a whole: {exc.reason}", self.clock())
            raise
        except ChainError as exc:
            waiting = [t.trade_id for chunk in chunks for t, _ in chunk]
            self.store.note_error(waiting, f"node trouble, will retry: {exc}", self.clock())
            raise
        finally:
            self.sender.on_sent = None
        self._record_results([t for t, _ in ready], results, report)

    def _instruction(self, trade: TradeToSettle) -> SettlementInstruction | str:
        """The chain instruction for a trade, or why there cannot be one."""
        d = self.deployment
        if trade.symbol not in d.securities:
            return f"security {trade.symbol} is not deployed on the settlement chain"
        for side, account in (("buyer", trade.buy_account), ("seller", trade.sell_account)):
            if account not in d.investors:
                return f"{side} account {account} has no wallet on the settlement chain (not onboarded)"
        if trade.qty <= 0:
            return f"quantity {trade.qty} is not positive"
        units = trade.cash_amount * (Decimal(10) ** d.cash_decimals)
        if units <= 0 or units != units.to_integral_value():
            return (
                f"cash amount {trade.cash_amount} USD is not a positive whole number of "
                f"{d.cash_symbol} base units ({d.cash_decimals} decimals)"
            )
        return SettlementInstruction(
            str(trade.trade_id), trade.symbol, trade.sell_account, trade.buy_account, trade.qty, int(units)
        )

    def _record_results(
        self, trades: Sequence[TradeToSettle], results: Sequence[SettlementResult], report: StepReport
    ) -> None:
        head = self._head()
        settled: list[Settled] = []
        failures: list[Failure] = []
        refused: dict[str, list[int]] = {}
        reverted = self._reverted_transactions(results)
        for trade, result in zip(trades, results, strict=True):
            if result.status is SettlementStatus.SETTLED:
                settled.append(Settled(trade.trade_id, result.tx_hash, result.block_number or 0))
            elif result.status is SettlementStatus.ALREADY_SETTLED:
                block = self.client.settled_in_block(str(trade.trade_id)) or result.block_number or 0
                settled.append(Settled(trade.trade_id, self._settlement_tx(trade, block), block))
            elif result.tx_hash is not None and result.tx_hash in reverted:
                refused.setdefault(result.reason or "reverted", []).append(trade.trade_id)
            else:
                failures.append(
                    Failure(trade.trade_id, self._explain(trade, result.reason), result.tx_hash, result.block_number)
                )
        self._record_settled(settled, head, report)
        self._record_failed(failures, report)
        for reason, ids in refused.items():
            note = f"transaction refused as a whole (not the trades' fault), will retry: {reason}"
            report.returned += self.store.return_to_pending(ids, note, self.clock())
            report.error = note
            log.error("settlement: %d trades back to pending: %s", len(ids), note)

    def _reverted_transactions(self, results: Sequence[SettlementResult]) -> set[str]:
        """Hashes of transactions whose receipt says status 0 (the whole batch reverted)."""
        hashes = {r.tx_hash for r in results if r.status is SettlementStatus.FAILED and r.tx_hash}
        reverted = set()
        for tx_hash in hashes:
            receipt = rpc(self.w3, "eth_getTransactionReceipt", [tx_hash])
            if receipt is not None and int(receipt["status"], 16) == 0:
                reverted.add(tx_hash)
        return reverted

    def _explain(self, trade: TradeToSettle, reason: str | None) -> str:
        """The chain's reason with wallet addresses named by account, and the trade's parties."""
        text = reason or "refused by the chain without a reason"

        def name(m: re.Match[str]) -> str:
            account = self._accounts_by_address.get(m.group(0).lower())
            return f"wallet of {account}" if account else m.group(0)

        text = _ADDRESS.sub(name, text)
        return (
            f"DvP refused: {text} (seller {trade.sell_account}, buyer {trade.buy_account}, "
            f"{trade.qty} {trade.symbol} for {trade.cash_amount} USD)"
        )

    # ------------------------------------------------------------ step 3: finality
    def finalize_confirmed(self, report: StepReport) -> None:
        """Confirmed trades deep enough under the chain head become final."""
        confirmed = self.store.confirmed()
        if not confirmed:
            return
        head = self._head()
        settled: list[Settled] = []
        back: list[int] = []
        for trade in confirmed:
            if head - (trade.block_number or 0) < self.settings.confirmations:
                continue
            block = self.client.settled_in_block(str(trade.trade_id))
            if block is None:
                back.append(trade.trade_id)
            elif block == trade.block_number:
                settled.append(Settled(trade.trade_id, trade.tx_hash, block))
            else:
                settled.append(Settled(trade.trade_id, self._settlement_tx(trade, block), block))
        self._record_settled(settled, head, report)
        if back:
            log.warning("settlement: %d confirmed trades no longer settled on chain (reorg): re-sending", len(back))
            # The dropped transactions' nonces are free again on the new branch: count from the node's.
            self._resync_nonce = True
            report.returned += self.store.return_to_pending(
                back, "dropped from the chain by a reorganisation; re-sent", self.clock()
            )

    # ------------------------------------------------------------ recording
    def _record_settled(self, settled: Sequence[Settled], head: int, report: StepReport) -> None:
        final = [s for s in settled if head - s.block_number >= self.settings.confirmations]
        waiting = [s for s in settled if head - s.block_number < self.settings.confirmations]
        if final:
            done = self.store.mark_final(final, self.clock())
            report.final += len(done)
            report.final_ids += done
        if waiting:
            report.confirmed += self.store.mark_confirmed(waiting, self.clock())

    def _record_failed(self, failures: Sequence[Failure], report: StepReport) -> None:
        if not failures:
            return
        done = self.store.mark_failed(failures, self.clock())
        report.failed += len(done)
        report.failed_ids += done
        for f in failures:
            if f.trade_id in done:
                log.warning("settlement: trade %d failed: %s", f.trade_id, f.reason)

    def _head(self) -> int:
        return int(rpc(self.w3, "eth_blockNumber"), 16)

    def _settlement_tx(self, trade: TradeToSettle, block: int) -> str | None:
        """Hash of the transaction whose ``Settled`` event for this trade is in ``block``."""
        if trade.tx_hash and trade.block_number == block:
            return trade.tx_hash
        logs = rpc(
            self.w3,
            "eth_getLogs",
            [
                {
                    "address": self.deployment.dvp,
                    "fromBlock": hex(block),
                    "toBlock": hex(block),
                    "topics": [_TOPIC_SETTLED, "0x" + trade_key(str(trade.trade_id)).hex()],
                }
            ],
        )
        return logs[0]["transactionHash"] if logs else trade.tx_hash


# ---------------------------------------------------------------- process entry point
def main(argv: list[str] | None = None) -> int:
    """``python -m venue.chain.worker --config venue.toml``: settle until SIGTERM/SIGINT."""
    from venue.chain.service import run_worker

    parser = argparse.ArgumentParser(
        prog="python -m venue.chain.worker", description="Settle the venue's matched trades on chain."
    )
    parser.add_argument("--config", required=True, help="venue config file with a [chain] section")
    parser.add_argument("--url", help="node URL (overrides [chain] url)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    import os

    from venue.chain.service import WORKER_DB_URL_ENV

    return run_worker(args.config, url=args.url, database_url=os.environ.get(WORKER_DB_URL_ENV), install_signals=True)


def install_signal_handlers(worker: SettlementWorker) -> None:
    """SIGTERM and SIGINT stop ``worker`` cleanly (after its current step)."""

    def stop(signum: int) -> None:
        log.info("signal %d: settlement worker stopping after the current step", signum)
        worker.stop()

    stop_on_signals(stop)


if __name__ == "__main__":
    sys.exit(main())
