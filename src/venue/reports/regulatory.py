"""Form ATS-R (Reg ATS Rule 301(b)(9)) for a quarter and FINRA Rule 4552 weekly volume: pure
functions of journal rows.

Busted trades (settlement status "failed") are not volume: they are left out and counted apart.

ATS-R volume is by the form's own categories (`ATS_R_CATEGORIES`, in the form's order), each with
its total unit volume and total dollar volume, every category listed (zero when none). A security
token here is unlisted: an equity token is "Other Equity Securities", a debt token (the security's
`debt` flag) "Corporate Debt Securities" (`form_category`). The other categories do not occur on
this venue (no exchange-listed or Nasdaq securities, options, rights, government, municipal or
mortgage-related securities; no Rule 144A offering; the registry holds no issuer financials to tell
a Rule 3a51-1 penny stock). Dollar volume is in U.S. dollars: trades of a security quoted in
another currency count in units only (fact `not_usd_trades`); the per-offering breakdown keeps
their value in their own currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from venue.reports.audit import BUSTED, dollar_value
from venue.reports.periods import Period, utc_text
from venue.reports.writers import Report, Section

ATS_R_CATEGORIES = (
    "Listed Equity Securities",
    "Nasdaq National Market Securities",
    "Nasdaq SmallCap Market Securities",
    "Rule 144A Equity Securities",
    "Penny Stocks",
    "Other Equity Securities",
    "Rights and Warrants",
    "Listed Options",
    "Unlisted Options",
    "Government Securities",
    "Municipal Securities",
    "Corporate Debt Securities",
    "Mortgage-related Securities",
    "Other Debt Securities",
)
OTHER_EQUITY, CORPORATE_DEBT = "Other Equity Securities", "Corporate Debt Securities"
DOLLAR = "USD"
VOLUME_COLUMNS = ("category", "units", "dollar_volume", "trades")
OFFERING_COLUMNS = ("offering", "currency", "trades", "units", "volume")
SECURITY_COLUMNS = ("symbol", "name", "category", "offering", "currency", "trades", "units", "volume")
SUBSCRIBER_COLUMNS = ("member_id", "name", "kind", "status", "admitted_utc", "affiliated", "relationship")
ACCESS_COLUMNS = ("at_us", "at_utc", "member", "action", "scope", "standard", "reason", "actor")
FINRA_4552_COLUMNS = ("week", "first_day", "last_day", "symbol", "total_shares", "trades")


def form_category(security: Mapping) -> str:
    """The Form ATS-R category of a security (a securities row; an unknown security is equity)."""
    return CORPORATE_DEBT if security.get("debt") else OTHER_EQUITY


def _add(row: dict, trade: dict) -> None:
    row["trades"] += 1
    row["units"] += trade["qty"]
    row["volume"] += dollar_value(trade)


def volume_by_form_category(trades: list[dict], securities: Mapping[str, dict]) -> list[dict]:
    """Every Form ATS-R category in the form's order: total units, total dollar volume (trades in
    U.S. dollars) and number of trades; busted trades left out."""
    out = {c: {"category": c, "units": 0, "dollar_volume": Decimal(0), "trades": 0} for c in ATS_R_CATEGORIES}
    for tr in trades:
        if tr["settlement_status"] == BUSTED:
            continue
        sec = securities.get(tr["symbol"], {})
        row = out[form_category(sec)]
        row["trades"] += 1
        row["units"] += tr["qty"]
        if sec.get("currency", DOLLAR) == DOLLAR:
            row["dollar_volume"] += dollar_value(tr)
    return [{**r, "dollar_volume": str(r["dollar_volume"])} for r in out.values()]


def not_usd_trades(trades: list[dict], securities: Mapping[str, dict]) -> int:
    """Trades (not busted) of securities quoted in a currency other than U.S. dollars."""
    return sum(
        1
        for tr in trades
        if tr["settlement_status"] != BUSTED and securities.get(tr["symbol"], {}).get("currency", DOLLAR) != DOLLAR
    )


def volume_by_offering(trades: list[dict], securities: Mapping[str, dict]) -> list[dict]:
    """Trades, units and volume per (offering, currency): the exemption or registration the
    securities were sold under, a grouping that matters for security tokens."""
    out: dict[tuple[str, str], dict] = {}
    for tr in trades:
        if tr["settlement_status"] == BUSTED:
            continue
        sec = securities.get(tr["symbol"], {})
        key = (sec.get("offering", "unknown"), sec.get("currency", "unknown"))
        _add(
            out.setdefault(
                key, {"offering": key[0], "currency": key[1], "trades": 0, "units": 0, "volume": Decimal(0)}
            ),
            tr,
        )
    return [{**r, "volume": str(r["volume"])} for _, r in sorted(out.items())]


def securities_traded(trades: list[dict], securities: Mapping[str, dict]) -> list[dict]:
    """Per security traded: its Form ATS-R category, offering, trades, units and volume (in its
    currency)."""
    out: dict[str, dict] = {}
    for tr in trades:
        if tr["settlement_status"] == BUSTED:
            continue
        sec = securities.get(tr["symbol"], {})
        _add(
            out.setdefault(
                tr["symbol"],
                {
                    "symbol": tr["symbol"],
                    "name": sec.get("name"),
                    "category": form_category(sec),
                    "offering": sec.get("offering"),
                    "currency": sec.get("currency"),
                    "trades": 0,
                    "units": 0,
                    "volume": Decimal(0),
                },
            ),
            tr,
        )
    return [{**r, "volume": str(r["volume"])} for _, r in sorted(out.items())]


def subscribers(members: list[dict], affiliations: Mapping[str, dict], until_us: int) -> list[dict]:
    """Members admitted before `until_us`, with their affiliation to the ATS operator (None: not
    recorded). Status is the member's status when the report is made."""
    rows = []
    for m in sorted(members, key=lambda m: m["member_id"]):
        if m["created_us"] >= until_us:
            continue
        aff = affiliations.get(m["member_id"])
        rows.append(
            {
                "member_id": m["member_id"],
                "name": m["name"],
                "kind": m["kind"],
                "status": m["status"],
                "admitted_utc": utc_text(m["created_us"]),
                "affiliated": None if aff is None else bool(aff["affiliated"]),
                "relationship": None if aff is None else aff["relationship"],
            }
        )
    return rows


def access_rows(access_log: list[dict]) -> list[dict]:
    return [
        {
            "at_us": r["at_us"],
            "at_utc": utc_text(r["at_us"]),
            "member": r["member_id"],
            "action": r["action"],
            "scope": r["scope"],
            "standard": r["standard"],
            "reason": r["reason"],
            "actor": r["actor"],
        }
        for r in access_log
    ]


def ats_r_report(
    quarter: Period,
    due: date,
    trades: list[dict],
    securities: Mapping[str, dict],
    members: list[dict],
    affiliations: Mapping[str, dict],
    access_log: list[dict],
    generated_us: int,
) -> Report:
    """Form ATS-R content for `quarter`: volume by the form's categories and by offering, securities
    traded, subscribers, and the quarter's grants, denials and limitations of access."""
    subs = subscribers(members, affiliations, quarter.end_us)
    return Report(
        "form-ats-r",
        {
            "quarter": quarter.label,
            "first_day": quarter.first.isoformat(),
            "last_day": quarter.last.isoformat(),
            "time_zone": quarter.tz,
            "due_date": due.isoformat(),
            "generated_us": generated_us,
            "generated_utc": utc_text(generated_us),
            "dollar_volume_currency": DOLLAR,
            "busted_trades_excluded": sum(1 for tr in trades if tr["settlement_status"] == BUSTED),
            "not_usd_trades": not_usd_trades(trades, securities),
            "subscribers_without_affiliation": sum(1 for s in subs if s["affiliated"] is None),
        },
        {
            "volume": Section(VOLUME_COLUMNS, tuple(volume_by_form_category(trades, securities))),
            "by_offering": Section(OFFERING_COLUMNS, tuple(volume_by_offering(trades, securities))),
            "securities": Section(SECURITY_COLUMNS, tuple(securities_traded(trades, securities))),
            "subscribers": Section(SUBSCRIBER_COLUMNS, tuple(subs)),
            "access": Section(ACCESS_COLUMNS, tuple(access_rows(access_log))),
        },
    )


def weekly_volume(week: Period, trades: list[dict]) -> list[dict]:
    """Per security: total shares and number of trades. A trade is one cross of a buy and a sell
    order: it counts once, not once per side."""
    out: dict[str, dict] = {}
    for tr in trades:
        if tr["settlement_status"] == BUSTED:
            continue
        row = out.setdefault(
            tr["symbol"],
            {
                "week": week.label,
                "first_day": week.first.isoformat(),
                "last_day": week.last.isoformat(),
                "symbol": tr["symbol"],
                "total_shares": 0,
                "trades": 0,
            },
        )
        row["total_shares"] += tr["qty"]
        row["trades"] += 1
    return [r for _, r in sorted(out.items())]


def finra_4552_report(week: Period, due: date, trades: list[dict], generated_us: int) -> Report:
    return Report(
        "finra-4552",
        {
            "week": week.label,
            "first_day": week.first.isoformat(),
            "last_day": week.last.isoformat(),
            "time_zone": week.tz,
            "due_date": due.isoformat(),
            "generated_us": generated_us,
            "generated_utc": utc_text(generated_us),
            "busted_trades_excluded": sum(1 for tr in trades if tr["settlement_status"] == BUSTED),
        },
        {"volume": Section(FINRA_4552_COLUMNS, tuple(weekly_volume(week, trades)))},
    )
