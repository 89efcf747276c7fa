"""Fair-access regime (Reg ATS 301(b)(5)) on constructed month series; the written standards; the
market-volume file; entitlements. Pure: no store."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from venue import fair_access as fa
from venue.access import DEFAULT_STANDARDS, entitled, parse_standards
from venue.config import ConfigError
from venue.fair_access import Month

SPEC = Path(__file__).resolve().parents[2] / "spec" / "fair-access.md"
M = Month(2026, 7)  # the month whose regime is asked; its lookback is 2026-01 .. 2026-06
NO_DATA = None


def series(months: list[tuple[int, int] | None], first: Month = Month(2026, 1)):  # noqa: B008 - a frozen value
    """(venue volume, market volume) per month from `first`, as daily volumes: the market's spread
    over two days (so two trading days), the venue's on the first; None: no data at all that month;
    (v, 0): the venue traded but there is no market data."""
    venue: dict[date, int] = {}
    market: dict[date, int] = {}
    for i, month_volumes in enumerate(months):
        if month_volumes is None:
            continue
        m = first.shift(i)
        v, mk = month_volumes
        if v:
            venue[date(m.year, m.month, 1)] = v
        if mk:
            market[date(m.year, m.month, 1)] = mk - mk // 2
            market[date(m.year, m.month, 2)] = mk // 2
    return venue, market


def regime_of(months, month: Month = M) -> fa.Regime:
    venue, market = series(months)
    return fa.assess(venue, market, [month])[0][1]


AT_5 = (50, 1000)  # exactly 5.0%
BELOW = (499, 10000)  # 4.99%
NONE = (0, 1000)  # the venue did not trade

REGIME_CASES = [
    # (case, six months 2026-01 .. 2026-06, under the regime in 2026-07?)
    ("exactly 4 of 6 at exactly 5.0%", [AT_5, AT_5, NONE, AT_5, NONE, AT_5], True),
    ("3 of 6 at 5.0%", [AT_5, AT_5, NONE, AT_5, NONE, NONE], False),
    ("3 at 5.0% and one at 4.99%", [AT_5, AT_5, BELOW, AT_5, NONE, NONE], False),
    ("4 at 4.99%", [BELOW, BELOW, BELOW, BELOW, NONE, NONE], False),
    ("6 of 6 well above", [(500, 1000)] * 6, True),
    ("5 of 6", [AT_5, AT_5, AT_5, AT_5, AT_5, NONE], True),
    ("no market data, venue traded: presumed to qualify", [AT_5, AT_5, AT_5, (10, 0), NONE, NONE], True),
    ("no market data, venue did not trade: does not qualify", [AT_5, AT_5, AT_5, NO_DATA, NONE, NONE], False),
    ("no data at all", [NO_DATA] * 6, False),
]


@pytest.mark.parametrize("months, expected", [c[1:] for c in REGIME_CASES], ids=[c[0] for c in REGIME_CASES])
def test_regime_on_month_series(months, expected):
    r = regime_of(months)
    assert r.lookback == tuple(Month(2026, n) for n in range(1, 7))
    assert r.fair_access is expected


def test_qualifying_and_presumed_months_are_named():
    r = regime_of([AT_5, AT_5, AT_5, (10, 0), NONE, NONE])
    assert [str(m) for m in r.qualifying] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [str(m) for m in r.presumed] == ["2026-04"]


def test_the_month_itself_and_months_before_the_lookback_do_not_count():
    only_current = [NONE] * 6 + [(1000, 1000)]
    assert regime_of(only_current, M).fair_access is False
    qualifying_jan_to_apr = [AT_5] * 4 + [NONE] * 6
    assert regime_of(qualifying_jan_to_apr, Month(2026, 7)).fair_access is True  # Jan..Jun: 4 of 6
    assert regime_of(qualifying_jan_to_apr, Month(2026, 8)).fair_access is False  # Feb..Jul: 3 of 6


def test_boundary_is_exact_even_when_the_averages_do_not_terminate():
    # 3 trading days: venue ADV 1/3, market ADV 20/3; share exactly 1/20 = 5%.
    venue = {date(2026, 1, 5): 1}
    market = {date(2026, 1, 5): 7, date(2026, 1, 6): 7, date(2026, 1, 7): 6}
    v = fa.month_volumes(venue, market, [Month(2026, 1)])[Month(2026, 1)]
    assert v.trading_days == 3 and v.share == Decimal("0.05") and v.qualifies
    assert v.venue_adv == Decimal(1) / Decimal(3)
    market[date(2026, 1, 8)] = 1  # 1 of 21: 4.76%
    assert not fa.month_volumes(venue, market, [Month(2026, 1)])[Month(2026, 1)].qualifies
    just_below = fa.MonthVolume(Month(2026, 1), 4_999_999, 100_000_000, 20)
    assert not just_below.qualifies and just_below.share == Decimal("0.04999999")


MONTH_FIGURES = [
    # (case, venue daily, market daily, venue, market, trading days, share)
    (
        "one trade, two market days",
        {date(2026, 3, 2): 30},
        {date(2026, 3, 2): 300, date(2026, 3, 3): 300},
        30,
        600,
        2,
        Decimal("0.05"),
    ),
    (
        "a day with zero market volume is not a trading day",
        {},
        {date(2026, 3, 2): 0, date(2026, 3, 3): 400},
        0,
        400,
        1,
        Decimal(0),
    ),
    (
        "venue volume on a day without market data still counts",
        {date(2026, 3, 9): 10},
        {date(2026, 3, 2): 100},
        10,
        100,
        1,
        Decimal("0.1"),
    ),
    (
        "other months are not mixed in",
        {date(2026, 2, 28): 99, date(2026, 3, 1): 1},
        {date(2026, 4, 1): 5, date(2026, 3, 31): 10},
        1,
        10,
        1,
        Decimal("0.1"),
    ),
]


@pytest.mark.parametrize(
    "venue, market, v, mk, days, share", [c[1:] for c in MONTH_FIGURES], ids=[c[0] for c in MONTH_FIGURES]
)
def test_month_figures(venue, market, v, mk, days, share):
    got = fa.month_volumes(venue, market, [Month(2026, 3)])[Month(2026, 3)]
    assert (got.venue_volume, got.market_volume, got.trading_days, got.share) == (v, mk, days, share)


def test_month_arithmetic():
    assert Month.parse("2026-03").preceding() == tuple(
        Month.parse(s) for s in ("2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02")
    )
    assert str(Month(2025, 12).shift(1)) == "2026-01" and Month(2026, 1).shift(-13) == Month(2024, 12)
    assert Month(2026, 11).through(Month(2027, 1)) == (Month(2026, 11), Month(2026, 12), Month(2027, 1))
    for bad in ("2026-13", "2026-1", "26-01", "2026/01"):
        with pytest.raises(ValueError):
            Month.parse(bad)


# ---------------------------------------------------------------- market-volume file
def test_parse_market_volume_good_file():
    rows = fa.parse_market_volume(
        ["symbol,date,quantity", "ACME,2026-01-05,1000", "", " BETA , 2026-01-05 , 20.00 "],
        known_symbols={"ACME", "BETA"},
    )
    assert rows == [fa.DailyVolume("ACME", date(2026, 1, 5), 1000), fa.DailyVolume("BETA", date(2026, 1, 5), 20)]


BAD_FILES = [
    ("wrong header", ["sym,day,qty", "ACME,2026-01-05,1"], ["line 1: the header must be symbol,date,quantity"]),
    ("empty", [], ["line 1: the header must be symbol,date,quantity, found an empty file"]),
    (
        "bad rows",
        [
            "symbol,date,quantity",
            "ACME,2026-01-05,1",
            "ACME,2026-02-30,1",
            "NOPE,2026-01-06,-3",
            "ACME,2026-01-07,1.5",
            "ACME,2026-01-05,7",
            "ACME,2026-01-08",
        ],
        [
            "line 3: date '2026-02-30' is not YYYY-MM-DD",
            "line 4: unknown symbol NOPE; quantity '-3' is not a whole number of 0 or more",
            "line 5: quantity '1.5' is not a whole number of 0 or more",
            "line 6: ACME 2026-01-05 already given on line 2",
            "line 7: expected 3 columns (symbol,date,quantity), found 2",
        ],
    ),
]


@pytest.mark.parametrize("lines, errors", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_parse_market_volume_reports_every_bad_line(lines, errors):
    with pytest.raises(fa.VolumeFileError) as exc:
        fa.parse_market_volume(lines, known_symbols={"ACME"})
    assert [e[: len(x)] for e, x in zip(exc.value.errors, errors, strict=False)] == errors
    assert len(exc.value.errors) == len(errors)


# ---------------------------------------------------------------- written standards
def test_default_standards_are_the_ones_the_spec_publishes():
    published = dict(re.findall(r"^\| (AS-\d+) \| (.+?) \|$", SPEC.read_text(), flags=re.M))
    assert published == {s.id: s.text for s in DEFAULT_STANDARDS.standards}
    assert DEFAULT_STANDARDS.admission == ("AS-1", "AS-2", "AS-3")


def test_standards_from_the_venue_config():
    written = parse_standards(
        tomllib.loads("""
        [access]
        admission = ["AS-1", "AS-2"]
        [access.standards]
        AS-1 = "registered broker-dealer and FINRA member"
        AS-2 = "signed subscriber agreement"
        AS-3 = "passed connectivity certification"
    """)["access"]
    )
    assert written.ids() == ("AS-1", "AS-2", "AS-3") and written.admission == ("AS-1", "AS-2")
    assert written.text("AS-3") == "passed connectivity certification"
    assert written.check(" AS-2 , AS-1,AS-2") == "AS-2,AS-1"
    with pytest.raises(ValueError, match="unknown standard AS-9"):
        written.check("AS-1,AS-9")
    assert parse_standards(None) is DEFAULT_STANDARDS


@pytest.mark.parametrize(
    "section, message",
    [
        ({"standards": {"AS 1": "x"}}, "id 'AS 1'"),
        ({"standards": {"AS-1": " "}}, "needs a non-empty text"),
        ({"standards": {"AS-1": "x"}, "admission": ["AS-2"]}, "unknown standard"),
        ({"admission": ["AS-1"]}, "needs \\[access.standards\\]"),
        ({"standards": []}, "must map ids to texts"),
    ],
)
def test_bad_standards_are_refused(section, message):
    with pytest.raises(ConfigError, match=message):
        parse_standards(section)


# ---------------------------------------------------------------- entitlements, operator
ENTITLED_CASES = [
    ({"BRKA": frozenset({"*"})}, "BRKA", "ACME", True),
    ({"BRKA": frozenset({"ACME"})}, "BRKA", "ACME", True),
    ({"BRKA": frozenset({"ACME"})}, "BRKA", "BETA", False),
    ({"BRKA": frozenset()}, "BRKA", "ACME", False),
    ({}, "BRKA", "ACME", False),
    ({"BRKB": frozenset({"*"})}, "BRKA", "ACME", False),
]


@pytest.mark.parametrize("held, member, symbol, expected", ENTITLED_CASES)
def test_entitled(held, member, symbol, expected):
    assert entitled(held, member, symbol) is expected
