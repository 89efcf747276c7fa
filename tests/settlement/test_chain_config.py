"""The [chain] section of the venue config."""

from __future__ import annotations

import pytest

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
    (tmp_path / "venue.toml").write_text(VENUE + '[chain]\nurl = "http://127.0.0.1:8545"\n'
                                         'deployment = "chain/d.json"\noperator_key_env = "OPERATOR_KEY_FOR_TEST"\n'
                                         "confirmations = 2\nbatch_size = 50\npipeline = 3\npoll_interval = 0.5\n")
    cfg = load_chain_config(tmp_path / "venue.toml")
    assert (cfg.url, cfg.deployment, cfg.operator_key) == ("http://127.0.0.1:8545", tmp_path / "chain/d.json", key)
    assert (cfg.confirmations, cfg.batch_size, cfg.pipeline, cfg.poll_interval) == (2, 50, 3, 0.5)
    assert cfg.database_url == f"sqlite:///{tmp_path / 'venue.db'}" and cfg.data_dir == tmp_path / "data"
    assert key not in repr(cfg)
    settings = cfg.settings()
    assert (settings.batch_size, settings.confirmations) == (50, 2)


def test_dev_key_and_key_file(tmp_path):
    (tmp_path / "op.key").write_text("22" * 32 + "\n")
    for source, want in (('operator_key = "dev"', backend.DEV_OPERATOR_KEY),
                         ('operator_key_file = "op.key"', "0x" + "22" * 32)):
        (tmp_path / "venue.toml").write_text(VENUE + f'[chain]\nurl = "embedded"\n{source}\n')
        assert load_chain_config(tmp_path / "venue.toml").operator_key == want


@pytest.mark.parametrize("body, message", [
    ('url = "ws://x"\noperator_key = "dev"', "must be \"embedded\" or an http"),
    ('url = "embedded"\noperator_key = "0x' + "33" * 32 + '"', "keep a real key out of the config file"),
    ('url = "embedded"', "needs exactly one of"),
    ('url = "embedded"\noperator_key_env = "NOT_SET_ANYWHERE_X"', "is not set"),
    ('url = "embedded"\noperator_key = "dev"\nbatch_size = 0', "batch_size"),
    ('url = "embedded"\noperator_key = "dev"\nconfirmations = -1', "confirmations"),
])
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
