"""The worker as a real process: SIGKILLed mid-batch and restarted, a node that goes away and comes
back with its state, and the sandbox wiring (deploy, config, worker process, CLI, reconcile)."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from settle_world import (
    Trade,
    chain_positions,
    deploy_world,
    drain,
    expected_positions,
    insert_trades,
    make_worker,
    start_node,
    statuses,
)
from venuetest import TEST_READ_REASON, operators_section, wait_for

from venue.chain import backend
from venue.chain.contracts import calldata, contract
from venue.chain.service import (
    deploy_sandbox_chain,
    load_sandbox_keys,
    reconcile,
    start_worker_process,
    stop_worker_process,
)
from venue.chain.settlement import DvPClient
from venue.chain.transactions import TxSender
from venue.store.settlement import SettlementStore

SETTLE_TIMEOUT_S = 120.0  # trades settle at the chain's pace

pytestmark = pytest.mark.chain


def write_config(path: Path, store_url: str, url: str, deployment: Path, **chain) -> Path:
    settings = {"batch_size": 5, "pipeline": 1, "poll_interval": 0.05, "confirmations": 0, **chain}
    lines = [
        "[venue]",
        'data_dir = "."',
        f'database_url = "{store_url}"',
        "",
        "[chain]",
        f'url = "{url}"',
        f'deployment = "{deployment}"',
        'operator_key = "dev"',
    ] + [f"{k} = {v}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_stops_cleanly(worker, log: Path) -> None:
    """SIGTERM stops the worker after its step, with exit code 0 (its log's end shown if not)."""
    code = stop_worker_process(worker)
    tail = log.read_text()[-4000:] if log.exists() else "(no log)"
    assert code == 0, f"worker exit code {code}; its log ends:\n{tail}"


def stream(n: int) -> list[Trade]:
    """n small trades around the sandbox accounts (no balance or eligibility problem)."""
    legs = [("A-ALICE", "B-BOB"), ("B-BOB", "M-MAKER"), ("M-MAKER", "A-ALICE"), ("A-ALICE", "M-MAKER")]
    return [Trade(i, "ACME" if i % 3 else "BETA", *legs[i % 4], 1 + i % 7, "10.00") for i in range(1, n + 1)]


def test_worker_killed_mid_batch_settles_every_trade_once(store, store_url, chain, tmp_path):
    client = chain.client()
    settlement = SettlementStore(store)
    chain_before, ledger_before = chain_positions(client), settlement.positions()
    trades = stream(40)
    insert_trades(store, trades)
    config = write_config(tmp_path / "venue.toml", store_url, chain.url, chain.deployment_path)
    if chain.kind == "anvil":  # hold the transaction in the pool: the kill lands between send and receipt
        backend.rpc(chain.w3, "evm_setAutomine", [False])
    try:
        worker = start_worker_process(config)
        try:
            wait_for(
                lambda: "submitted" in statuses(store).values(), what="a submitted trade", timeout=SETTLE_TIMEOUT_S
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        at_kill = statuses(store)
        submitted_at_kill = [i for i, s in at_kill.items() if s == "submitted"]
        assert submitted_at_kill and "pending" in at_kill.values()
    finally:
        if chain.kind == "anvil":
            backend.rpc(chain.w3, "evm_setAutomine", [True])
            backend.rpc(chain.w3, "evm_mine", [])  # the killed worker's transaction lands now

    worker = start_worker_process(config)
    try:
        wait_for(lambda: set(statuses(store).values()) == {"final"}, what="every trade final", timeout=SETTLE_TIMEOUT_S)
    finally:
        assert_stops_cleanly(worker, tmp_path / "settlement.log")

    events = settlement.events()
    assert sorted(e["trade_id"] for e in events) == [tr.trade_id for tr in trades]  # one event each
    assert chain_positions(client) == expected_positions(chain_before, trades)  # moved exactly once
    assert settlement.positions() == expected_positions(ledger_before, trades)
    if chain.kind == "anvil":  # resolved from the chain, not re-sent
        assert all(settlement.trade_row(i)["settlement_attempts"] == 1 for i in submitted_at_kill)


def test_node_down_trades_queue_then_settle(store, tmp_path):
    if backend.find_anvil() is None:
        pytest.skip("anvil not installed: node_modules/@foundry-rs/anvil missing (run `npm ci`)")
    port, state = backend.free_port(), tmp_path / "anvil-state.json"
    settlement = SettlementStore(store)
    with backend.anvil_node(port=port, extra_args=["--state", str(state)]) as node:
        deployment, _ = deploy_world(node, tmp_path)

        w3 = node.web3()
        worker = make_worker(store, SimpleNamespace(w3=w3, deployment=deployment), batch_size=3)
    # anvil stopped (SIGTERM: it dumps its state); the matching process keeps adding trades
    trades = stream(7)
    insert_trades(store, trades)
    ledger_before = settlement.positions()
    first, second = worker.run_once(), worker.run_once()
    assert "NodeUnavailable" in first.error and second.error
    assert worker.backoff() == 2 * worker.settings.backoff_initial  # doubles, capped at backoff_max
    assert set(statuses(store).values()) == {"pending"}
    assert all("node trouble" in (settlement.trade_row(tr.trade_id)["settlement_error"] or "") for tr in trades[:3])
    assert settlement.events() == [] and settlement.positions() == ledger_before

    with backend.anvil_node(port=port, extra_args=["--state", str(state)]):
        drain(worker)
        assert set(statuses(store).values()) == {"final"}
        assert worker.consecutive_errors == 0
        assert len(settlement.events()) == 7
        assert settlement.positions() == expected_positions(ledger_before, trades)
        # the restarted node kept every balance: chain and ledger agree
        assert reconcile(store, DvPClient(w3, deployment, backend.DEV_OPERATOR_KEY)).breaks == []


@pytest.mark.parametrize("node_kind", ["embedded", "anvil"])
def test_sandbox_chain_worker_process_cli_and_reconcile(store, store_url, tmp_path, node_kind):
    from venue.cli import main

    runner = CliRunner()
    config = tmp_path / "venue.toml"
    config.write_text(f'[venue]\ndata_dir = "."\ndatabase_url = "{store_url}"\n' + operators_section())

    def venue(*args):
        return runner.invoke(
            main, ["--config", str(config), *args], catch_exceptions=False, env={"VENUE_READ_REASON": TEST_READ_REASON}
        )

    with start_node(node_kind) if node_kind == "anvil" else _no_node() as node:
        chain = deploy_sandbox_chain(store, tmp_path, url=node.url if node else None)  # None: embedded process
        try:
            chain.write_config(config)
            assert "[chain]" in config.read_text() and (tmp_path / "chain" / "deployment.json").exists()
            assert venue("ta", "reconcile").exit_code == 0
            trades = stream(6)
            insert_trades(store, trades)
            worker = start_worker_process(config)
            try:
                wait_for(
                    lambda: set(statuses(store).values()) == {"final"},
                    what="every trade final",
                    timeout=SETTLE_TIMEOUT_S,
                )
            finally:
                assert_stops_cleanly(worker, tmp_path / "settlement.log")
            assert "settlement worker ready" in (tmp_path / "settlement.log").read_text()

            listed = venue("settlement", "list", "--json")
            assert [r["status"] for r in json.loads(listed.output)] == ["final"] * 6
            shown = venue("settlement", "show", "3")
            assert "final" in shown.output and "events:" in shown.output
            cap = json.loads(venue("ta", "cap-table", "ACME", "--json").output)
            assert cap["holders"] == 4 and cap["outstanding"] == 121_000
            assert venue("ta", "cap-table", "BETA", "--csv", str(tmp_path / "beta.csv")).exit_code == 0
            assert (tmp_path / "beta.csv").read_text().startswith("account,member,name")
            ok = venue("ta", "reconcile")
            assert ok.exit_code == 0 and "0 breaks" in ok.output

            # an out-of-band transfer: Alice's wallet sends 7 ACME to Bob outside the venue
            w3 = backend.connect(chain.url)
            d = chain.deployment
            token = d.security("ACME").token
            alice_key = load_sandbox_keys(chain.deployment_path).investor("A-ALICE")  # the investor's, not the venue's
            TxSender(w3, alice_key).transact(
                token, calldata(contract(w3, "Token", token), "transfer", d.wallet("B-BOB").address, 7), 300_000
            )
            broken = venue("ta", "reconcile", "ACME")
            assert broken.exit_code == 1
            assert "A-ALICE" in broken.output and "B-BOB" in broken.output and "2 breaks" in broken.output
            assert "-7" in broken.output
            assert venue("ta", "reconcile", "BETA").exit_code == 0
        finally:
            chain.stop()


class _no_node:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_worker_process_refuses_a_config_it_cannot_use(tmp_path, store_url):
    config = tmp_path / "venue.toml"
    config.write_text(
        f'[venue]\ndata_dir = "."\ndatabase_url = "{store_url}"\n[chain]\nurl = "http://127.0.0.1:1"\n'
        'deployment = "missing.json"\noperator_key = "dev"\n'
    )
    proc = start_worker_process(config)
    assert proc.wait(60) == 2
    assert "no chain deployment at" in (tmp_path / "settlement.log").read_text()


def test_serve_with_an_embedded_chain_starts_node_deploys_and_settles(store, store_url, tmp_path):
    """What `venue serve` does with `[chain] url = "embedded"`: node process + deployment + worker process;
    the CLI finds the running node through the URL file."""
    from venue.chain.service import load_chain_config, reconcile_config, start_settlement

    config = tmp_path / "venue.toml"
    config.write_text(
        f'[venue]\ndata_dir = "."\ndatabase_url = "{store_url}"\n\n[chain]\nurl = "embedded"\n'
        'deployment = "chain/deployment.json"\noperator_key = "dev"\npoll_interval = 0.05\n'
    )
    cfg = load_chain_config(config)
    running = start_settlement(cfg, store)
    try:
        assert running.url.startswith("http://127.0.0.1:") and running.chain.node_process.poll() is None
        trades = stream(5)
        insert_trades(store, trades)
        wait_for(lambda: set(statuses(store).values()) == {"final"}, what="every trade final", timeout=SETTLE_TIMEOUT_S)
        assert reconcile_config(cfg, store).breaks == []
    finally:
        running.stop()
    assert running.worker.returncode == 0 and running.chain.node_process is not None
    assert running.chain.node_process.poll() is not None  # the venue's embedded node is gone with it
    assert not (tmp_path / "chain" / "node-url").exists()


def test_the_worker_leaves_idle_priority_inside_its_database_transactions(tmp_path):
    """At idle priority the worker could hold SQLite's write lock while everything else runs, and the
    journal (every ack) would wait for it: inside a transaction it runs at normal priority, and goes
    back to idle after commit and after rollback."""
    import os
    import threading

    from venue.store import Store

    seen: dict[str, int] = {}
    failed: list[BaseException] = []

    def worker_thread() -> None:  # scheduling policy is per thread on Linux: this thread plays the worker
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            store = Store(f"sqlite:///{tmp_path / 'venue.db'}")
            store.migrate()
            ceiling = backend.priority_ceiling()
            if ceiling is not None:
                store.around_transactions(*ceiling)
            seen["between"] = os.sched_getscheduler(0)
            with store.engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
                seen["in_commit"] = os.sched_getscheduler(0)
            seen["after_commit"] = os.sched_getscheduler(0)
            try:
                with store.engine.begin() as conn:
                    conn.exec_driver_sql("INSERT INTO probe VALUES (1)")
                    seen["in_rollback"] = os.sched_getscheduler(0)
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
            seen["after_rollback"] = os.sched_getscheduler(0)
            seen["ceiling"] = int(ceiling is not None)
            store.dispose()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failed.append(exc)

    thread = threading.Thread(target=worker_thread)
    thread.start()
    thread.join(30)
    assert not failed, failed
    if seen["ceiling"]:
        idle, normal = os.SCHED_IDLE, os.SCHED_OTHER
        assert seen["between"] == idle
        assert (seen["in_commit"], seen["after_commit"]) == (normal, idle)
        assert (seen["in_rollback"], seen["after_rollback"]) == (normal, idle)
    else:  # not allowed to leave idle scheduling again: normal priority throughout
        assert {v for k, v in seen.items() if k != "ceiling"} == {os.SCHED_OTHER}
