"""records: trade reports, subscriber affiliations, the scheduler's job store, Rule 303 retention triggers

- `trade_reports`: one FINRA 6610-style report per trade, with its report time and a `late` flag
  (reported more than 10 s after execution).
- `member_affiliations`: whether a subscriber is affiliated with the ATS operator (Form ATS-R).
- `apscheduler_jobs`: APScheduler 3's SQLAlchemyJobStore table, created here so the schema is
  managed in one place (the job store would otherwise create it itself, with the same layout).
- Retention (Rule 303): the store refuses to DELETE a row of orders, executions, trades,
  gate_decisions or trade_reports younger than 3 years (1096 days, by the database's clock), with a
  BEFORE DELETE trigger on SQLite and PostgreSQL (and, on PostgreSQL, a BEFORE TRUNCATE trigger
  refusing to empty a table that holds such a row). A later migration that recreates one of these
  tables (SQLite batch mode copies and drops the table) must create its trigger again:
  tests/records/test_retention.py checks they exist after every upgrade.

Revision ID: 0005_records
Revises: 0004_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_records'
down_revision = '0004_sessions'
branch_labels = None
depends_on = None

RETENTION_S = 1096 * 86_400  # 3 years, a leap day included
# table -> the time (µs) a row was last written: the retention period runs from it.
RETAINED = {
    'orders': 'OLD.updated_us',
    'executions': 'OLD.transact_us',
    'trades': 'max(OLD.executed_us, coalesce(OLD.settlement_updated_us, OLD.executed_us))',
    'gate_decisions': 'OLD.at_us',
    'trade_reports': 'OLD.reported_us',
}
_PG_TIME = {
    'trades': 'GREATEST({r}.executed_us, COALESCE({r}.settlement_updated_us, {r}.executed_us))',
}
MESSAGE = 'Rule 303: records are kept at least 3 years; this row is younger'


def _pg_expr(table: str, row: str) -> str:
    if table in _PG_TIME:
        return _PG_TIME[table].format(r=row)
    return RETAINED[table].replace('OLD', row)


def upgrade() -> None:
    op.create_table('trade_reports',
    sa.Column('trade_id', sa.BigInteger(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('qty', sa.BigInteger(), nullable=False),
    sa.Column('price', sa.String(length=40), nullable=False),
    sa.Column('buy_member', sa.String(length=32), nullable=False),
    sa.Column('sell_member', sa.String(length=32), nullable=False),
    sa.Column('executed_us', sa.BigInteger(), nullable=False),
    sa.Column('reported_us', sa.BigInteger(), nullable=False),
    sa.Column('delay_us', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('trade_id')
    )
    op.create_index('ix_trade_reports_reported', 'trade_reports', ['reported_us'])
    op.create_table('member_affiliations',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('affiliated', sa.Boolean(), nullable=False),
    sa.Column('relationship', sa.Text(), nullable=False),
    sa.Column('updated_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], ),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_apscheduler_jobs_next_run_time', 'apscheduler_jobs', ['next_run_time'])

    if op.get_bind().dialect.name == 'postgresql':
        cutoff = f"(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint - {RETENTION_S}::bigint * 1000000"
        for table in RETAINED:
            op.execute(f"""
CREATE FUNCTION retain_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    IF EXISTS (SELECT 1 FROM {table} r WHERE {_pg_expr(table, 'r')} > {cutoff}) THEN
      RAISE EXCEPTION '{MESSAGE} (TRUNCATE {table})' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
  END IF;
  IF {_pg_expr(table, 'OLD')} > {cutoff} THEN
    RAISE EXCEPTION '{MESSAGE} (DELETE FROM {table})' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END $$""")
            op.execute(f"CREATE TRIGGER retain_{table} BEFORE DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION retain_{table}()")
            op.execute(f"CREATE TRIGGER retain_{table}_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION retain_{table}()")
    else:
        cutoff = f"(CAST(strftime('%s', 'now') AS INTEGER) - {RETENTION_S}) * 1000000"
        for table, expr in RETAINED.items():
            op.execute(f"CREATE TRIGGER retain_{table} BEFORE DELETE ON {table} "
                       f"WHEN {expr} > {cutoff} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (DELETE FROM {table})'); END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table in RETAINED:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS retain_{table}_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS retain_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS retain_{table}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS retain_{table}")
    op.drop_index('ix_apscheduler_jobs_next_run_time', table_name='apscheduler_jobs')
    op.drop_table('apscheduler_jobs')
    op.drop_table('member_affiliations')
    op.drop_index('ix_trade_reports_reported', table_name='trade_reports')
    op.drop_table('trade_reports')
