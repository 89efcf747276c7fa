"""Record retention (Reg ATS Rule 303): the venue's records are kept at least 3 years.

Retained: orders, executions, trades, gate decisions and trade reports. Nothing is archived out of
the store inside the 3 years, so the first 2 years (and the third) stay readily accessible through
`venue report ...`. Two guards refuse an early deletion:
- `purge_records` refuses any cutoff newer than 3 years before now;
- the store itself (migration 0005_records) refuses to DELETE a row younger than 3 years by the
  database's clock, whoever asks.
3 years is counted as 1096 days, which covers any three consecutive years, a leap day included.
Open orders are never purged, however old.
"""

from __future__ import annotations

from venue.reports import store as rs
from venue.reports.periods import utc_text
from venue.reports.writers import Report, Section
from venue.store.repository import Store, StoreError

US = 1_000_000
RETENTION_DAYS = 1096
RETENTION_US = RETENTION_DAYS * 86_400 * US
RETENTION_COLUMNS = ("table", "rows", "older_than_retention", "purged")


class RetentionError(StoreError):
    """A deletion inside the retention period was asked for and refused."""


def earliest_cutoff_refused(now_us: int) -> int:
    """Cutoffs above this instant are refused: records after it are younger than 3 years."""
    return now_us - RETENTION_US


def purge_records(store: Store, before_us: int, now_us: int) -> dict[str, int]:
    """Delete retained records last written before `before_us`; refuses (RetentionError) a cutoff
    newer than 3 years before `now_us`. Returns rows deleted per table."""
    limit = earliest_cutoff_refused(now_us)
    if before_us > limit:
        raise RetentionError(
            f"refused: records are kept at least {RETENTION_DAYS} days (Rule 303); the newest "
            f"cutoff allowed now is {utc_text(limit)}, asked {utc_text(before_us)}"
        )
    return rs.delete_older(store, before_us)


def retention_sweep(store: Store, now_us: int, purge: bool = False) -> Report:
    """Per retained table: rows, rows past the retention period, and (with `purge`) rows deleted."""
    cutoff = earliest_cutoff_refused(now_us)
    counts = rs.count_older(store, cutoff)
    purged = purge_records(store, cutoff, now_us) if purge else {}
    rows = tuple(
        {"table": name, "rows": total, "older_than_retention": old, "purged": purged.get(name, 0)}
        for name, (total, old) in counts.items()
    )
    return Report(
        "retention",
        {
            "retention_days": RETENTION_DAYS,
            "cutoff_us": cutoff,
            "cutoff_utc": utc_text(cutoff),
            "purge": purge,
            "generated_us": now_us,
            "generated_utc": utc_text(now_us),
        },
        {"tables": Section(RETENTION_COLUMNS, rows)},
    )
