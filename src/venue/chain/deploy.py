"""Deploys the venue's chain: the ERC-3643 (T-REX) suite, investor identities, cash and the DvP.

Layout (see spec/settlement.md):

* venue-wide KYC: one ClaimTopicsRegistry (topic :data:`KYC_CLAIM_TOPIC`), one ClaimIssuer (the
  venue's KYC desk, whose signing key is derived from the wallet seed), one TrustedIssuersRegistry,
  one IdentityRegistryStorage and one IdentityRegistry shared by every security, so an investor is
  onboarded once;
* per security: a T-REX Token (decimals 0: one token is one unit of the security) and its
  ModularCompliance, with the venue's HoldingPeriodModule bound and configured;
* the SandboxStablecoin (6 decimals) as the cash leg, and the DvP contract;
* per investor: a simulated investor's wallet (key derived deterministically from the seed and the
  account id), an ONCHAINID Identity holding a KYC claim signed by the venue's claim issuer,
  registered in the IdentityRegistry with its country, and allowances to the DvP contract for the
  cash and for every security, given by the wallet itself.

This is the sandbox's issuer script. The :class:`Deployment` it returns holds addresses only; the
simulated investors' keys and the claim signer's are derived from the seed
(:func:`investor_key`, :func:`claim_signer_key`, :class:`SandboxKeys`) and never enter it.
:func:`deploy_issuer_token` is an issuer deploying its own token, which the venue then attaches
(`venue securities attach`).

The T-REX contracts are deployed as plain implementations and initialised with their ``init``
calls (no TREXFactory, no proxies): the fewest moving parts for a sandbox. On a public network use
T-REX's factory or proxies, which deploy and initialise atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from venue.chain.backend import rpc
from venue.chain.contracts import calldata, contract, creation_code
from venue.chain.errors import RevertError
from venue.chain.transactions import Receipt, TxSender

KYC_CLAIM_TOPIC = 1
ECDSA_CLAIM_SCHEME = 1
CLAIM_KEY_PURPOSE = 3
ECDSA_KEY_TYPE = 1
MAX_UINT256 = 2**256 - 1
DEFAULT_WALLET_SEED = "venue-sandbox"
DEFAULT_GAS_FUNDING = 10**18  # wei sent to each investor wallet for its own transactions

#: ISO 3166-1 alpha-2 -> numeric, for the jurisdictions a sandbox is likely to use. Pass the numeric
#: code directly for any other country.
COUNTRY_NUMERIC = {
    "AT": 40,
    "AU": 36,
    "BE": 56,
    "BR": 76,
    "CA": 124,
    "CH": 756,
    "CN": 156,
    "DE": 276,
    "DK": 208,
    "ES": 724,
    "FI": 246,
    "FR": 250,
    "GB": 826,
    "HK": 344,
    "IE": 372,
    "IN": 356,
    "IT": 380,
    "JP": 392,
    "KR": 410,
    "KY": 136,
    "LU": 442,
    "MX": 484,
    "NL": 528,
    "NO": 578,
    "NZ": 554,
    "PT": 620,
    "SE": 752,
    "SG": 702,
    "US": 840,
    "ZA": 710,
}


def country_numeric(code: int | str) -> int:
    """ISO 3166-1 numeric code (what T-REX stores) from a numeric code or a known alpha-2 code."""
    if isinstance(code, int):
        return code
    if code.isdigit():
        return int(code)
    try:
        return COUNTRY_NUMERIC[code.upper()]
    except KeyError:
        raise ValueError(f"unknown country {code!r}: pass its ISO 3166-1 numeric code") from None


def derive_key(seed: str, label: str) -> str:
    """Deterministic sandbox private key for ``label`` (an account id, or a role) under ``seed``."""
    key = int.from_bytes(keccak(f"venue-sandbox-key|{seed}|{label}".encode()), "big")
    key = key % (0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 - 1) + 1
    return "0x" + key.to_bytes(32, "big").hex()


def investor_key(account_id: str, seed: str = DEFAULT_WALLET_SEED) -> str:
    """The private key of a sandbox's simulated investor wallet (the sandbox's issuer script holds
    it, in :class:`SandboxKeys`; the venue never does)."""
    return derive_key(seed, f"account:{account_id}")


def claim_signer_key(seed: str = DEFAULT_WALLET_SEED) -> str:
    """The sandbox KYC desk's claim-signing key (held by the sandbox's issuer script only)."""
    return derive_key(seed, "claim-signer")


def sandbox_issuer_key(seed: str = DEFAULT_WALLET_SEED) -> str:
    """The sandbox issuer's key: it deploys, owns and is the agent of the sandbox's tokens (held by
    the sandbox's issuer script only; the venue attaches its tokens)."""
    return derive_key(seed, "issuer")


@dataclass(frozen=True, slots=True)
class SandboxKeys:
    """What the sandbox's issuer script holds and the venue does not: the keys of its simulated
    investors' wallets and of its KYC desk's claim signer. Written to its own file (mode 0600,
    ``chain/sandbox-wallets.json``) that neither the venue process nor the settlement worker reads."""

    claim_signer_key: str
    investors: dict[str, str] = field(default_factory=dict)  # account_id -> private key
    issuer_key: str = ""  # the sandbox issuer's (token owner and agent)

    def investor(self, account_id: str) -> str:
        """The private key of an investor's wallet (KeyError if the sandbox does not simulate it)."""
        return self.investors[account_id]

    def to_json(self) -> str:
        """JSON text, marked as the sandbox's simulated investors' keys."""
        return json.dumps(
            {
                "about": SANDBOX_KEYS_NOTE,
                "claim_signer_key": self.claim_signer_key,
                "investors": self.investors,
                "issuer_key": self.issuer_key,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SandboxKeys:
        """Inverse of :meth:`to_json`."""
        raw = json.loads(text)
        return cls(raw["claim_signer_key"], dict(raw["investors"]), raw.get("issuer_key", ""))

    @classmethod
    def derived(cls, account_ids: Iterable[str], seed: str = DEFAULT_WALLET_SEED) -> SandboxKeys:
        """The keys :func:`deploy_venue_chain` used for these accounts under ``seed``."""
        return cls(claim_signer_key(seed), {a: investor_key(a, seed) for a in account_ids}, sandbox_issuer_key(seed))


SANDBOX_KEYS_NOTE = (
    "Keys of the sandbox's SIMULATED investors, of its KYC desk and of its issuer, held by the "
    "sandbox's issuer script to play the investors' and the issuer's part. The venue never reads "
    "this file."
)


@dataclass(frozen=True, slots=True)
class InvestorWallet:
    """The wallet of one venue account, by address: the venue never holds its key. The investor (or
    its custodian) gave the DvP contract allowances from it; ``identity`` is its ONCHAINID."""

    account_id: str
    country: int
    address: str
    identity: str


@dataclass(frozen=True, slots=True)
class SecurityContracts:
    """The contracts of one security token."""

    symbol: str
    name: str
    token: str
    compliance: str
    identity_registry: str
    holding_period_seconds: int


@dataclass(frozen=True, slots=True)
class Deployment:
    """Addresses and sandbox keys of a deployed venue chain; round-trips through JSON."""

    chain_id: int
    operator: str
    dvp: str
    cash_token: str
    cash_symbol: str
    cash_decimals: int
    identity_registry: str
    identity_registry_storage: str
    claim_topics_registry: str
    trusted_issuers_registry: str
    claim_issuer: str
    holding_period_module: str
    kyc_claim_topic: int
    deployed_block: int
    investors: dict[str, InvestorWallet] = field(default_factory=dict)
    securities: dict[str, SecurityContracts] = field(default_factory=dict)
    issuer: str = ""  # the address that deployed, owns and is agent of the tokens deployed with this

    def to_json(self) -> str:
        """JSON text of this deployment: addresses and settings only, no key of any kind."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Deployment:
        """Inverse of :meth:`to_json`. A file written before keys left it is refused: it holds
        secrets (the sandbox's wallet keys, the claim signer's key) and must be redeployed."""
        raw = json.loads(text)
        secrets = sorted(
            {"claim_signer_key"} & set(raw)
            | {"private_key" for v in raw.get("investors", {}).values() if "private_key" in v}
        )
        if secrets:
            raise ValueError(
                f"it holds private keys ({', '.join(secrets)}): a deployment file holds addresses only; "
                "delete it and deploy again"
            )
        raw["investors"] = {k: InvestorWallet(**v) for k, v in raw["investors"].items()}
        raw["securities"] = {k: SecurityContracts(**v) for k, v in raw["securities"].items()}
        return cls(**raw)

    def wallet(self, account_id: str) -> InvestorWallet:
        """The wallet of a venue account (KeyError if not onboarded)."""
        return self.investors[account_id]

    def security(self, symbol: str) -> SecurityContracts:
        """The contracts of a security (KeyError if not deployed)."""
        return self.securities[symbol]


class _Batch:
    """Pipelines transactions of several senders, then waits for them all and checks their status."""

    def __init__(self) -> None:
        self._pending: list[tuple[TxSender, str, str]] = []

    def send(self, sender: TxSender, to: str, data: str, gas: int, what: str, value: int = 0) -> None:
        self._pending.append((sender, sender.send(to, data, gas, value), what))

    def deploy(self, sender: TxSender, code: str, gas: int, what: str) -> str:
        tx_hash, address = sender.deploy(code, gas)
        self._pending.append((sender, tx_hash, what))
        return address

    def wait(self) -> list[Receipt]:
        receipts = []
        for sender, tx_hash, what in self._pending:
            receipt = sender.wait(tx_hash)
            try:
                sender.check(tx_hash, receipt)
            except RevertError as exc:
                raise RevertError(f"{what}: {exc.reason}", exc.data, exc.tx_hash) from exc
            receipts.append(receipt)
        self._pending.clear()
        return receipts


def _deploy_gas(code: str, gas_cap: int) -> int:
    return min(gas_cap, 1_500_000 + 300 * (len(code) // 2))


def _block_gas_limit(w3: Web3) -> int:
    return int(rpc(w3, "eth_getBlockByNumber", ["latest", False])["gasLimit"], 16)


def kyc_claim_signature(signer_key: str, identity: str, topic: int, data: bytes) -> bytes:
    """ONCHAINID claim signature: the signer's personal_sign of keccak(abi.encode(identity, topic, data))."""
    digest = keccak(abi_encode(["address", "uint256", "bytes"], [to_checksum_address(identity), topic, data]))
    return bytes(Account.sign_message(encode_defunct(primitive=digest), signer_key).signature)


def deploy_venue_chain(
    w3: Web3,
    operator_key: str,
    investors: Sequence[tuple[str, int | str]] = (),
    securities: Sequence[tuple[str, str, int]] = (),
    initial_tokens: Mapping[tuple[str, str], int] | None = None,
    initial_cash: Mapping[str, int] | None = None,
    *,
    wallet_seed: str = DEFAULT_WALLET_SEED,
    cash_name: str = "Sandbox USD",
    cash_symbol: str = "sUSD",
    gas_funding: int = DEFAULT_GAS_FUNDING,
    issuer_key: str | None = None,
) -> Deployment:
    """Deploys and wires everything, onboards ``investors``, mints ``initial_tokens`` and ``initial_cash``.

    ``investors`` are (account_id, country) with an ISO 3166-1 numeric or known alpha-2 country;
    ``securities`` are (symbol, name, holding_period_seconds); ``initial_tokens`` maps
    (account_id, symbol) to a quantity of tokens, ``initial_cash`` account_id to stablecoin base units
    (6 decimals). The operator key deploys and owns the venue's contracts (DvP, the cash token, the
    HoldingPeriodModule) and is the only DvP operator. ``issuer_key`` (None: the operator's) is the
    issuer's: it deploys, owns and is the agent of the KYC suite, the compliances and the tokens,
    and sets the holding periods; the operator funds it with ``gas_funding`` × 100 first.
    """
    op = TxSender(w3, operator_key)
    issuer_tx = op if issuer_key in (None, operator_key) else TxSender(w3, issuer_key, chain_id=op.chain_id)
    cap = _block_gas_limit(w3) * 9 // 10
    batch = _Batch()
    operator, issuer = op.address, issuer_tx.address

    def deploy(name: str, *args: Any, by: TxSender = issuer_tx) -> str:
        code = creation_code(w3, name, *args)
        return batch.deploy(by, code, _deploy_gas(code, cap), f"deploy {name}")

    signer = Account.from_key(claim_signer_key(wallet_seed))
    first_block = int(rpc(w3, "eth_blockNumber"), 16) + 1
    if issuer_tx is not op:
        batch.send(op, issuer, "0x", 21_000, "fund the issuer", value=gas_funding * 100)
        batch.wait()

    module = deploy("HoldingPeriodModule", by=op)
    cash = deploy("SandboxStablecoin", cash_name, cash_symbol, operator, by=op)
    dvp = deploy("DvP", operator, operator, by=op)
    ctr = deploy("ClaimTopicsRegistry")
    tir = deploy("TrustedIssuersRegistry")
    irs = deploy("IdentityRegistryStorage")
    ir = deploy("IdentityRegistry")
    claim_issuer = deploy("ClaimIssuer", issuer)
    per_security: dict[str, tuple[str, str]] = {}
    for symbol, _name, _period in securities:
        per_security[symbol] = (deploy("ModularCompliance"), deploy("Token"))
    batch.wait()

    def call(name: str, address: str, fn: str, *args: Any, gas: int = 1_000_000) -> None:
        batch.send(issuer_tx, address, calldata(contract(w3, name, address), fn, *args), gas, f"{name}.{fn}")

    call("ClaimTopicsRegistry", ctr, "init")
    call("ClaimTopicsRegistry", ctr, "addClaimTopic", KYC_CLAIM_TOPIC)
    call(
        "ClaimIssuer",
        claim_issuer,
        "addKey",
        keccak(abi_encode(["address"], [signer.address])),
        CLAIM_KEY_PURPOSE,
        ECDSA_KEY_TYPE,
    )
    call("TrustedIssuersRegistry", tir, "init")
    call("TrustedIssuersRegistry", tir, "addTrustedIssuer", claim_issuer, [KYC_CLAIM_TOPIC])
    call("IdentityRegistryStorage", irs, "init")
    call("IdentityRegistry", ir, "init", tir, ctr, irs)
    call("IdentityRegistryStorage", irs, "bindIdentityRegistry", ir)
    call("IdentityRegistry", ir, "addAgent", issuer)
    module_c = contract(w3, "HoldingPeriodModule", module)
    security_records: dict[str, SecurityContracts] = {}
    for symbol, name, period in securities:
        mc, token = per_security[symbol]
        call("ModularCompliance", mc, "init")
        call("ModularCompliance", mc, "addModule", module)
        call(
            "ModularCompliance",
            mc,
            "callModuleFunction",
            calldata(module_c, "setHoldingPeriod", period),
            module,
        )
        call("Token", token, "init", ir, mc, name, symbol, 0, "0x" + "00" * 20, gas=2_000_000)
        call("Token", token, "addAgent", issuer)
        call("Token", token, "unpause")
        security_records[symbol] = SecurityContracts(symbol, name, token, mc, ir, period)
    batch.wait()

    deployment = Deployment(
        chain_id=op.chain_id,
        operator=operator,
        dvp=dvp,
        cash_token=cash,
        cash_symbol=cash_symbol,
        cash_decimals=6,
        identity_registry=ir,
        identity_registry_storage=irs,
        claim_topics_registry=ctr,
        trusted_issuers_registry=tir,
        claim_issuer=claim_issuer,
        holding_period_module=module,
        kyc_claim_topic=KYC_CLAIM_TOPIC,
        deployed_block=first_block,
        securities=security_records,
        issuer=issuer,
    )
    deployment = onboard_investors(
        w3,
        deployment,
        operator_key,
        investors,
        wallet_seed=wallet_seed,
        gas_funding=gas_funding,
        _op=op,
        _agent=issuer_tx,
    )
    if initial_tokens:
        mint_tokens(w3, deployment, issuer_key or operator_key, initial_tokens, _op=issuer_tx)
    if initial_cash:
        fund_cash(w3, deployment, operator_key, initial_cash, _op=op)
    return deployment


def onboard_investors(
    w3: Web3,
    deployment: Deployment,
    operator_key: str,
    investors: Iterable[tuple[str, int | str]],
    *,
    wallet_seed: str = DEFAULT_WALLET_SEED,
    gas_funding: int = DEFAULT_GAS_FUNDING,
    agent_key: str | None = None,
    _op: TxSender | None = None,
    _agent: TxSender | None = None,
) -> Deployment:
    """The sandbox's issuer script onboards simulated investors: wallets (keys from
    :func:`investor_key` under ``wallet_seed``; the returned deployment holds their addresses only),
    identities with a KYC claim signed by :func:`claim_signer_key`, registry entries and the
    wallets' own DvP allowances; returns the deployment with the new investors added. The operator
    funds the wallets; the identity registry's agent (``agent_key``, default the operator's)
    registers them."""
    investors = [(a, country_numeric(c)) for a, c in investors if a not in deployment.investors]
    if not investors:
        return deployment
    op = _op or TxSender(w3, operator_key)
    agent = _agent or (TxSender(w3, agent_key, chain_id=op.chain_id) if agent_key else op)
    cap = _block_gas_limit(w3) * 9 // 10
    batch = _Batch()
    wallets: dict[str, InvestorWallet] = {}
    keys: dict[str, str] = {}
    for account_id, country in investors:
        keys[account_id] = key = investor_key(account_id, wallet_seed)
        address = Account.from_key(key).address
        batch.send(op, address, "0x", 21_000, f"fund {account_id}", value=gas_funding)
        code = creation_code(w3, "Identity", address, False)
        identity = batch.deploy(op, code, _deploy_gas(code, cap), f"deploy Identity for {account_id}")
        wallets[account_id] = InvestorWallet(account_id, country, address, identity)
    batch.wait()

    claim_data = b"venue KYC"
    signer_key = claim_signer_key(wallet_seed)
    for wallet in wallets.values():
        sender = TxSender(w3, keys[wallet.account_id], chain_id=op.chain_id)
        signature = kyc_claim_signature(signer_key, wallet.identity, deployment.kyc_claim_topic, claim_data)
        identity_c = contract(w3, "Identity", wallet.identity)
        batch.send(
            sender,
            wallet.identity,
            calldata(
                identity_c,
                "addClaim",
                deployment.kyc_claim_topic,
                ECDSA_CLAIM_SCHEME,
                deployment.claim_issuer,
                signature,
                claim_data,
                "",
            ),
            1_000_000,
            f"{wallet.account_id}: addClaim",
        )
        for token in (deployment.cash_token, *(s.token for s in deployment.securities.values())):
            erc20 = contract(w3, "SandboxStablecoin", token)
            batch.send(
                sender,
                token,
                calldata(erc20, "approve", deployment.dvp, MAX_UINT256),
                100_000,
                f"{wallet.account_id}: approve DvP",
            )
    ir_c = contract(w3, "IdentityRegistry", deployment.identity_registry)
    items = list(wallets.values())
    for i in range(0, len(items), 50):
        chunk = items[i : i + 50]
        batch.send(
            agent,
            deployment.identity_registry,
            calldata(
                ir_c,
                "batchRegisterIdentity",
                [w.address for w in chunk],
                [w.identity for w in chunk],
                [w.country for w in chunk],
            ),
            200_000 + 150_000 * len(chunk),
            "IdentityRegistry.batchRegisterIdentity",
        )
    batch.wait()
    return replace(deployment, investors={**deployment.investors, **wallets})


def mint_tokens(
    w3: Web3,
    deployment: Deployment,
    operator_key: str,
    quantities: Mapping[tuple[str, str], int],
    *,
    _op: TxSender | None = None,
) -> None:
    """Mints security tokens: (account_id, symbol) -> quantity. Each mint starts a holding-period lot."""
    op = _op or TxSender(w3, operator_key)
    batch = _Batch()
    by_symbol: dict[str, list[tuple[str, int]]] = {}
    for (account_id, symbol), qty in quantities.items():
        if qty > 0:
            by_symbol.setdefault(symbol, []).append((deployment.wallet(account_id).address, qty))
    for symbol, mints in by_symbol.items():
        token = deployment.security(symbol).token
        token_c = contract(w3, "Token", token)
        for i in range(0, len(mints), 50):
            chunk = mints[i : i + 50]
            batch.send(
                op,
                token,
                calldata(token_c, "batchMint", [m[0] for m in chunk], [m[1] for m in chunk]),
                200_000 + 300_000 * len(chunk),
                f"{symbol}.batchMint",
            )
    batch.wait()


def fund_cash(
    w3: Web3,
    deployment: Deployment,
    operator_key: str,
    amounts: Mapping[str, int],
    *,
    _op: TxSender | None = None,
) -> None:
    """Mints sandbox stablecoin: account_id -> amount in base units (6 decimals)."""
    op = _op or TxSender(w3, operator_key)
    batch = _Batch()
    cash_c = contract(w3, "SandboxStablecoin", deployment.cash_token)
    for account_id, amount in amounts.items():
        if amount > 0:
            batch.send(
                op,
                deployment.cash_token,
                calldata(cash_c, "mint", deployment.wallet(account_id).address, amount),
                150_000,
                f"cash mint {account_id}",
            )
    batch.wait()


def remove_investor_identity(w3: Web3, deployment: Deployment, operator_key: str, account_id: str) -> Receipt:
    """Deletes an investor's entry from the identity registry (KYC revoked): it can no longer receive
    security tokens, so any trade where it buys fails its security leg."""
    op = TxSender(w3, operator_key)
    ir_c = contract(w3, "IdentityRegistry", deployment.identity_registry)
    return op.transact(
        deployment.identity_registry,
        calldata(ir_c, "deleteIdentity", deployment.wallet(account_id).address),
        300_000,
    )


# ---------------------------------------------------------------- the issuer's agent (ops and tests)


def _as_agent(
    w3: Web3, deployment: Deployment, operator_key: str, symbol: str, fn: str, account_id: str, value: Any
) -> Receipt:
    """One call of the token's agent (the operator) about one investor's wallet."""
    token = deployment.security(symbol).token
    return TxSender(w3, operator_key).transact(
        token, calldata(contract(w3, "Token", token), fn, deployment.wallet(account_id).address, value), 300_000
    )


def set_wallet_frozen(
    w3: Web3, deployment: Deployment, operator_key: str, account_id: str, symbol: str, frozen: bool
) -> Receipt:
    """The token's agent freezes (or unfreezes) an investor's wallet: it can neither send nor receive."""
    return _as_agent(w3, deployment, operator_key, symbol, "setAddressFrozen", account_id, frozen)


def freeze_partial_tokens(
    w3: Web3, deployment: Deployment, operator_key: str, account_id: str, symbol: str, qty: int
) -> Receipt:
    """The token's agent freezes `qty` of an investor's tokens (they stay in the wallet, not transferable)."""
    return _as_agent(w3, deployment, operator_key, symbol, "freezePartialTokens", account_id, qty)


def set_holding_period(w3: Web3, deployment: Deployment, operator_key: str, symbol: str, seconds: int) -> Receipt:
    """Sets a security's on-chain holding period in seconds (used while no calendar months are
    set); it applies to lots already held."""
    return _call_module(w3, deployment, operator_key, symbol, "setHoldingPeriod", seconds)


def _call_module(w3: Web3, deployment: Deployment, operator_key: str, symbol: str, fn: str, *args: Any) -> Receipt:
    """The compliance owner (the operator) calls the holding-period module through the security's
    ModularCompliance (`callModuleFunction`): the module takes settings only from a bound compliance."""
    compliance = deployment.security(symbol).compliance
    module_c = contract(w3, "HoldingPeriodModule", deployment.holding_period_module)
    return TxSender(w3, operator_key).transact(
        compliance,
        calldata(
            contract(w3, "ModularCompliance", compliance),
            "callModuleFunction",
            calldata(module_c, fn, *args),
            deployment.holding_period_module,
        ),
        300_000,
    )


def set_holding_period_months(w3: Web3, deployment: Deployment, operator_key: str, symbol: str, months: int) -> Receipt:
    """Sets a security's on-chain holding period in calendar months (Rule 144(d)(1): 6 for a
    reporting issuer, 12 otherwise; 0: the period in seconds applies); it applies to lots already held."""
    return _call_module(w3, deployment, operator_key, symbol, "setHoldingPeriodMonths", months)


#: HoldingPeriodModule holder roles: buyers from the issuer or an affiliate start a new period.
HOLDER_ROLES = {None: 0, "affiliate": 1, "issuer": 2}


def set_holder_role(
    w3: Web3, deployment: Deployment, operator_key: str, symbol: str, account_id: str, role: str | None
) -> Receipt:
    """Records on-chain an investor wallet's relationship to the issuer of `symbol`: "issuer",
    "affiliate" or None (any other holder), as `venue accounts set --issuer-of|--affiliate-of` does
    in the venue's registry."""
    return _call_module(
        w3, deployment, operator_key, symbol, "setHolderRole", deployment.wallet(account_id).address, HOLDER_ROLES[role]
    )


# ---------------------------------------------------------------- an issuer's own token (not the venue's)


@dataclass(frozen=True, slots=True)
class IssuerToken:
    """A T-REX suite an issuer deployed and controls with its own key: the venue attaches to it
    (`venue securities attach`), it does not own it."""

    symbol: str
    issuer: str  # the issuer's address: owner and agent of everything below
    token: str
    compliance: str
    identity_registry: str
    identity_registry_storage: str
    claim_topics_registry: str
    trusted_issuers_registry: str
    claim_issuer: str


def deploy_issuer_token(
    w3: Web3,
    issuer_key: str,
    symbol: str,
    name: str,
    wallets: Sequence[tuple[str, int | str]] = (),
    mints: Mapping[str, int] | None = None,
    *,
    unpause: bool = True,
) -> IssuerToken:
    """What an issuer (or its transfer agent) does on its own, with its own key: deploys a T-REX
    token with its own identity registry, claim issuer and modular compliance (no venue module),
    registers ``wallets`` (address, country) with an identity and a KYC claim it signs itself, and
    mints ``mints`` (address -> quantity). T-REX leaves a new token paused; ``unpause=False`` keeps
    it so. The wallets' keys are not needed: the issuer manages their identities."""
    op = TxSender(w3, issuer_key)
    cap = _block_gas_limit(w3) * 9 // 10
    batch = _Batch()
    issuer = op.address

    def deploy(contract_name: str, *args: Any) -> str:
        code = creation_code(w3, contract_name, *args)
        return batch.deploy(op, code, _deploy_gas(code, cap), f"{symbol}: deploy {contract_name}")

    def call(contract_name: str, address: str, fn: str, *args: Any, gas: int = 1_000_000) -> None:
        batch.send(op, address, calldata(contract(w3, contract_name, address), fn, *args), gas, f"{symbol}: {fn}")

    ctr, tir, irs, ir = (
        deploy(n)
        for n in ("ClaimTopicsRegistry", "TrustedIssuersRegistry", "IdentityRegistryStorage", "IdentityRegistry")
    )
    claim_issuer = deploy("ClaimIssuer", issuer)
    mc, token = deploy("ModularCompliance"), deploy("Token")
    wallets = [(to_checksum_address(a), country_numeric(c)) for a, c in wallets]
    identities = [deploy("Identity", issuer, False) for _ in wallets]
    batch.wait()
    call("ClaimTopicsRegistry", ctr, "init")
    call("ClaimTopicsRegistry", ctr, "addClaimTopic", KYC_CLAIM_TOPIC)
    call("TrustedIssuersRegistry", tir, "init")
    call("TrustedIssuersRegistry", tir, "addTrustedIssuer", claim_issuer, [KYC_CLAIM_TOPIC])
    call("IdentityRegistryStorage", irs, "init")
    call("IdentityRegistry", ir, "init", tir, ctr, irs)
    call("IdentityRegistryStorage", irs, "bindIdentityRegistry", ir)
    call("IdentityRegistry", ir, "addAgent", issuer)
    call("ModularCompliance", mc, "init")
    call("Token", token, "init", ir, mc, name, symbol, 0, "0x" + "00" * 20, gas=2_000_000)
    call("Token", token, "addAgent", issuer)
    claim_data = f"{symbol} issuer KYC".encode()
    for identity in identities:  # the issuer's key is the identities' management key and its own claim signer
        signature = kyc_claim_signature(issuer_key, identity, KYC_CLAIM_TOPIC, claim_data)
        call(
            "Identity",
            identity,
            "addClaim",
            KYC_CLAIM_TOPIC,
            ECDSA_CLAIM_SCHEME,
            claim_issuer,
            signature,
            claim_data,
            "",
        )
    batch.wait()
    if wallets:
        call(
            "IdentityRegistry",
            ir,
            "batchRegisterIdentity",
            [a for a, _ in wallets],
            identities,
            [c for _, c in wallets],
            gas=200_000 + 150_000 * len(wallets),
        )
    batch.wait()
    holders = [(to_checksum_address(a), q) for a, q in (mints or {}).items() if q > 0]
    if holders:
        call(
            "Token",
            token,
            "batchMint",
            [a for a, _ in holders],
            [q for _, q in holders],
            gas=200_000 + 300_000 * len(holders),
        )
    if unpause:
        call("Token", token, "unpause")
    batch.wait()
    return IssuerToken(symbol, issuer, token, mc, ir, irs, ctr, tir, claim_issuer)


def issuer_call(w3: Web3, issuer_key: str, token: str, fn: str, *args: Any) -> Receipt:
    """One call of the issuer's agent on its token (pause, unpause, setAddressFrozen, mint, ...)."""
    return TxSender(w3, issuer_key).transact(token, calldata(contract(w3, "Token", token), fn, *args), 500_000)
