"""Form ATS-R (Reg ATS Rule 301(b)(9)) for a quarter and FINRA Rule 4552 weekly volume: pure
functions of journal rows.

Busted trades (settlement status "failed") are not volume: they are left out and counted apart.
ATS-R's security category is the security's `offering` (the exemption or registration it was sold
under: registered, reg_d_506b, reg_d_506c, reg_cf, reg_s, reg_a), the grouping that matters for
the security tokens this venue trades. Dollar volume is in the security's currency (one row per
category and currency).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from venue.reports.audit import BUSTED, dollar_value
from venue.reports.periods import Period, utc_text
from venue.reports.writers import Report, Section

VOLUME_COLUMNS = ("category", "currency", "trades", "units", "dollar_volume")
SECURITY_COLUMNS = ("symbol", "name", "category", "currency", "trades", "units", "dollar_volume")
SUBSCRIBER_COLUMNS = ("member_id", "name", "kind", "status", "admitted_utc", "affiliated", "relationship")
ACCESS_COLUMNS = ("at_us", "at_utc", "member", "action", "scope", "standard", "reason", "actor")
FINRA_4552_COLUMNS = ("week", "first_day", "last_day", "symbol", "total_shares", "trades")


def _add(row: dict, trade: dict) -> None:
    row["trades"] += 1
    row["units"] += trade["qty"]
    row["dollar_volume"] += dollar_value(trade)


def volume_by_category(trades: list[dict], securities: Mapping[str, dict]) -> list[dict]:
    """Trades, units and dollar volume per (category, currency)."""
    out: dict[tuple[str, str], dict] = {}
    for tr in trades:
        if tr["settlement_status"] == BUSTED:
            continue
        sec = securities.get(tr["symbol"], {})
        key = (sec.get("offering", "unknown"), sec.get("currency", "unknown"))
        _add(out.setdefault(key, {"category": key[0], "currency": key[1], "trades": 0, "units": 0,
                                  "dollar_volume": Decimal(0)}), tr)
    return [{**r, "dollar_volume": str(r["dollar_volume"])} for _, r in sorted(out.items())]


def securities_traded(trades: list[dict], securities: Mapping[str, dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for tr in trades:
        if tr["settlement_status"] == BUSTED:
            continue
        sec = securities.get(tr["symbol"], {})
        _add(out.setdefault(tr["symbol"], {
            "symbol": tr["symbol"], "name": sec.get("name"), "category": sec.get("offering"),
            "currency": sec.get("currency"), "trades": 0, "units": 0, "dollar_volume": Decimal(0)}), tr)
    return [{**r, "dollar_volume": str(r["dollar_volume"])} for _, r in sorted(out.items())]


def subscribers(members: list[dict], affiliations: Mapping[str, dict], until_us: int) -> list[dict]:
    """Members admitted before `until_us`, with their affiliation to the ATS operator (None: not
    recorded). Status is the member's status when the report is made."""
    rows = []
    for m in sorted(members, key=lambda m: m["member_id"]):
        if m["created_us"] >= until_us:
            continue
        aff = affiliations.get(m["member_id"])
        rows.append({"member_id": m["member_id"], "name": m["name"], "kind": m["kind"], "status": m["status"],
                     "admitted_utc": utc_text(m["created_us"]),
                     "affiliated": None if aff is None else bool(aff["affiliated"]),
                     "relationship": None if aff is None else aff["relationship"]})
    return rows


def access_rows(access_log: list[dict]) -> list[dict]:
    return [{"at_us": r["at_us"], "at_utc": utc_text(r["at_us"]), "member": r["member_id"], "action": r["action"],
             "scope": r["scope"], "standard": r["standard"], "reason": r["reason"], "actor": r["actor"]}
            for r in access_log]


def ats_r_report(quarter: Period, due: date, trades: list[dict], securities: Mapping[str, dict],
                 members: list[dict], affiliations: Mapping[str, dict], access_log: list[dict],
                 generated_us: int) -> Report:
    """Form ATS-R content for `quarter`: volume by category, securities traded, subscribers, and the
    quarter's grants, denials and limitations of access."""
    subs = subscribers(members, affiliations, quarter.end_us)
    return Report("form-ats-r", {
        "quarter": quarter.label, "first_day": quarter.first.isoformat(), "last_day": quarter.last.isoformat(),
        "time_zone": quarter.tz, "due_date": due.isoformat(), "generated_us": generated_us,
        "generated_utc": utc_text(generated_us),
        "busted_trades_excluded": sum(1 for tr in trades if tr["settlement_status"] == BUSTED),
        "subscribers_without_affiliation": sum(1 for s in subs if s["affiliated"] is None)},
        {"volume": Section(VOLUME_COLUMNS, tuple(volume_by_category(trades, securities))),
         "securities": Section(SECURITY_COLUMNS, tuple(securities_traded(trades, securities))),
         "subscribers": Section(SUBSCRIBER_COLUMNS, tuple(subs)),
         "access": Section(ACCESS_COLUMNS, tuple(access_rows(access_log)))})


def weekly_volume(week: Period, trades: list[dict]) -> list[dict]:
    """Per security: total shares and number of trades. A trade is one cross of a buy and a sell
    order: it counts once, not once per side."""
    out: dict[str, dict] = {}
    for tr in trades:
        if tr["settlement_status"] == BUSTED:
            continue
        row = out.setdefault(tr["symbol"], {"week": week.label, "first_day": week.first.isoformat(),
                                            "last_day": week.last.isoformat(), "symbol": tr["symbol"],
                                            "total_shares": 0, "trades": 0})
        row["total_shares"] += tr["qty"]
        row["trades"] += 1
    return [r for _, r in sorted(out.items())]


def finra_4552_report(week: Period, due: date, trades: list[dict], generated_us: int) -> Report:
    return Report("finra-4552", {
        "week": week.label, "first_day": week.first.isoformat(), "last_day": week.last.isoformat(),
        "time_zone": week.tz, "due_date": due.isoformat(), "generated_us": generated_us,
        "generated_utc": utc_text(generated_us),
        "busted_trades_excluded": sum(1 for tr in trades if tr["settlement_status"] == BUSTED)},
        {"volume": Section(FINRA_4552_COLUMNS, tuple(weekly_volume(week, trades)))})
