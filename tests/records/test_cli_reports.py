"""`venue report ...` for the records, through the real CLI."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from venue.cli import main


@pytest.fixture
def run(history, operators_config):
    url = history.url

    def _run(*args: str):
        return CliRunner().invoke(main, ["--db-url", url, "report", *args], catch_exceptions=False)

    return _run


def test_reports_on_standard_output_and_to_files(run, tmp_path):
    # Without a config the venue's time zone is UTC: T0 (2026-11-24 01:00 UTC) is on the 24th then.
    res = run("finra-4552", "--week", "2026-W48", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["sections"]["volume"][0]["total_shares"] == 135 and doc["time_zone"] == "UTC"

    res = run("ats-r", "--quarter", "2026q4", "--out", str(tmp_path / "q4.csv"))
    assert res.exit_code == 0 and "wrote form-ats-r" in res.output
    assert "1 subscriber(s) without a recorded affiliation" in res.output
    volume = {r["category"]: r for r in csv.DictReader((tmp_path / "q4.csv").open())}
    assert volume["Other Equity Securities"]["units"] == "142" and volume["Penny Stocks"]["units"] == "0"

    res = run("audit-trail", "--day", "2026-11-24")
    assert res.exit_code == 0 and res.output.startswith("# about\n") and "# events\n" in res.output
    res = run("cat", "--day", "2026-11-24", "--format", "json", "--out", str(tmp_path / "cat.json"))
    # 12 events of the New York day (test_reports.py) + T0, on the 24th in UTC = 13.
    assert json.loads((tmp_path / "cat.json").read_text())["events"] == 13


def test_trades_reports_unreported_trades_then_lists_them(run):
    res = run("trades", "--late", "--format", "json")
    assert res.exit_code == 0
    assert "reported 7 trade(s)" in res.output
    late = json.loads(res.output[res.output.index("{") :])
    assert late["reports"] >= 6 and all(r["late"] for r in late["sections"]["reports"])  # T5 may be in the future
    res = run("trades", "--format", "json")
    assert not res.output.startswith("reported"), "each trade is reported once"
    assert json.loads(res.output)["reports"] == 7


def test_clear_errors(run, tmp_path):
    res = run("finra-4552", "--week", "2026-47")
    assert res.exit_code == 2 and "use YYYY-Www" in res.output
    res = run("ats-r", "--quarter", "2026Q5")
    assert res.exit_code == 2 and "use YYYYQn" in res.output
    res = run("audit-trail", "--day", "24/11/2026")
    assert res.exit_code == 2 and "use YYYY-MM-DD" in res.output
    res = run("cat", "--day", "2026-11-24", "--format", "xml")
    assert res.exit_code == 2
    res = run("affiliation", "NOBODY", "--not-affiliated")
    assert res.exit_code == 1 and "no member NOBODY" in res.output
    res = run("affiliation", "BRKB", "--affiliated")
    assert res.exit_code == 2 and "needs --relationship" in res.output
    res = run("affiliation", "BRKB", "--not-affiliated")
    assert res.exit_code == 0
    assert "without a recorded affiliation" not in run("ats-r", "--quarter", "2026Q4", "--format", "json").output
    res = run("audit-trail", "--day", "2026-11-24", "--out", str(tmp_path / "missing" / "dir" / "x.csv"))
    assert res.exit_code == 0  # folders are created


def test_every_report_takes_format_text(run, tmp_path):
    res = run("finra-4552", "--week", "2026-W48", "--format", "text")
    assert res.exit_code == 0, res.output
    about, volume = res.output.split("\n# volume\n")
    assert about.startswith("# about\nkey ") and "time_zone" in about
    header, first = volume.splitlines()[:2]
    assert dict(zip(header.split(), first.split(), strict=False))["total_shares"] == "135"  # as in --format json
    res = run("audit-trail", "--day", "2026-11-24", "--format", "text", "--out", str(tmp_path / "day" / "trail.txt"))
    assert res.exit_code == 0 and "wrote order-audit-trail" in res.output
    assert (tmp_path / "day" / "trail.txt").read_text().startswith("# about\n")
