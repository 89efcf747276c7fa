"""Venue configuration: one TOML file (`venue serve --config venue.toml`).

    [venue]
    comp_id = "ATS"                      # the venue's SenderCompID
    data_dir = "var/venue"               # FIX store and logs, venue log
    database_url = "sqlite:///var/venue/venue.db"   # or postgresql://user@host/db

    [fix]
    port = 9878
    allowed_remote = "127.0.0.1"         # optional: comma-separated addresses allowed to connect
    file_log = true                      # QuickFIX message logs under data_dir/fix/log

    [risk]
    market_order_collar_bps = 1000       # market orders hold cash / count notional at reference +-10%

    [calendar.default]                   # every security, unless [calendar.SYMBOL] overrides it
    timezone = "America/New_York"
    pre_open = "09:00"                   # optional: orders accepted, nothing matches until the open
    open = "09:30"                       # opening call auction, then continuous (or periodic) trading
    close = "16:00"
    weekdays = [0, 1, 2, 3, 4]
    holidays = ["2026-12-25"]

Relative paths are relative to the config file's folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from venue.calendar import TradingCalendar, parse_calendar


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class VenueConfig:
    data_dir: Path
    database_url: str
    port: int = 9878
    comp_id: str = "ATS"
    allowed_remote: str | None = None
    file_log: bool = True
    calendars: dict[str, TradingCalendar] = field(default_factory=dict)
    market_collar_bps: int = 1000

    def calendar_for(self, symbol: str) -> TradingCalendar:
        return self.calendars.get(symbol) or self.calendars.get("default") or TradingCalendar()


def load_config(path: Path, *, database_url: str | None = None, data_dir: Path | None = None,
                port: int | None = None) -> VenueConfig:
    """Read a config file; command-line values, when given, win over the file's."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    base = path.resolve().parent
    venue = raw.get("venue", {})
    fixs = raw.get("fix", {})
    ddir = data_dir or Path(venue.get("data_dir", "var/venue"))
    if not ddir.is_absolute():
        ddir = base / ddir
    url = database_url or venue.get("database_url") or f"sqlite:///{ddir / 'venue.db'}"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///"):]
        if rel and not Path(rel).is_absolute():
            url = f"sqlite:///{base / rel}"
    try:
        calendars = {name: parse_calendar(spec) for name, spec in raw.get("calendar", {}).items()}
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"[calendar] section in {path} is invalid: {exc}") from None
    the_port = port if port is not None else int(fixs.get("port", 9878))
    if not 0 < the_port < 65536:
        raise ConfigError(f"fix.port {the_port} is not a TCP port")
    collar = raw.get("risk", {}).get("market_order_collar_bps", 1000)
    if not isinstance(collar, int) or not 0 < collar < 10_000:
        raise ConfigError(f"risk.market_order_collar_bps in {path} must be a whole number of basis points "
                          f"from 1 to 9999, not {collar!r}")
    return VenueConfig(data_dir=ddir, database_url=url, port=the_port, comp_id=venue.get("comp_id", "ATS"),
                       allowed_remote=fixs.get("allowed_remote"), file_log=bool(fixs.get("file_log", True)),
                       calendars=calendars, market_collar_bps=collar)
