"""The scheduler's monthly fair-access assessment (Reg ATS 301(b)(5)), written as a JSON file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from venue import fair_access as fa
from venue.store import Store
from venue.store import access as sa

log = logging.getLogger("venue.access")


def monthly_assessment(store: Store, month: fa.Month, out_dir: Path) -> Path:
    """The scheduler's monthly fair-access run: for every security, the closed month's volumes and
    share and whether the security is under the fair-access regime in the month that follows;
    written as JSON into `out_dir` and logged."""
    venue, market = sa.venue_daily_volume(store), sa.market_daily_volume(store)
    symbols = sorted(set(store.load_world().securities) | set(venue) | set(market))
    rows = []
    for symbol in symbols:
        (volume, _), (_, next_regime) = fa.assess(
            venue.get(symbol, {}), market.get(symbol, {}), [month, month.shift(1)]
        )
        rows.append(
            {
                "symbol": symbol,
                "month": str(month),
                "venue_volume": volume.venue_volume,
                "market_volume": volume.market_volume,
                "trading_days": volume.trading_days,
                "share": None if volume.share is None else str(volume.share),
                "qualifies": volume.qualifies,
                "regime_next_month": next_regime.fair_access,
                "qualifying_months": [str(m) for m in next_regime.qualifying],
            }
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"fair-access-{month}.json"
    path.write_text(json.dumps(rows, indent=2) + "\n")
    under = [r["symbol"] for r in rows if r["regime_next_month"]]
    log.info("fair access %s: %s under the regime next month; written to %s", month, ", ".join(under) or "none", path)
    return path
