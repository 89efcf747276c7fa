"""The migrations have one head, and Alembic run by hand takes a store to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from venue.store.migrate import alembic_config, is_current

INI = Path(__file__).resolve().parents[2] / "src" / "venue" / "store" / "alembic.ini"


def test_one_head():
    engine = create_engine("sqlite://")
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = script.get_heads()
    assert len(heads) == 1, heads
    assert "0009_operators" in {rev.revision for rev in script.iterate_revisions(heads[0], "base")}


def test_a_plain_alembic_upgrade_head_reaches_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'venue.db'}"
    res = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(INI), "-x", f"url={url}", "upgrade", "head"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    engine = create_engine(url)
    assert is_current(engine)
    engine.dispose()
