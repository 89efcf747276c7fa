"""The [chain] section of the venue config."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from venue.chain import backend
from venue.chain.service import load_chain_config, write_chain_section
from venue.config import ConfigError

VENUE = '[venue]\ndata_dir = "data"\ndatabase_url = "sqlite:///venue.db"\n\n'


def test_no_section_means_no_settlement(tmp_path):
    (tmp_path / "venue.toml").write_text(VENUE)
    assert load_chain_config(tmp_path / "venue.toml") is None


def test_section_is_resolved(tmp_path, monkeypatch):
    key = "0x" + "11" * 32
    monkeypatch.setenv("OPERATOR_KEY_FOR_TEST", key)
    (tmp_path / "venue.toml").write_text(
        VENUE + '[chain]\nurl = "http://127.0.0.1:8545"\n'
        'deployment = "chain/d.json"\noperator_key_env = "OPERATOR_KEY_FOR_TEST"\n'
        "confirmations = 2\nbatch_size = 50\npipeline = 3\npoll_interval = 0.5\n"
    )
    cfg = load_chain_config(tmp_path / "venue.toml")
    assert (cfg.url, cfg.deployment, cfg.operator_key) == ("http://127.0.0.1:8545", tmp_path / "chain/d.json", key)
    assert (cfg.confirmations, cfg.batch_size, cfg.pipeline, cfg.poll_interval) == (2, 50, 3, 0.5)
    assert cfg.database_url == f"sqlite:///{tmp_path / 'venue.db'}" and cfg.data_dir == tmp_path / "data"
    assert key not in repr(cfg)
    settings = cfg.settings()
    assert (settings.batch_size, settings.confirmations) == (50, 2)


def _keystore(tmp_path, key: str, password: str) -> None:
    """A keystore as `venue keystore create` writes it (fewer scrypt rounds: this is a test)."""
    encrypted = Account.encrypt(key, password, kdf="scrypt", iterations=2**10)
    (tmp_path / "op.json").write_text(json.dumps(encrypted))


def test_dev_key_and_keystore(tmp_path, monkeypatch):
    key = "0x" + "22" * 32
    _keystore(tmp_path, key, "correct horse battery")
    pw = tmp_path / "op.pw"
    pw.write_text("correct horse battery\n")
    pw.chmod(0o600)
    monkeypatch.setenv("KEYSTORE_PW_FOR_TEST", "correct horse battery")
    for source, want in (
        ('operator_key = "dev"', backend.DEV_OPERATOR_KEY),
        ('operator_keystore = "op.json"\noperator_keystore_password_file = "op.pw"', key),
        ('operator_keystore = "op.json"\noperator_keystore_password_env = "KEYSTORE_PW_FOR_TEST"', key),
    ):
        (tmp_path / "venue.toml").write_text(VENUE + f'[chain]\nurl = "embedded"\n{source}\n')
        assert load_chain_config(tmp_path / "venue.toml").operator_key == want


@pytest.mark.parametrize(
    "body, mode, message",
    [
        ('operator_keystore_password_file = "op.pw"', 0o644, r"readable by others \(mode 644\): chmod 600"),
        ('operator_keystore_password_file = "op.pw"', 0o640, r"readable by others \(mode 640\)"),
        ('operator_keystore_password_file = "wrong.pw"', 0o600, "cannot decrypt"),
        ("", 0o600, "needs exactly one of operator_keystore_password_env"),
        ('operator_keystore_password_env = "NOT_SET_ANYWHERE_Y"', 0o600, "is not set"),
    ],
)
def test_keystore_problems_say_what_to_fix(tmp_path, body, mode, message):
    _keystore(tmp_path, "0x" + "22" * 32, "correct horse battery")
    for name, text in (("op.pw", "correct horse battery"), ("wrong.pw", "not the password")):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(mode)
    (tmp_path / "venue.toml").write_text(VENUE + f'[chain]\nurl = "embedded"\noperator_keystore = "op.json"\n{body}\n')
    with pytest.raises(ConfigError, match=message):
        load_chain_config(tmp_path / "venue.toml")


def test_a_plain_key_file_is_not_a_key_source(tmp_path):
    (tmp_path / "op.key").write_text("22" * 32 + "\n")
    (tmp_path / "venue.toml").write_text(VENUE + '[chain]\nurl = "embedded"\noperator_key_file = "op.key"\n')
    with pytest.raises(ConfigError, match="operator_key_file"):
        load_chain_config(tmp_path / "venue.toml")


@pytest.mark.parametrize(
    "body, message",
    [
        ('url = "ws://x"\noperator_key = "dev"', 'must be "anvil", "embedded" or an http'),
        ('url = "embedded"\noperator_key = "0x' + "33" * 32 + '"', "keep a real key out of the config file"),
        ('url = "embedded"', "needs exactly one of"),
        ('url = "embedded"\noperator_key_env = "NOT_SET_ANYWHERE_X"', "is not set"),
        ('url = "embedded"\noperator_key = "dev"\nbatch_size = 0', "batch_size"),
        ('url = "embedded"\noperator_key = "dev"\nconfirmations = -1', "confirmations"),
    ],
)
def test_bad_sections_say_what_to_fix(tmp_path, body, message):
    (tmp_path / "venue.toml").write_text(VENUE + "[chain]\n" + body + "\n")
    with pytest.raises(ConfigError, match=message):
        load_chain_config(tmp_path / "venue.toml")


def test_write_chain_section_replaces_only_chain(tmp_path):
    path = tmp_path / "venue.toml"
    path.write_text(VENUE + '[chain]\nurl = "http://old"\n\n[fix]\nport = 1\n')
    write_chain_section(path, '[chain]\nurl = "http://new"\n')
    text = path.read_text()
    assert "http://old" not in text and text.count("[chain]") == 1 and "[fix]\nport = 1" in text
    assert text.endswith('[chain]\nurl = "http://new"\n')


def test_keystore_create_writes_a_private_keystore_the_config_decrypts(tmp_path):
    import subprocess
    import sys

    from venuetest import ROOT

    pw = tmp_path / "op.pw"
    pw.write_text("correct horse battery\n")
    pw.chmod(0o644)
    cmd = [sys.executable, "-m", "venue.cli", "keystore", "create", "--out", str(tmp_path / "op.json"), "--generate"]
    loose = subprocess.run([*cmd, "--password-file", str(pw)], capture_output=True, text=True, cwd=ROOT)
    assert loose.returncode == 1 and "chmod 600" in loose.stderr and not (tmp_path / "op.json").exists()
    pw.chmod(0o600)
    made = subprocess.run([*cmd, "--password-file", str(pw)], capture_output=True, text=True, cwd=ROOT, check=True)
    address = made.stdout.strip().rsplit(" ", 1)[1]
    assert (tmp_path / "op.json").stat().st_mode & 0o777 == 0o600
    again = subprocess.run([*cmd, "--password-file", str(pw)], capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 1 and "exists" in again.stderr, "a keystore is never overwritten"
    (tmp_path / "venue.toml").write_text(
        VENUE + '[chain]\nurl = "embedded"\noperator_keystore = "op.json"\noperator_keystore_password_file = "op.pw"\n'
    )
    assert Account.from_key(load_chain_config(tmp_path / "venue.toml").operator_key).address == address
