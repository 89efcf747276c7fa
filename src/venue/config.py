"""Venue configuration: one TOML file (`venue serve --config venue.toml`).

    [venue]
    comp_id = "ATS"                      # the venue's SenderCompID (default "ATS")
    data_dir = "var/venue"               # FIX store and logs, venue log (default "var/venue")
    database_url = "sqlite:///var/venue/venue.db"   # or postgresql://user@host/db (default: venue.db in data_dir)

    [fix]
    port = 9878                          # default 9878
    allowed_remote = "127.0.0.1"         # optional: comma-separated addresses allowed to connect
    file_log = true                      # QuickFIX message logs under data_dir/fix/log (default true)
    plaintext = "loopback"               # plaintext sessions: "loopback" (default) | "any" | "off"
    session_start = "00:00:00"           # the FIX day starts (UTC): sequence numbers reset to 1 on
                                         # both sides, held messages of the day before are dropped;
                                         # "none": one endless FIX session (default "00:00:00")
    tls_port = 9879                      # TLS sessions (mutual TLS); with the three files below
    tls_cert = "tls/server.pem"          # the venue's certificate (PEM) and its key
    tls_key = "tls/server.key"
    tls_ca = "tls/ca.pem"                # the CA(s) that issue member client certificates

    [risk]
    market_order_collar_bps = 1000       # market orders hold cash / count notional at reference +-10%

    [calendar.default]                   # every security, unless [calendar.SYMBOL] overrides it
    timezone = "America/New_York"        # default "UTC"
    pre_open = "09:00"                   # optional: orders accepted, nothing matches until the open
    open = "09:30"                       # opening call auction, then continuous (or periodic) trading
    close = "16:00"                      # open = close = "00:00" (the default): trading all day
    weekdays = [0, 1, 2, 3, 4]           # Monday = 0 (default: every day)
    holidays = ["2026-12-25"]            # default: none

    [chain]                              # settlement (absent: none); keys in venue/chain/service.py:
    # url, deployment, operator_key | operator_keystore (+ operator_keystore_password_env |
    # operator_keystore_password_file) | operator_key_env, confirmations, batch_size, pipeline,
    # poll_interval, view_refresh

    [access]                             # written access standards (spec/fair-access.md)
    admission = ["AS-1", "AS-2"]         # standards a new member must meet (default: every standard)
    [access.standards]                   # id = text; the ids are the venue's own
    AS-1 = "Registered broker-dealer and FINRA member in good standing"

    [operators]                          # who may run `venue` commands (spec/fair-access.md section 5)
    users = { alice = "admin", bob = "compliance" }     # OS user name -> admin | ops | compliance | read-only
    tokens = { "sha256:<hex>" = "carol:ops" }           # SHA-256 of a $VENUE_OPERATOR_TOKEN -> "name:role"

    [console]                            # the ops console in the browser (spec/console.md)
    port = 9880                          # served on 127.0.0.1 only; 0 or absent: no console

Relative paths are relative to the config file's folder. The config fails closed: a section or key
not listed in `SECTIONS` below is an error naming it, never ignored (a misspelt `database_url`
must not fall back to the default database).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from venue.calendar import TradingCalendar, parse_calendar


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


# Every section of the config file and its keys: the one list every reader of the file is checked
# against. "calendar.*" is each [calendar.NAME] table; None: the keys are the venue's own names.
SECTIONS: dict[str, frozenset[str] | None] = {
    "venue": frozenset({"comp_id", "data_dir", "database_url"}),
    "fix": frozenset(
        {
            "port",
            "allowed_remote",
            "file_log",
            "plaintext",
            "session_start",
            "tls_port",
            "tls_cert",
            "tls_key",
            "tls_ca",
        }
    ),
    "risk": frozenset({"market_order_collar_bps"}),
    "calendar.*": frozenset({"timezone", "pre_open", "open", "close", "weekdays", "holidays"}),
    "chain": frozenset(
        {
            "url",
            "deployment",
            "operator_key",
            "operator_key_env",
            "operator_keystore",
            "operator_keystore_password_env",
            "operator_keystore_password_file",
            "confirmations",
            "batch_size",
            "pipeline",
            "poll_interval",
            "view_refresh",
        }
    ),
    "access": frozenset({"admission", "standards"}),
    "access.standards": None,  # AS-1 = "..." (checked by venue.access.parse_standards)
    "operators": frozenset({"users", "tokens"}),
    "operators.users": None,  # OS user name = "role" (checked by venue.access.parse_operators)
    "operators.tokens": None,  # "sha256:<hex>" = "name:role" (checked by venue.access.parse_operators)
    "console": frozenset({"port"}),
}


def _section_names() -> dict[str, str]:
    """Top-level section -> how its header is written: "venue" -> "[venue]", "calendar" -> "[calendar.NAME]"."""
    tops = dict.fromkeys(name.split(".")[0] for name in SECTIONS)
    return {top: f"[{top}.NAME]" if f"{top}.*" in SECTIONS else f"[{top}]" for top in tops}


def _unknown_section(path: Path, section: str) -> ConfigError:
    names = _section_names()
    close = difflib.get_close_matches(section, names, n=1)
    hint = f"; did you mean {names[close[0]]}?" if close else ""
    return ConfigError(f"{path}: unknown section [{section}]{hint} (known: {', '.join(sorted(names.values()))})")


def _unknown_key(path: Path, key: str, section: str, known: Iterable[str]) -> ConfigError:
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return ConfigError(f'{path}: unknown key "{key}" in [{section}]{hint} (known: {", ".join(known)})')


def _check_table(table: Mapping, section: str, path: Path) -> None:
    if f"{section}.*" in SECTIONS:  # a table of named tables: [calendar.default], [calendar.ACME]
        for name, body in table.items():
            if not isinstance(body, Mapping):
                raise ConfigError(
                    f"{path}: [{section}] holds one table per name, e.g. [{section}.default]; "
                    f'"{name}" is a value there (did you mean [{section}.default] {name} = ...?)'
                )
            _check_table(body, f"{section}.{name}", path)
        return
    parent = section.rpartition(".")[0]
    known = SECTIONS[section] if section in SECTIONS else SECTIONS[f"{parent}.*"]
    if known is None:
        return
    for key, value in table.items():
        if key not in known:
            raise _unknown_key(path, key, section, known)
        if f"{section}.{key}" in SECTIONS and isinstance(value, Mapping):  # [access.standards]
            _check_table(value, f"{section}.{key}", path)


def check_keys(raw: Mapping, path: Path) -> None:
    """ConfigError naming the first section or key of a parsed config file that `SECTIONS` does not
    list (with the closest known name, if one is close)."""
    names = _section_names()
    for section, body in raw.items():
        if section not in names and not isinstance(body, Mapping):  # a key above the first [section]
            homes = [f"[{name.replace('*', 'NAME')}]" for name, keys in SECTIONS.items() if keys and section in keys]
            hint = f"; it belongs in {' or '.join(homes)}" if homes else ""
            raise ConfigError(f'{path}: key "{section}" is outside any section{hint}')
        if section not in names:
            raise _unknown_section(path, section)
        if not isinstance(body, Mapping):
            raise ConfigError(f"{path}: {section} must be a section {names[section]}, not a value")
        _check_table(body, section, path)


def read_config(path: Path) -> dict:
    """The config file at `path`, parsed and checked against `SECTIONS`: what every reader of a
    section starts from."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc.reason}") from None
    check_keys(raw, path)
    return raw


_KINDS = {str: "a non-empty string", int: "a whole number", bool: "true or false"}


def _get(table: Mapping, section: str, key: str, kind: type, path: Path, default=None):
    """table[key], which must be of `kind` (a bool is no int, a str is not empty); `default` when absent."""
    if key not in table:
        return default
    value = table[key]
    if type(value) is not kind or (kind is str and not value.strip()):
        raise ConfigError(f"{path}: [{section}] {key} must be {_KINDS[kind]}, not {value!r}")
    return value


# [fix] plaintext: where plaintext FIX logons are accepted from.
PLAINTEXT_POLICIES = ("loopback", "any", "off")
_TLS_FILES = ("tls_cert", "tls_key", "tls_ca")


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """The TLS acceptor: its port, the venue's certificate and key, the CA file of member certificates."""

    port: int
    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True, slots=True)
class VenueConfig:
    data_dir: Path
    database_url: str
    port: int = 9878
    comp_id: str = "ATS"
    allowed_remote: str | None = None
    file_log: bool = True
    plaintext: str = "loopback"
    session_start: str | None = "00:00:00"  # the FIX day's start, UTC HH:MM:SS; None: non-stop
    tls: TlsConfig | None = None
    calendars: dict[str, TradingCalendar] = field(default_factory=dict)
    market_collar_bps: int = 1000
    console_port: int = 0  # the ops console on 127.0.0.1 (0: none)
    config_path: Path | None = None  # the file read (the console reads its [operators] at each request)

    def calendar_for(self, symbol: str) -> TradingCalendar:
        return self.calendars.get(symbol) or self.calendars.get("default") or TradingCalendar()


def load_config(
    path: Path, *, database_url: str | None = None, data_dir: Path | None = None, port: int | None = None
) -> VenueConfig:
    """Read a config file; command-line values, when given, win over the file's."""
    raw = read_config(path)
    base = path.resolve().parent
    venue = raw.get("venue", {})
    fixs = raw.get("fix", {})
    ddir = data_dir or Path(_get(venue, "venue", "data_dir", str, path, "var/venue"))
    if not ddir.is_absolute():
        ddir = base / ddir
    url = database_url or _get(venue, "venue", "database_url", str, path) or f"sqlite:///{ddir / 'venue.db'}"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///") :]
        if rel and not Path(rel).is_absolute():
            url = f"sqlite:///{base / rel}"
    try:
        calendars = {name: parse_calendar(spec) for name, spec in raw.get("calendar", {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"[calendar] section in {path} is invalid: {exc}") from None
    the_port = port if port is not None else _get(fixs, "fix", "port", int, path, 9878)
    if not 0 < the_port < 65536:
        raise ConfigError(f"fix.port {the_port} is not a TCP port")
    plaintext = _get(fixs, "fix", "plaintext", str, path, "loopback")
    if plaintext not in PLAINTEXT_POLICIES:
        raise ConfigError(f"{path}: [fix] plaintext must be one of {', '.join(PLAINTEXT_POLICIES)}, not {plaintext!r}")
    collar = raw.get("risk", {}).get("market_order_collar_bps", 1000)
    if type(collar) is not int or not 0 < collar < 10_000:
        raise ConfigError(
            f"risk.market_order_collar_bps in {path} must be a whole number of basis points "
            f"from 1 to 9999, not {collar!r}"
        )
    console_port = _get(raw.get("console", {}), "console", "port", int, path, 0)
    if not 0 <= console_port < 65536 or (console_port and console_port == the_port):
        raise ConfigError(
            f"{path}: [console] port must be 0 (no console) or a TCP port other than FIX's, not {console_port}"
        )
    return VenueConfig(
        data_dir=ddir,
        database_url=url,
        port=the_port,
        comp_id=_get(venue, "venue", "comp_id", str, path, "ATS"),
        allowed_remote=_get(fixs, "fix", "allowed_remote", str, path),
        file_log=_get(fixs, "fix", "file_log", bool, path, True),
        plaintext=plaintext,
        session_start=_session_start(fixs, path),
        tls=_tls(fixs, path, base, the_port),
        calendars=calendars,
        market_collar_bps=collar,
        console_port=console_port,
        config_path=path.resolve(),
    )


def _session_start(fixs: Mapping, path: Path) -> str | None:
    """[fix] session_start as HH:MM:SS (UTC), or None for "none" (a non-stop session)."""
    text = _get(fixs, "fix", "session_start", str, path, "00:00:00")
    if text == "none":
        return None
    parts = text.split(":")
    if (
        len(parts) != 3
        or not all(len(p) == 2 and p.isdigit() for p in parts)
        or not (int(parts[0]) < 24 and int(parts[1]) < 60 and int(parts[2]) < 60)
    ):
        raise ConfigError(f'{path}: [fix] session_start must be a UTC time "HH:MM:SS" or "none", not {text!r}')
    return text


def _tls(fixs: Mapping, path: Path, base: Path, plain_port: int) -> TlsConfig | None:
    """[fix] tls_port with its three files, or None when none of them is set."""
    given = [k for k in ("tls_port", *_TLS_FILES) if k in fixs]
    if not given:
        return None
    missing = [k for k in ("tls_port", *_TLS_FILES) if k not in fixs]
    if missing:
        raise ConfigError(
            f"{path}: [fix] TLS needs tls_port, tls_cert, tls_key and tls_ca; missing {', '.join(missing)}"
        )
    port = _get(fixs, "fix", "tls_port", int, path)
    if not 0 < port < 65536 or port == plain_port:
        raise ConfigError(f"{path}: [fix] tls_port {port} must be a TCP port other than the plaintext port")
    files = {}
    for key in _TLS_FILES:
        file = Path(_get(fixs, "fix", key, str, path))
        file = file if file.is_absolute() else base / file
        if not file.is_file():
            raise ConfigError(f"{path}: [fix] {key} {file} does not exist")
        files[key] = file
    return TlsConfig(port, files["tls_cert"], files["tls_key"], files["tls_ca"])
