"""regulatory records: OrderCapacity on orders, trade reports with the fields a report needs and
cancels as rows of their own, the host's clock-sync state

Revision ID: 0012_regulatory_records
Revises: 0011_resale_rules

- `orders.capacity`: OrderCapacity(528) as the member sent it on the NewOrderSingle (A, G, I, P, R,
  W). Orders journaled before this revision have NULL (not captured then).
- `trade_reports`: a report is now one row per (trade, action): `new` when the trade is reported,
  `cancel` when it was busted (settlement failed), so the key becomes (trade_id, action). New
  columns: `report_id` (`T<trade>`, a cancel `T<trade>-C`), `ref_report_id` (a cancel: the report
  it cancels), `ats_id`, `reporting_member/side/capacity`, `contra_member/side/capacity`,
  `modifier` (FINRA trade modifier 3: T, U, Z or empty) and `bust_us` (a cancel: when the venue
  busted the trade). Rows made before this revision become `new` reports of the sell side
  (reporting S, contra B); their capacities, ATS id and modifier stay NULL (not recorded then).
  Append-only: an UPDATE of a trade report is refused (a correction is a new row). SQLite rebuilds
  the table to change its key, so its retention trigger (0005_records) is created again.
- `clock_sync`: the host clock's synchronization state as read from the kernel (adjtimex), one row
  per reading (the scheduler records one a day and one at start-up).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_regulatory_records"
down_revision = "0011_resale_rules"
branch_labels = None
depends_on = None

RETENTION_S = 1096 * 86_400  # as in 0005_records
RETAIN_MESSAGE = "Rule 303: records are kept at least 3 years; this row is younger"
APPEND_ONLY = "trade_reports is append-only: a correction or cancel is a new report"


def _sqlite_retention_trigger() -> None:
    """0005_records' trigger on trade_reports, which SQLite's table rebuild dropped."""
    cutoff = f"(CAST(strftime('%s', 'now') AS INTEGER) - {RETENTION_S}) * 1000000"
    op.execute(
        "CREATE TRIGGER retain_trade_reports BEFORE DELETE ON trade_reports "
        f"WHEN OLD.reported_us > {cutoff} "
        f"BEGIN SELECT RAISE(ABORT, '{RETAIN_MESSAGE} (DELETE FROM trade_reports)'); END"
    )


def _trade_reports(new_key: bool) -> sa.Table:
    """trade_reports as SQLite's rebuild copies it: keyed by (trade_id, action) with every new
    column (`new_key`), or as 0005_records made it."""
    columns = [
        sa.Column("trade_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("qty", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.String(length=40), nullable=False),
        sa.Column("buy_member", sa.String(length=32), nullable=False),
        sa.Column("sell_member", sa.String(length=32), nullable=False),
        sa.Column("executed_us", sa.BigInteger(), nullable=False),
        sa.Column("reported_us", sa.BigInteger(), nullable=False),
        sa.Column("delay_us", sa.BigInteger(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
    ]
    if new_key:
        columns += [
            sa.Column("action", sa.String(length=8), primary_key=True, server_default="new"),
            sa.Column("report_id", sa.String(length=40), nullable=False),
            sa.Column("ref_report_id", sa.String(length=40), nullable=True),
            sa.Column("ats_id", sa.String(length=32), nullable=True),
            sa.Column("reporting_member", sa.String(length=32), nullable=True),
            sa.Column("reporting_side", sa.String(length=1), nullable=True),
            sa.Column("reporting_capacity", sa.String(length=1), nullable=True),
            sa.Column("contra_member", sa.String(length=32), nullable=True),
            sa.Column("contra_side", sa.String(length=1), nullable=True),
            sa.Column("contra_capacity", sa.String(length=1), nullable=True),
            sa.Column("modifier", sa.String(length=2), nullable=True),
            sa.Column("bust_us", sa.BigInteger(), nullable=True),
        ]
    table = sa.Table("trade_reports", sa.MetaData(), *columns)
    sa.Index("ix_trade_reports_reported", table.c.reported_us)
    return table


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("orders", sa.Column("capacity", sa.String(length=1), nullable=True))

    op.add_column("trade_reports", sa.Column("action", sa.String(length=8), nullable=False, server_default="new"))
    op.add_column("trade_reports", sa.Column("report_id", sa.String(length=40), nullable=True))
    op.add_column("trade_reports", sa.Column("ref_report_id", sa.String(length=40), nullable=True))
    op.add_column("trade_reports", sa.Column("ats_id", sa.String(length=32), nullable=True))
    op.add_column("trade_reports", sa.Column("reporting_member", sa.String(length=32), nullable=True))
    op.add_column("trade_reports", sa.Column("reporting_side", sa.String(length=1), nullable=True))
    op.add_column("trade_reports", sa.Column("reporting_capacity", sa.String(length=1), nullable=True))
    op.add_column("trade_reports", sa.Column("contra_member", sa.String(length=32), nullable=True))
    op.add_column("trade_reports", sa.Column("contra_side", sa.String(length=1), nullable=True))
    op.add_column("trade_reports", sa.Column("contra_capacity", sa.String(length=1), nullable=True))
    op.add_column("trade_reports", sa.Column("modifier", sa.String(length=2), nullable=True))
    op.add_column("trade_reports", sa.Column("bust_us", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE trade_reports SET report_id = 'T' || CAST(trade_id AS VARCHAR(20)), "
        "reporting_member = sell_member, reporting_side = 'S', contra_member = buy_member, contra_side = 'B'"
    )
    if postgres:
        op.alter_column("trade_reports", "report_id", existing_type=sa.String(length=40), nullable=False)
        op.drop_constraint("trade_reports_pkey", "trade_reports", type_="primary")
        op.create_primary_key("trade_reports_pkey", "trade_reports", ["trade_id", "action"])
    else:
        with op.batch_alter_table("trade_reports", recreate="always", copy_from=_trade_reports(True)):
            pass  # the copy is made from the new layout: keyed by (trade_id, action), report_id required
        _sqlite_retention_trigger()
    op.create_index("ux_trade_reports_report_id", "trade_reports", ["report_id"], unique=True)
    if postgres:
        op.execute(f"""
CREATE FUNCTION append_only_trade_reports() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
END $$""")
        op.execute(
            "CREATE TRIGGER append_only_trade_reports BEFORE UPDATE ON trade_reports "
            "FOR EACH ROW EXECUTE FUNCTION append_only_trade_reports()"
        )
    else:
        op.execute(
            "CREATE TRIGGER append_only_trade_reports BEFORE UPDATE ON trade_reports "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )

    op.create_table(
        "clock_sync",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("synchronized", sa.Boolean(), nullable=False),
        sa.Column("est_error_us", sa.BigInteger(), nullable=True),
        sa.Column("max_error_us", sa.BigInteger(), nullable=True),
        sa.Column("offset_us", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_clock_sync_at", "clock_sync", ["at_us"])


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_clock_sync_at", table_name="clock_sync")
    op.drop_table("clock_sync")
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS append_only_trade_reports ON trade_reports")
        op.execute("DROP FUNCTION IF EXISTS append_only_trade_reports()")
    else:
        op.execute("DROP TRIGGER IF EXISTS append_only_trade_reports")
    op.drop_index("ux_trade_reports_report_id", table_name="trade_reports")
    # A cancel row has no place under the old key (one report per trade): it goes. The retention
    # trigger refuses to delete young rows, so it is set aside for this one statement.
    if postgres:
        op.execute("ALTER TABLE trade_reports DISABLE TRIGGER retain_trade_reports")
        op.execute("DELETE FROM trade_reports WHERE action <> 'new'")
        op.execute("ALTER TABLE trade_reports ENABLE TRIGGER retain_trade_reports")
        op.drop_constraint("trade_reports_pkey", "trade_reports", type_="primary")
        op.create_primary_key("trade_reports_pkey", "trade_reports", ["trade_id"])
    else:
        op.execute("DROP TRIGGER IF EXISTS retain_trade_reports")
        op.execute("DELETE FROM trade_reports WHERE action <> 'new'")
    columns = (
        "bust_us",
        "modifier",
        "contra_capacity",
        "contra_side",
        "contra_member",
        "reporting_capacity",
        "reporting_side",
        "reporting_member",
        "ats_id",
        "ref_report_id",
        "report_id",
        "action",
    )
    if postgres:
        for column in columns:
            op.drop_column("trade_reports", column)
    else:
        with op.batch_alter_table("trade_reports", recreate="always", copy_from=_trade_reports(False)):
            pass  # the copy keeps the columns of the old layout only
        _sqlite_retention_trigger()
    op.drop_column("orders", "capacity")
