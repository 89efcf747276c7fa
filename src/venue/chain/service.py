"""Settlement as a service of the venue: the ``[chain]`` config, the sandbox chain, the worker
process and reconciliation of the chain with the holders-of-record ledger.

The ``[chain]`` section of the venue's TOML file (absent: the venue runs without settlement)::

    [chain]
    url = "http://127.0.0.1:8545"        # a JSON-RPC node, or "anvil" / "embedded" (see below)
    deployment = "chain/deployment.json" # written by deploy_sandbox_chain / `venue sandbox`
    operator_key = "dev"                 # "dev": the development chain's well-known first key;
    # operator_keystore = "operator.json"       # or: an encrypted keystore (Web3 Secret Storage,
    # operator_keystore_password_env = "VENUE_KEYSTORE_PASSWORD"  # as geth/clef/foundry write it),
    # operator_keystore_password_file = "keystore.pw"  # its password from a variable or a 0600 file;
    # operator_key_env = "VENUE_OPERATOR_KEY"   # or: the hex key in an environment variable
    confirmations = 0                    # blocks on top of a trade's block before it is final
    batch_size = 100                     # trades per settleBatch transaction
    pipeline = 2                         # transactions in flight per step
    poll_interval = 0.2                  # seconds between steps when idle
    view_refresh = 2.0                   # seconds between the gates' snapshots of the chain

The operator key is never read from a plain file: a real key lives in an encrypted keystore (`venue
keystore create` makes one) whose password comes from the environment or from a file only its
owner may read (mode 0600; anything looser is refused), or is handed in by the environment.
Relative paths are relative to the config file's folder. ``url = "anvil"`` (the sandbox's default)
means the process that starts the venue also starts a local node, anvil from the npm packages, and
deploys to it with :func:`deploy_sandbox_chain`; ``url = "embedded"`` does the same with the
embedded node (py-evm in a child process serving JSON-RPC: the node of a Python-only install,
without the npm packages, 10x slower to settle, spec/settlement.md section 8). That chain lives
only as long as that process, and the
worker is given the node's URL (``start_worker_process(config, url=...)``). Every process reaches
the chain by URL: the node is its own process, the worker another, and the CLI reads it too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from venue.chain import backend
from venue.chain.contracts import contract, read
from venue.chain.deploy import (
    DEFAULT_WALLET_SEED,
    Deployment,
    InvestorWallet,
    SandboxKeys,
    SecurityContracts,
    deploy_venue_chain,
    sandbox_issuer_key,
)
from venue.chain.errors import ChainError, NodeUnavailable
from venue.chain.settlement import DvPClient
from venue.chain.worker import SettlementWorker, WorkerSettings, install_signal_handlers
from venue.config import ConfigError, load_config, read_config
from venue.store import Store
from venue.store.settlement import (
    CASH_ASSET,
    LedgerDeltas,
    SettlementState,
    SettlementStore,
)

log = logging.getLogger("venue.settlement")

EMBEDDED = "embedded"
ANVIL = "anvil"
# [chain] url values that make the venue start its own node, deployed to at each start.
LOCAL_NODES = (ANVIL, EMBEDDED)
DEV_KEY = "dev"
DEFAULT_DEPLOYMENT = Path("chain") / "deployment.json"
#: Beside the deployment: the keys of the sandbox's simulated investors and KYC desk (mode 0600),
#: for the sandbox's issuer script and tests only; the venue and the worker never read it.
SANDBOX_KEYS_FILE = "sandbox-wallets.json"
WORKER_LOG = "settlement.log"
WORKER_DB_URL_ENV = "VENUE_SETTLEMENT_DB_URL"  # store URL handed to the worker process


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """The ``[chain]`` section, resolved (paths absolute, operator key read), with the store it serves."""

    url: str
    deployment: Path
    operator_key: str = field(repr=False)
    database_url: str
    data_dir: Path
    config_path: Path
    confirmations: int = 0
    batch_size: int = 100
    pipeline: int = 2
    poll_interval: float = 0.2
    view_refresh: float = 2.0

    @property
    def starts_node(self) -> bool:
        """True when the venue process starts its own node (anvil or the embedded one)."""
        return self.url in LOCAL_NODES

    def settings(self) -> WorkerSettings:
        """The worker's settings from this section."""
        return WorkerSettings(
            batch_size=self.batch_size,
            pipeline=self.pipeline,
            confirmations=self.confirmations,
            poll_interval=self.poll_interval,
        )


def _int(section: dict, key: str, default: int, minimum: int, path: Path) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"[chain] {key} in {path} must be a whole number >= {minimum}, not {value!r}")
    return value


KEY_SOURCES = ("operator_key", "operator_keystore", "operator_key_env")


def _operator_key(section: dict, base: Path, path: Path) -> str:
    sources = [k for k in KEY_SOURCES if k in section]
    if len(sources) != 1:
        raise ConfigError(
            f'[chain] in {path} needs exactly one of operator_key = "dev", operator_keystore = "FILE" '
            f'(with operator_keystore_password_env or _file) or operator_key_env = "VAR" (found {sources or "none"})'
        )
    source = sources[0]
    if source == "operator_key":
        if section[source] != DEV_KEY:
            raise ConfigError(
                f'[chain] operator_key in {path} may only be "dev" (the development chain\'s '
                "well-known key); keep a real key out of the config file: use operator_keystore "
                "(venue keystore create) or operator_key_env"
            )
        key = backend.DEV_OPERATOR_KEY
    elif source == "operator_key_env":
        key = os.environ.get(str(section[source]), "")
        if not key:
            raise ConfigError(f"[chain] operator_key_env in {path}: environment variable {section[source]} is not set")
    else:
        key = _keystore_key(section, base, path)
    key = key.strip()
    body = key.removeprefix("0x")
    if len(body) != 64 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise ConfigError(f"[chain] operator key from {source} in {path} is not a 32-byte hex private key")
    return "0x" + body


def _resolve(base: Path, value) -> Path:
    p = Path(str(value))
    return p if p.is_absolute() else base / p


def write_private(file: Path, text: str) -> None:
    """Writes `file` readable by its owner only (mode 0600 from its creation)."""
    file.unlink(missing_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def private_file_problem(file: Path) -> str | None:
    """Why `file` may not hold a secret (readable by others than its owner), or None."""
    mode = file.stat().st_mode & 0o777
    if mode & 0o077:
        return f"{file} is readable by others (mode {mode:o}): chmod 600 {file}"
    return None


def _keystore_key(section: dict, base: Path, path: Path) -> str:
    """The key in [chain] operator_keystore, decrypted with its password (from the environment or a
    0600 file)."""
    import json

    from eth_account import Account

    keystore = _resolve(base, section["operator_keystore"])
    given = [k for k in ("operator_keystore_password_env", "operator_keystore_password_file") if k in section]
    if len(given) != 1:
        raise ConfigError(
            f"[chain] operator_keystore in {path} needs exactly one of operator_keystore_password_env "
            f'= "VAR" or operator_keystore_password_file = "FILE" (found {given or "none"})'
        )
    if given[0] == "operator_keystore_password_env":
        password = os.environ.get(str(section[given[0]]))
        if password is None:
            raise ConfigError(
                f"[chain] operator_keystore_password_env in {path}: environment variable {section[given[0]]} is not set"
            )
    else:
        pw_file = _resolve(base, section[given[0]])
        try:
            problem = private_file_problem(pw_file)
            password = pw_file.read_text().rstrip("\n")
        except OSError as exc:
            raise ConfigError(
                f"[chain] operator_keystore_password_file in {path}: cannot read {pw_file}: {exc.strerror}"
            ) from None
        if problem:
            raise ConfigError(f"[chain] operator_keystore_password_file in {path}: {problem}")
    try:
        encrypted = json.loads(keystore.read_text())
    except OSError as exc:
        raise ConfigError(f"[chain] operator_keystore in {path}: cannot read {keystore}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"[chain] operator_keystore in {path}: {keystore} is not a JSON keystore") from None
    try:
        return "0x" + bytes(Account.decrypt(encrypted, password)).hex()
    except ValueError as exc:
        raise ConfigError(f"[chain] operator_keystore in {path}: cannot decrypt {keystore}: {exc}") from None
    except (KeyError, TypeError):
        raise ConfigError(f"[chain] operator_keystore in {path}: {keystore} is not a keystore (version 3)") from None


def load_chain_config(path: str | Path) -> ChainConfig | None:
    """Reads the ``[chain]`` section of a venue config file; None when there is none."""
    path = Path(path)
    raw = read_config(path)  # every section's keys checked, [chain] among them
    section = raw.get("chain")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"[chain] in {path} must be a table")
    venue = load_config(path)
    base = path.resolve().parent
    url = section.get("url")
    if not isinstance(url, str) or not (url in LOCAL_NODES or url.startswith(("http://", "https://"))):
        raise ConfigError(
            f'[chain] url in {path} must be "anvil", "embedded" or an http(s):// JSON-RPC URL, not {url!r}'
        )
    deployment = Path(section.get("deployment", str(DEFAULT_DEPLOYMENT)))
    if not deployment.is_absolute():
        deployment = base / deployment
    poll = section.get("poll_interval", 0.2)
    if not isinstance(poll, (int, float)) or isinstance(poll, bool) or poll <= 0:
        raise ConfigError(f"[chain] poll_interval in {path} must be a positive number of seconds, not {poll!r}")
    view_refresh = section.get("view_refresh", 2.0)
    if not isinstance(view_refresh, (int, float)) or isinstance(view_refresh, bool) or view_refresh <= 0:
        raise ConfigError(f"[chain] view_refresh in {path} must be a positive number of seconds, not {view_refresh!r}")
    return ChainConfig(
        url=url,
        deployment=deployment,
        operator_key=_operator_key(section, base, path),
        database_url=venue.database_url,
        data_dir=venue.data_dir,
        config_path=path.resolve(),
        confirmations=_int(section, "confirmations", 0, 0, path),
        batch_size=_int(section, "batch_size", 100, 1, path),
        pipeline=_int(section, "pipeline", 2, 1, path),
        poll_interval=float(poll),
        view_refresh=float(view_refresh),
    )


def load_deployment(path: Path) -> Deployment:
    """The Deployment JSON at ``path``; ConfigError saying what to do when it is missing."""
    try:
        return Deployment.from_json(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"no chain deployment at {path}: deploy first (`venue sandbox` does) or fix [chain] deployment"
        ) from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"chain deployment {path} is not a deployment file: {exc}") from None


def load_sandbox_keys(deployment_path: Path) -> SandboxKeys:
    """The sandbox issuer script's keys beside a sandbox deployment (its simulated investors' wallet
    keys, its claim signer's): for the sandbox's own scripts and tests. The venue and the worker
    never call this."""
    return SandboxKeys.from_json((Path(deployment_path).parent / SANDBOX_KEYS_FILE).read_text())


# ---------------------------------------------------------------- the sandbox chain
@dataclass
class SandboxChain:
    """A deployed venue chain: what the caller needs to start the worker (and to stop the node)."""

    url: str
    deployment_path: Path
    deployment: Deployment
    operator_key_source: str = DEV_KEY
    node_process: subprocess.Popen | None = None  # the embedded node this module started, if any
    _node: contextlib.ExitStack | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stops the embedded node if this module started it (its chain is gone then)."""
        if self._node is not None:
            self._node.close()
            self._node = None

    def config_section(self, confirmations: int = 0, batch_size: int = 100) -> str:
        """A ``[chain]`` TOML section pointing at this chain."""
        return (
            f'[chain]\nurl = "{self.url}"\ndeployment = "{self.deployment_path.as_posix()}"\n'
            f'operator_key = "{self.operator_key_source}"\nconfirmations = {confirmations}\n'
            f"batch_size = {batch_size}\n"
        )

    def write_config(self, config_path: Path, **kwargs) -> None:
        """Replaces (or appends) the ``[chain]`` section of a venue config file."""
        write_chain_section(config_path, self.config_section(**kwargs))


def write_chain_section(config_path: Path, section: str) -> None:
    """Replaces the ``[chain]`` table of a TOML file (or appends one), keeping everything else."""
    lines = config_path.read_text().splitlines(keepends=True) if config_path.exists() else []
    out: list[str] = []
    skipping = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped == "[chain]"
        if not skipping:
            out.append(line)
    text = "".join(out).rstrip("\n")
    config_path.write_text((text + "\n\n" if text else "") + section)


def deploy_sandbox_chain(
    store: Store,
    data_dir: Path,
    url: str | None = None,
    *,
    operator_key: str = backend.DEV_OPERATOR_KEY,
    holding_periods: dict[str, int] | None = None,
    deployment_path: Path | None = None,
) -> SandboxChain:
    """Deploys the venue's contracts for every security in ``store`` to the node at ``url`` (None or
    "embedded": starts the embedded node process; "anvil": starts anvil), onboards every account as an investor (its jurisdiction as
    country), mints each account's tokens and funds its USD from ``holdings``, gives holdings without
    lots an opening lot, and writes the Deployment JSON (``data_dir/chain/deployment.json``,
    addresses only) and the sandbox's keys beside it (``sandbox-wallets.json``, mode 0600).

    This is the sandbox's issuer script: the tokens and their KYC suite are deployed by the sandbox's
    issuer account (:func:`~venue.chain.deploy.sandbox_issuer_key`), not the operator, and the
    venue then attaches each one through the checks of `venue securities attach`.

    ``holding_periods`` (symbol -> seconds, default 0) sets the on-chain holding-period module: a
    sandbox whose tokens were all just minted could not trade a security with a real period.
    """
    settlement = SettlementStore(store)
    stack = contextlib.ExitStack()
    process = None
    try:
        if url is None or url in LOCAL_NODES:
            node = stack.enter_context(backend.anvil_node() if url == ANVIL else backend.embedded_node())
            url, process = node.url, node.process
        w3 = backend.connect(url)
        backend.wait_until_ready(w3, 30.0)
        accounts = settlement.accounts()
        securities = settlement.security_rows()
        symbols = {s["symbol"] for s in securities}
        periods = holding_periods or {}
        tokens: dict[tuple[str, str], int] = {}
        cash: dict[str, int] = {}
        for (account_id, asset), quantity in settlement.positions().items():
            if quantity <= 0:
                continue
            if asset == CASH_ASSET:
                cash[account_id] = _whole(quantity * 10**6, f"USD holding of {account_id}")
            elif asset in symbols:
                tokens[(account_id, asset)] = _whole(quantity, f"{asset} holding of {account_id}")
        deployment = deploy_venue_chain(
            w3,
            operator_key,
            investors=[(a["account_id"], a["jurisdiction"]) for a in accounts],
            securities=[(s["symbol"], s["name"], periods.get(s["symbol"], 0)) for s in securities],
            initial_tokens=tokens,
            initial_cash=cash,
            issuer_key=sandbox_issuer_key(DEFAULT_WALLET_SEED),
        )
        deployment = _attach_sandbox_tokens(w3, deployment)
        settlement.ensure_opening_lots(symbols)
        path = deployment_path or Path(data_dir) / DEFAULT_DEPLOYMENT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(deployment.to_json())  # addresses only
        write_private(
            path.parent / SANDBOX_KEYS_FILE, SandboxKeys.derived(deployment.investors, DEFAULT_WALLET_SEED).to_json()
        )
    except BaseException:
        stack.close()
        raise
    chain = SandboxChain(
        url,
        path,
        deployment,
        DEV_KEY if operator_key == backend.DEV_OPERATOR_KEY else "",
        process,
        stack if process is not None else None,
    )
    log.info(
        "sandbox chain deployed at %s: %d securities, %d investors; deployment in %s",
        url,
        len(deployment.securities),
        len(deployment.investors),
        path,
    )
    return chain


def _attach_sandbox_tokens(w3, deployment: Deployment) -> Deployment:
    """The venue attaches the tokens the sandbox's issuer deployed, through the checks of `venue
    securities attach` (:func:`check_token`): the deployment returned lists only what passed them."""
    attached = replace(deployment, securities={})
    for symbol, sec in deployment.securities.items():
        result = check_token(w3, attached, symbol, sec.token)
        if result.refusals:
            raise ChainError(f"the sandbox's {symbol} token cannot be attached: {'; '.join(result.refusals)}")
        attached = replace(attached, securities={**attached.securities, symbol: result.security})
    return attached


def _whole(value: Decimal, what: str) -> int:
    if value != value.to_integral_value():
        raise ValueError(f"{what} ({value}) is not a whole number of on-chain units")
    return int(value)


# ---------------------------------------------------------------- the worker
def node_url_file(cfg: ChainConfig) -> Path:
    """Where a running venue writes the URL of the embedded node it started (next to the deployment)."""
    return cfg.deployment.parent / "node-url"


def resolve_url(cfg: ChainConfig, url: str | None = None) -> str:
    """The node URL: ``url`` if given, else ``[chain] url``, else (``anvil``, ``embedded``) the URL the running
    venue wrote; ConfigError when there is none."""
    if url:
        return url
    if not cfg.starts_node:
        return cfg.url
    try:
        return node_url_file(cfg).read_text().strip()
    except FileNotFoundError:
        raise ConfigError(
            f'[chain] url is "{cfg.url}" and no venue is running it: start the venue (it starts '
            "the node) or pass the node's URL (--url http://127.0.0.1:PORT)"
        ) from None


def open_worker(cfg: ChainConfig, url: str | None = None) -> tuple[SettlementWorker, Store]:
    """A worker for ``cfg`` connected to its node and store (the node must answer)."""
    node_url = resolve_url(cfg, url)
    deployment = load_deployment(cfg.deployment)
    w3 = backend.connect(node_url)
    chain_id = int(backend.rpc(w3, "eth_chainId", retries=0), 16)
    if chain_id != deployment.chain_id:
        raise ConfigError(
            f"node at {node_url} is chain {chain_id}, the deployment {cfg.deployment} is for "
            f"chain {deployment.chain_id}"
        )
    if not backend.rpc(w3, "eth_getCode", [deployment.dvp, "latest"], retries=0).removeprefix("0x"):
        raise ConfigError(
            f"no DvP contract at {deployment.dvp} on {node_url}: the deployment {cfg.deployment} "
            "belongs to another chain (redeploy)"
        )
    store = Store(cfg.database_url)
    ceiling = backend.priority_ceiling()
    if ceiling is not None:
        store.around_transactions(*ceiling)
    return SettlementWorker(SettlementStore(store), w3, deployment, cfg.operator_key, cfg.settings()), store


def run_worker(
    config_path: str | Path, *, url: str | None = None, database_url: str | None = None, install_signals: bool = True
) -> int:
    """Runs the worker of a config file until stopped (``database_url`` overrides the file's, as
    ``venue --db-url`` does); waits (with capped backoff) for a node that does not answer yet.
    Returns a process exit code (2: the configuration cannot work)."""
    try:
        cfg = load_chain_config(config_path)
    except ConfigError as exc:
        log.error("settlement worker cannot start: %s", exc)
        return 2
    if cfg is None:
        log.error("settlement worker cannot start: %s has no [chain] section", config_path)
        return 2
    if database_url:
        cfg = replace(cfg, database_url=database_url)
    stopping: list[bool] = []
    if install_signals:
        import signal

        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    delay = 0.5
    import time

    while True:
        try:
            worker, store = open_worker(cfg, url)
            break
        except ConfigError as exc:
            log.error("settlement worker cannot start: %s", exc)
            return 2
        except ChainError as exc:
            if stopping:
                return 0
            log.warning(
                "settlement worker: node at %s not answering (%s); retrying in %.1fs", url or cfg.url, exc, delay
            )
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
    if install_signals:
        install_signal_handlers(worker)
        if stopping:
            worker.stop()
    log.info(
        "settlement worker ready: node %s, store %s, batch %d, confirmations %d",
        worker.node_url,
        store.engine.url.render_as_string(hide_password=True),
        cfg.batch_size,
        cfg.confirmations,
    )
    print(f"settlement worker ready: node {worker.node_url}", file=sys.stderr, flush=True)
    try:
        worker.run_forever()
    finally:
        store.dispose()
    log.info("settlement worker stopped")
    return 0


def start_worker_process(
    config_path: str | Path,
    *,
    url: str | None = None,
    database_url: str | None = None,
    log_path: Path | None = None,
    verbose: bool = False,
) -> subprocess.Popen:
    """Starts ``python -m venue.chain.worker --config FILE`` (output appended to ``log_path``, default
    ``settlement.log`` in the venue's data dir). ``database_url`` overrides the file's store (passed in
    the environment, not on the command line, where it would show a password). Stop it with
    :func:`stop_worker_process`."""
    config_path = Path(config_path).resolve()
    if log_path is None:
        cfg = load_chain_config(config_path)
        log_path = (cfg.data_dir if cfg else config_path.parent) / WORKER_LOG
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "venue.chain.worker", "--config", str(config_path)]
    if url:
        cmd += ["--url", url]
    if verbose:
        cmd.append("-v")
    env = dict(os.environ)
    env.pop(WORKER_DB_URL_ENV, None)
    if database_url:
        env[WORKER_DB_URL_ENV] = database_url
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=backend.settlement_child,
        )


def stop_worker_process(process: subprocess.Popen, timeout: float = 30.0) -> int | None:
    """SIGTERM (the worker finishes its step), then SIGKILL after ``timeout``; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass
class RunningSettlement:
    """The settlement side of a running venue: the worker process, and the embedded node if the venue
    started one."""

    config: ChainConfig
    url: str
    worker: subprocess.Popen
    chain: SandboxChain | None = None

    def stop(self) -> None:
        """Stops the worker (after its current step), then the embedded node if there is one."""
        try:
            code = stop_worker_process(self.worker)
            if code not in (0, None):
                log.warning("settlement worker exited with %s (see %s)", code, self.config.data_dir / WORKER_LOG)
        finally:
            if self.chain is not None:
                node_url_file(self.config).unlink(missing_ok=True)
                self.chain.stop()


def start_settlement(cfg: ChainConfig, store: Store) -> RunningSettlement:
    """What `venue serve` does when the config has a ``[chain]`` section: with ``url = "anvil"`` or
    ``"embedded"``, starts that node, deploys the venue to it from ``store`` (deploy_sandbox_chain, to the
    configured deployment path) and records its URL for the CLI; then starts the worker process on
    ``store``'s database. Call it before the venue loads its ledger: the deployment may add opening
    lots."""
    chain = None
    url = cfg.url
    if cfg.starts_node:
        chain = deploy_sandbox_chain(
            store, cfg.data_dir, cfg.url, operator_key=cfg.operator_key, deployment_path=cfg.deployment
        )
        url = chain.url
        node_url_file(cfg).write_text(url + "\n")
    try:
        worker = start_worker_process(cfg.config_path, url=url if chain else None, database_url=store.url)
    except BaseException:
        if chain is not None:
            chain.stop()
        raise
    log.info("settlement worker started (pid %d) for the chain at %s", worker.pid, url)
    return RunningSettlement(cfg, url, worker, chain)


# ---------------------------------------------------------------- reconciliation
@dataclass(frozen=True, slots=True)
class Break:
    """A difference between the chain and the ledger (or inside the ledger)."""

    kind: str  # balance | supply | lots | wallet
    asset: str
    account_id: str | None
    chain: Decimal | None
    ledger: Decimal | None
    note: str = ""

    @property
    def difference(self) -> Decimal | None:
        """chain - ledger, when both are known."""
        if self.chain is None or self.ledger is None:
            return None
        return self.chain - self.ledger


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Result of comparing on-chain balances with ``holdings``."""

    assets: list[str]
    accounts_checked: int
    in_flight_settled: list[int]  # trades settled on chain but not final in the ledger (counted in)
    breaks: list[Break]


# Pending trades with no attempt recorded that a reconciliation still asks the chain about: at least
# what the worker sends before it records a send (batch_size x pipeline, 100 x 2 by default).
UNRECORDED_SENDS = 256


def reconcile(store: Store, client: DvPClient, symbol: str | None = None, block: int | None = None) -> Reconciliation:
    """Compares every wallet's on-chain balance of each security (or ``symbol``; ``USD`` for the cash
    token) with the ledger, after adding trades that settled on chain but are not final yet; also
    token supply against the ledger total, and each account's lots against its holding.

    A consistent picture while trades settle: the chain is read at one block, the head when the
    reconciliation starts, and the ledger in one database snapshot taken after it. A trade final in
    the ledger but settled after that block is taken out again; one not final yet is counted in if
    it had settled by that block. So a trade settling or becoming final during the reconciliation
    is never a break. Only trades the worker may have sent are asked about: those with an attempt
    recorded, and the first UNRECORDED_SENDS pending ones without (the worker sends the oldest
    first, and a node that mines on arrival has them settled before the worker records the send:
    a reconciliation inside that window had reported them as breaks). A backlog of never-sent
    trades beyond those is taken as not settled. ``block``: reconcile at that block instead (it
    must be mined already)."""
    settlement = SettlementStore(store)
    if block is None:
        block = int(backend.rpc(client.w3, "eth_blockNumber"), 16)
    snap = settlement.ledger_snapshot(block)
    deployment = client.deployment
    if symbol is None:
        assets = sorted(deployment.securities) + [CASH_ASSET]
    elif symbol == CASH_ASSET or symbol in deployment.securities:
        assets = [symbol]
    else:
        raise ConfigError(
            f"{symbol} is not deployed on the settlement chain (deployed: "
            f"{', '.join(sorted(deployment.securities)) or 'none'})"
        )
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal, snap.positions)
    in_flight: list[int] = []
    deltas, later = LedgerDeltas(), LedgerDeltas()
    unrecorded = 0
    for trade in snap.unsettled:  # in trade id order, the order the worker sends them
        # Only a trade the worker may have sent can have settled: a backlog of thousands never sent
        # under load made each run take minutes of node calls.
        sent = trade.status is not SettlementState.PENDING or trade.attempts > 0
        if not sent and unrecorded < UNRECORDED_SENDS:
            unrecorded += 1
            sent = True
        if sent and client.is_settled(str(trade.trade_id), block):
            in_flight.append(trade.trade_id)
            deltas.add(trade)
    for trade in snap.final_after_block:
        later.add(trade)
    for key, delta in deltas.changes.items():
        expected[key] += delta
    for key, delta in later.changes.items():
        expected[key] -= delta
    scale = Decimal(10) ** deployment.cash_decimals
    accounts = sorted({a for a, _ in expected} | set(deployment.investors))
    breaks: list[Break] = []
    for asset in assets:
        on_chain_total = Decimal(0)
        for account_id in accounts:
            ledger = expected.get((account_id, asset), Decimal(0))
            if account_id not in deployment.investors:
                if ledger:
                    breaks.append(
                        Break(
                            "wallet",
                            asset,
                            account_id,
                            None,
                            ledger,
                            "account holds it in the ledger but has no wallet on chain",
                        )
                    )
                continue
            if asset == CASH_ASSET:
                chain = Decimal(client.cash_balance(account_id, block)) / scale
            else:
                chain = Decimal(client.token_balance(account_id, asset, block))
            on_chain_total += chain
            if chain != ledger:
                breaks.append(
                    Break(
                        "balance", asset, account_id, chain, ledger, f"wallet {deployment.wallet(account_id).address}"
                    )
                )
        ledger_total = sum((q for (_, a), q in expected.items() if a == asset), Decimal(0))
        supply = _total_supply(client, asset, block)
        if supply != ledger_total:
            outside = supply - on_chain_total
            breaks.append(
                Break(
                    "supply",
                    asset,
                    None,
                    supply,
                    ledger_total,
                    f"{outside} held by addresses that are no venue wallet"
                    if outside
                    else "total supply differs from the ledger total",
                )
            )
    lot_totals, held = snap.lot_totals, snap.positions
    for asset in assets:
        if asset == CASH_ASSET:
            continue
        for account_id in sorted({a for (a, s) in held if s == asset} | {a for (a, s) in lot_totals if s == asset}):
            holding = held.get((account_id, asset), Decimal(0))
            lots = Decimal(lot_totals.get((account_id, asset), 0))
            if holding != lots:
                breaks.append(
                    Break("lots", asset, account_id, None, holding, f"lots add up to {lots}, the holding is {holding}")
                )
    return Reconciliation(assets, len(accounts), in_flight, breaks)


def _total_supply(client: DvPClient, asset: str, block: int | str = "latest") -> Decimal:
    if asset == CASH_ASSET:
        cash = contract(client.w3, "SandboxStablecoin", client.deployment.cash_token)
        return Decimal(read(cash, "totalSupply", block=block)) / (Decimal(10) ** client.deployment.cash_decimals)
    token = contract(client.w3, "Token", client.deployment.security(asset).token)
    return Decimal(read(token, "totalSupply", block=block))


def reconcile_config(
    cfg: ChainConfig, store: Store, symbol: str | None = None, url: str | None = None
) -> Reconciliation:
    """:func:`reconcile` for a config's chain (its node must answer)."""
    node_url = resolve_url(cfg, url)
    deployment = load_deployment(cfg.deployment)
    w3 = backend.connect(node_url, timeout=30)
    try:
        backend.rpc(w3, "eth_chainId", retries=1)
    except NodeUnavailable as exc:
        raise ChainError(f"the settlement chain at {node_url} does not answer: {exc}") from None
    return reconcile(store, DvPClient(w3, deployment, cfg.operator_key), symbol)


# ---------------------------------------------------------------- attaching an issuer's token
@dataclass(frozen=True, slots=True)
class WalletStanding:
    """One venue wallet as an attached token sees it."""

    account_id: str
    address: str
    verified: bool  # in the token's identity registry: may receive
    frozen: bool
    balance: int  # held, frozen tokens included
    frozen_tokens: int
    allowance: int  # to the DvP contract: what a settlement may take
    lots: tuple[tuple[int, int], ...] = ()  # (tacking date in seconds, qty) from the venue's holding-period module

    @property
    def deliverable(self) -> int:
        """Tokens the DvP contract could move out of this wallet now."""
        return 0 if self.frozen else max(0, min(self.balance - self.frozen_tokens, self.allowance))


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What `venue securities attach` found at a token address: `refusals` empty means attachable."""

    symbol: str
    security: SecurityContracts | None
    token_symbol: str | None
    paused: bool | None
    wallets: list[WalletStanding]
    refusals: list[str]
    notes: list[str] = field(default_factory=list)


def check_token(w3, deployment: Deployment, symbol: str, token: str) -> TokenCheck:
    """Reads an ERC-3643 (T-REX) token the venue did not deploy and says whether the venue can
    settle it: a contract at `token` answering `identityRegistry()` and `compliance()` with contracts
    (the compliance bound to this token), decimals 0 (one token is one unit of the security), not
    paused, not already attached under another symbol, some venue wallet verified in its identity
    registry (a buyer could receive), and the DvP contract able to move tokens: every venue wallet
    holding some gave it an allowance for its balance, since the DvP settles as a spender, never as
    the token's agent. No venue wallet holding any yet is a note, not a refusal."""
    from eth_utils import is_address, to_checksum_address

    refusals: list[str] = []
    notes: list[str] = []

    def done(security=None, token_symbol=None, paused=None, wallets=()) -> TokenCheck:
        return TokenCheck(symbol, security, token_symbol, paused, list(wallets), refusals, notes)

    if not is_address(token):
        refusals.append(f"{token} is not an address")
        return done()
    token = to_checksum_address(token)
    for other, sec in deployment.securities.items():
        if sec.token.lower() == token.lower() and other != symbol:
            refusals.append(f"{token} is already attached as {other}")
            return done()
    if not backend.rpc(w3, "eth_getCode", [token, "latest"]).removeprefix("0x"):
        refusals.append(f"no contract at {token} on chain {deployment.chain_id}")
        return done()
    t = contract(w3, "Token", token)
    try:
        ir, compliance = read(t, "identityRegistry"), read(t, "compliance")
        token_symbol, decimals, paused = read(t, "symbol"), read(t, "decimals"), read(t, "paused")
    except ChainError as exc:
        refusals.append(f"{token} is not an ERC-3643 (T-REX) token: {exc}")
        return done()
    for what, address in (("identity registry", ir), ("compliance", compliance)):
        if not backend.rpc(w3, "eth_getCode", [address, "latest"]).removeprefix("0x"):
            refusals.append(f"the token's {what} {address} is not a contract")
    if refusals:
        return done(token_symbol=token_symbol, paused=paused)
    mc = contract(w3, "ModularCompliance", compliance)
    try:
        bound = read(mc, "getTokenBound")
    except ChainError as exc:
        refusals.append(f"the token's compliance {compliance} is not a T-REX modular compliance: {exc}")
        return done(token_symbol=token_symbol, paused=paused)
    if bound.lower() != token.lower():
        refusals.append(f"the token's compliance {compliance} is bound to {bound}, not to the token")
    if decimals != 0:
        refusals.append(f"the token has {decimals} decimals: the venue settles whole units (decimals 0)")
    if paused:
        refusals.append("the token is paused by its issuer's agent: nothing can settle until it is unpaused")
    registry = contract(w3, "IdentityRegistry", ir)
    module = contract(w3, "HoldingPeriodModule", deployment.holding_period_module)
    try:
        with_module = bool(read(mc, "isModuleBound", deployment.holding_period_module))
    except ChainError:
        with_module = False
    wallets = []
    for account_id, wallet in sorted(deployment.investors.items()):
        balance = read(t, "balanceOf", wallet.address)
        lots: tuple[tuple[int, int], ...] = ()
        if with_module and balance:
            tacked, qty = read(module, "getLots", compliance, wallet.address)
            lots = tuple(zip(tacked, qty, strict=True))
        wallets.append(
            WalletStanding(
                account_id,
                wallet.address,
                bool(read(registry, "isVerified", wallet.address)),
                bool(read(t, "isFrozen", wallet.address)),
                balance,
                read(t, "getFrozenTokens", wallet.address),
                read(t, "allowance", wallet.address, deployment.dvp),
                lots,
            )
        )
    if not any(w.verified for w in wallets):
        refusals.append("no venue wallet is verified in the token's identity registry: no buyer could receive it")
    holders = [w for w in wallets if w.balance > 0]
    short = [w.account_id for w in holders if w.allowance < w.balance - w.frozen_tokens]
    if not holders:
        notes.append("no venue wallet holds the token yet: nothing can be sold until the issuer delivers some")
    if short:
        refusals.append(
            f"the DvP contract {deployment.dvp} may not move the tokens of {', '.join(short)}: their wallets "
            "gave it no allowance for their balance (approve the DvP contract from each wallet)"
        )
    period = read(module, "getHoldingPeriod", compliance) if with_module else 0
    name = read(t, "name")
    security = SecurityContracts(symbol, name, token, compliance, ir, period)
    return done(security, token_symbol, paused, wallets)


def attach_token(
    cfg: ChainConfig, store: Store, symbol: str, token: str, *, operator: str, reason: str, url: str | None = None
) -> TokenCheck:
    """`venue securities attach`: checks the token (:func:`check_token`); if it passes, records it as
    `symbol`'s token in the deployment file and, when the ledger holds none of `symbol` yet, takes
    each venue wallet's on-chain balance as its holding with its lots (the positions come from the
    chain, not from a hand-typed figure): the holding-period module's lots, tacking dates kept, when
    the venue's module is bound to the token's compliance, else one opening lot tacking from now. A
    ledger that already holds `symbol` must match the chain. The registry change (``operator``,
    ``reason``) and the positions are one transaction. Returns the check; nothing is written when
    it has refusals. The venue's processes read the deployment when they start: restart the venue
    to trade the token."""
    settlement = SettlementStore(store)
    if symbol not in settlement.securities():
        raise ConfigError(f"unknown symbol {symbol}: list it first (venue securities add)")
    node_url = resolve_url(cfg, url)
    deployment = load_deployment(cfg.deployment)
    w3 = backend.connect(node_url, timeout=30)
    chain_id = int(backend.rpc(w3, "eth_chainId", retries=1), 16)
    if chain_id != deployment.chain_id:
        raise ConfigError(f"node at {node_url} is chain {chain_id}, the deployment is for chain {deployment.chain_id}")
    result = check_token(w3, deployment, symbol, token)
    if result.refusals:
        return result
    held = {a: int(q) for (a, asset), q in settlement.positions(symbol).items() if asset == symbol and q}
    chain = {w.account_id: w.balance for w in result.wallets if w.balance}
    if held and held != chain:
        differ = sorted(a for a in set(held) | set(chain) if held.get(a, 0) != chain.get(a, 0))
        result.refusals.append(
            f"the ledger already holds {symbol} and differs from the chain for {', '.join(differ)} "
            "(venue ta reconcile shows the figures)"
        )
        return result
    sec = result.security
    old = deployment.securities.get(symbol)
    change = (
        {"token": old.token} if old else {},
        {
            "token": sec.token,
            "identity_registry": sec.identity_registry,
            "compliance": sec.compliance,
            "holding_period_seconds": sec.holding_period_seconds,
        },
        operator,
        reason,
    )
    lots = {w.account_id: [(at * 1_000_000, q) for at, q in w.lots] for w in result.wallets if w.lots}
    settlement.record_attach(symbol, change, None if held else chain, lots)
    new = replace(deployment, securities={**deployment.securities, symbol: result.security})
    tmp = cfg.deployment.with_suffix(".tmp")
    tmp.write_text(new.to_json())
    tmp.replace(cfg.deployment)
    return result


# ---------------------------------------------------------------- an investor's own wallet
def bind_wallet(
    cfg: ChainConfig,
    store: Store,
    account_id: str,
    address: str,
    *,
    operator: str,
    reason: str,
    url: str | None = None,
) -> tuple[InvestorWallet, list[str]]:
    """`venue accounts set-wallet`: records `address` as the account's wallet in the deployment
    file (the venue learns the address, never a key) and the change in the registry audit. Its
    identity and country are read from the venue's identity registry when the wallet is registered
    there, else its identity is empty and its country the account's jurisdiction. Returns the
    wallet and notes (not verified in the venue's registry; ledger holdings a new wallet does not
    hold yet). Refuses (ConfigError) an unknown account, a bad address, or one that is another
    account's wallet. The venue's processes read the deployment when they start: restart them."""
    from eth_utils import is_address, to_checksum_address

    from venue.chain.deploy import country_numeric

    accounts = {a["account_id"]: a for a in SettlementStore(store).accounts()}
    if account_id not in accounts:
        raise ConfigError(f"no account {account_id}: open it first (venue accounts add)")
    if not is_address(address):
        raise ConfigError(f"{address} is not an address")
    address = to_checksum_address(address)
    deployment = load_deployment(cfg.deployment)
    for other, wallet in deployment.investors.items():
        if wallet.address.lower() == address.lower() and other != account_id:
            raise ConfigError(f"{address} is already the wallet of {other}")
    w3 = backend.connect(resolve_url(cfg, url), timeout=30)
    registry = contract(w3, "IdentityRegistry", deployment.identity_registry)
    notes = []
    if read(registry, "contains", address):
        identity = read(registry, "identity", address)
        country = read(registry, "investorCountry", address)
    else:
        identity, country = "", country_numeric(accounts[account_id]["jurisdiction"])
    if not read(registry, "isVerified", address):
        notes.append("not verified in the venue's identity registry: tokens using it cannot be delivered to it")
    wallet = InvestorWallet(account_id, country, address, identity)
    old = deployment.investors.get(account_id)
    if old is not None and old.address != address:
        held = {a: q for (acct, a), q in SettlementStore(store).positions().items() if acct == account_id and q}
        if held:
            notes.append(
                f"the ledger holds {', '.join(f'{q} {a}' for a, q in sorted(held.items()))} for {account_id}: "
                "the new wallet must hold them (venue ta reconcile shows the differences)"
            )
    store.record_change(
        "investor",
        account_id,
        {"wallet": old.address} if old else {},
        {"wallet": address, "identity": identity, "country": country},
        operator,
        reason,
        account=account_id,
    )
    new = replace(deployment, investors={**deployment.investors, account_id: wallet})
    tmp = cfg.deployment.with_suffix(".tmp")
    tmp.write_text(new.to_json())
    tmp.replace(cfg.deployment)
    return wallet, notes
