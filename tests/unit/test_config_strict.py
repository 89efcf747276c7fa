"""The venue config fails closed: an unknown section or key is an error naming it, never ignored."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys

import pytest
from venuetest import ROOT

import venue.chain.service as chain_service
import venue.config as config_module
from venue import sandbox
from venue.access import Role, load_operators, load_standards
from venue.chain.service import load_chain_config
from venue.config import SECTIONS, ConfigError, load_config

VENUE = '[venue]\ndata_dir = "."\ndatabase_url = "sqlite:///venue.db"\n'
CHAIN = '\n[chain]\nurl = "http://127.0.0.1:8545"\noperator_key = "dev"\n'

EVERY_KEY = """\
[venue]
comp_id = "ATS"
data_dir = "data"
database_url = "sqlite:///venue.db"

[fix]
port = 9878
allowed_remote = "127.0.0.1"
file_log = false
plaintext = "off"
session_start = "17:00:00"
tls_port = 9879
tls_cert = "tls/server.pem"
tls_key = "tls/server.key"
tls_ca = "tls/ca.pem"

[risk]
market_order_collar_bps = 500

[calendar.default]
timezone = "America/New_York"
pre_open = "09:00"
open = "09:30"
close = "16:00"
weekdays = [0, 1, 2, 3, 4]
holidays = ["2026-12-25"]

[calendar.ACME]
timezone = "UTC"

[chain]
url = "http://127.0.0.1:8545"
deployment = "chain/deployment.json"
operator_key = "dev"
confirmations = 1
batch_size = 10
pipeline = 1
poll_interval = 0.5
view_refresh = 1.0

[access]
admission = ["AS-1"]

[access.standards]
AS-1 = "Registered broker-dealer"
"X.9" = "Any id the venue chooses"

[operators]
users = { alice = "admin", bob = "compliance" }
tokens = { "sha256:0000000000000000000000000000000000000000000000000000000000000000" = "carol:ops" }
"""


def write(tmp_path, text: str):
    path = tmp_path / "venue.toml"
    path.write_text(text)
    return path


def test_a_misspelt_database_url_is_refused_naming_it_and_never_falls_back_to_sqlite(tmp_path):
    path = write(tmp_path, '[venue]\ndata_dir = "."\ndatabse_url = "postgresql://venue@db/venue"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f'{path}: unknown key "databse_url" in [venue]; did you mean "database_url"? '
        "(known: comp_id, data_dir, database_url)"
    )
    with pytest.raises(ConfigError, match="databse_url"):
        load_chain_config(path)
    with pytest.raises(ConfigError, match="databse_url"):
        load_standards(path)
    assert not list(tmp_path.rglob("*.db"))


@pytest.mark.parametrize(
    "text, message",
    [
        (
            '[venu]\ncomp_id = "ATS"\n',
            r"unknown section \[venu\]; did you mean \[venue\]\? \(known: \[access\], "
            r"\[calendar.NAME\], \[chain\], \[console\], \[fix\], \[operators\], \[risk\], \[venue\]\)",
        ),
        ('[calender.default]\ntimezone = "UTC"\n', r"unknown section \[calender\]; did you mean \[calendar.NAME\]\?"),
        ("[scheduler]\nreconcile_minutes = 5\n", r"unknown section \[scheduler\] \(known: "),
        (
            'database_url = "sqlite:///x.db"\n' + VENUE,
            r'key "database_url" is outside any section; it belongs in '
            r"\[venue\]",
        ),
        ('open = "09:30"\n', r'key "open" is outside any section; it belongs in \[calendar.NAME\]'),
        ("speed = 1\n", r'key "speed" is outside any section$'),
        ('venue = "ATS"\n', r"venue must be a section \[venue\], not a value"),
    ],
)
def test_an_unknown_section_is_refused_naming_it(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    "text, key, section, hint",
    [
        (CHAIN + "confirmation = 2\n", "confirmation", "chain", "confirmations"),
        (CHAIN + 'operator_keystor = "k"\n', "operator_keystor", "chain", "operator_keystore"),
        (
            '\n[calendar.default]\ntimezone = "UTC"\nholiday = ["2026-12-25"]\n',
            "holiday",
            "calendar.default",
            "holidays",
        ),
        ('\n[calendar.ACME]\nopen = "09:30"\nclose = "16:00"\nlunch = "12:00"\n', "lunch", "calendar.ACME", None),
        ("\n[fix]\nprot = 9878\n", "prot", "fix", "port"),
        ('\n[fix]\nallowed_remotes = "10.0.0.1"\n', "allowed_remotes", "fix", "allowed_remote"),
        ("\n[risk]\nmarket_collar_bps = 500\n", "market_collar_bps", "risk", "market_order_collar_bps"),
        ('\n[access]\nadmision = ["AS-1"]\n', "admision", "access", "admission"),
        ('\n[access.standard]\nAS-1 = "x"\n', "standard", "access", "standards"),
        ("\n[venue.extra]\nx = 1\n", "extra", "venue", None),
        ('\n[operators]\nuser = { alice = "admin" }\n', "user", "operators", "users"),
    ],
)
def test_an_unknown_key_is_refused_naming_key_and_section(tmp_path, text, key, section, hint):
    path = write(tmp_path, VENUE + text)
    known = ", ".join(sorted(SECTIONS[section] if section in SECTIONS else SECTIONS["calendar.*"]))
    suggestion = f'; did you mean "{hint}"?' if hint else ""
    expected = f'{path}: unknown key "{key}" in [{section}]{suggestion} (known: {known})'
    for load in (load_config, load_chain_config, load_standards, load_operators):
        with pytest.raises(ConfigError) as err:
            load(path)
        assert str(err.value) == expected, load.__name__


def test_a_calendar_key_outside_a_calendar_table_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r'"timezone" is a value there \(did you mean \[calendar.default\] '):
        load_config(write(tmp_path, VENUE + '\n[calendar]\ntimezone = "UTC"\n'))


@pytest.mark.parametrize(
    "text, message",
    [
        ('\n[fix]\nfile_log = "false"\n', r"\[fix\] file_log must be true or false, not 'false'"),
        ('\n[fix]\nport = "9878"\n', r"\[fix\] port must be a whole number, not '9878'"),
        ('\n[fix]\nallowed_remote = ""\n', r"\[fix\] allowed_remote must be a non-empty string"),
        ("\n[risk]\nmarket_order_collar_bps = true\n", r"market_order_collar_bps .* must be a whole number"),
        ('\n[calendar.default]\nopen = 930\nclose = "16:00"\n', r"\[calendar\] section in .* is invalid"),
    ],
)
def test_a_known_key_with_a_value_of_the_wrong_kind_is_refused(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, VENUE + text))


def test_an_empty_database_url_is_refused_not_replaced_by_sqlite(tmp_path):
    with pytest.raises(ConfigError, match=r"\[venue\] database_url must be a non-empty string, not ''"):
        load_config(write(tmp_path, '[venue]\ndatabase_url = ""\n'))


def _tls_files(tmp_path):
    for name in ("server.pem", "server.key", "ca.pem"):
        (tmp_path / "tls").mkdir(exist_ok=True)
        (tmp_path / "tls" / name).write_text("PEM\n")


def test_every_known_key_loads(tmp_path):
    _tls_files(tmp_path)
    path = write(tmp_path, EVERY_KEY)
    cfg = load_config(path)
    assert (cfg.port, cfg.file_log, cfg.market_collar_bps) == (9878, False, 500)
    assert cfg.plaintext == "off" and cfg.tls is not None and cfg.tls.port == 9879
    assert cfg.session_start == "17:00:00"
    assert cfg.tls.ca == tmp_path.resolve() / "tls" / "ca.pem", "relative to the config file's folder"
    assert set(cfg.calendars) == {"default", "ACME"}
    assert load_chain_config(path).confirmations == 1
    assert load_standards(path).ids() == ("AS-1", "X.9")
    operators = load_operators(path)
    assert operators is not None and operators.users == {"alice": Role.ADMIN, "bob": Role.COMPLIANCE}
    assert list(operators.tokens.values()) == [("carol", Role.OPS)]


def test_the_sandbox_config_still_loads(tmp_path):
    path = sandbox.prepare(tmp_path / "sandbox", 9878, chain="none")
    cfg = load_config(path)
    assert cfg.port == 9878 and cfg.database_url.startswith("sqlite:///")
    assert load_chain_config(path) is None
    assert load_standards(path).ids()
    assert load_operators(path).users == {pwd.getpwuid(os.getuid()).pw_name: Role.ADMIN}, "who starts it is its admin"


def test_every_known_key_is_documented():
    """config.py's docstring names every key; chain/service.py's documents exactly the [chain] keys."""
    for section, keys in SECTIONS.items():
        for key in keys or ():
            assert re.search(rf"\b{key}\b", config_module.__doc__), f"[{section}] {key} is not documented"
    documented = set(re.findall(r"^\s+#?\s*(\w+) = ", chain_service.__doc__, re.M))
    assert documented == SECTIONS["chain"]


def test_the_cli_refuses_an_unknown_key_without_a_traceback(tmp_path):
    path = tmp_path / "BAD.toml"
    path.write_text('[venue]\ndata_dir = "."\ndatabse_url = "postgresql://venue@db/venue"\n')
    env = {k: v for k, v in os.environ.items() if k != "VENUE_CONFIG"}
    res = subprocess.run(
        [sys.executable, "-m", "venue.cli", "--config", str(path), "members", "list"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert res.returncode != 0, res.stdout
    assert 'unknown key "databse_url" in [venue]' in res.stderr, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    assert not list(tmp_path.rglob("*.db"))


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        ('plaintext = "public"', r"\[fix\] plaintext must be one of loopback, any, off, not 'public'"),
        ('session_start = "9:30"', r'\[fix\] session_start must be a UTC time "HH:MM:SS" or "none", not \'9:30\''),
        ('session_start = "24:00:00"', r"session_start must be a UTC time"),
        ("tls_port = 9879", r"TLS needs tls_port, tls_cert, tls_key and tls_ca; missing tls_cert, tls_key, tls_ca"),
        (
            'tls_port = 9878\ntls_cert = "tls/server.pem"\ntls_key = "tls/server.key"\ntls_ca = "tls/ca.pem"',
            r"tls_port 9878 must be a TCP port other than the plaintext port",
        ),
        (
            'tls_port = 9879\ntls_cert = "tls/server.pem"\ntls_key = "tls/nope.key"\ntls_ca = "tls/ca.pem"',
            r"\[fix\] tls_key .*nope.key does not exist",
        ),
    ],
)
def test_tls_settings_are_complete_or_refused(tmp_path, fix, message):
    _tls_files(tmp_path)
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, VENUE + f"\n[fix]\nport = 9878\n{fix}\n"))
