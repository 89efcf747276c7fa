"""operators: the read log says why, and is append-only (Reg ATS 301(b)(10))

Revision ID: 0009_operators
Revises: 0008_controls

- `data_access_log.reason`: why the operator read a member's confidential trading information
  (`--reason`, required by every such command). Rows written before this revision had none: they
  read "(not recorded before 0009_operators)".
- `ix_data_access_log_at`: `venue access reads --since`.
- `data_access_log` is append-only, as `registry_changes` is (0008_controls): an UPDATE is refused
  always, a DELETE (PostgreSQL: a TRUNCATE too) while the row is younger than the retention period
  (Rule 303, 3 years).
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_operators'
down_revision = '0008_controls'
branch_labels = None
depends_on = None

RETENTION_S = 1096 * 86_400  # 3 years, a leap day included
MESSAGE = 'data_access_log is append-only'
KEPT = 'Rule 303: records are kept at least 3 years; this row is younger'
BEFORE = '(not recorded before 0009_operators)'


def upgrade() -> None:
    op.add_column('data_access_log', sa.Column('reason', sa.Text(), nullable=False, server_default=BEFORE))
    op.create_index('ix_data_access_log_at', 'data_access_log', ['at_us'])
    if op.get_bind().dialect.name == 'postgresql':
        cutoff = f"(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint - {RETENTION_S}::bigint * 1000000"
        op.execute(f"""
CREATE FUNCTION append_only_data_access_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION '{MESSAGE} (UPDATE)' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'TRUNCATE' THEN
    IF EXISTS (SELECT 1 FROM data_access_log r WHERE r.at_us > {cutoff}) THEN
      RAISE EXCEPTION '{KEPT} (TRUNCATE data_access_log)' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
  END IF;
  IF OLD.at_us > {cutoff} THEN
    RAISE EXCEPTION '{KEPT} (DELETE FROM data_access_log)' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END $$""")
        op.execute("CREATE TRIGGER append_only_data_access_log BEFORE UPDATE OR DELETE ON data_access_log "
                   "FOR EACH ROW EXECUTE FUNCTION append_only_data_access_log()")
        op.execute("CREATE TRIGGER append_only_data_access_log_truncate BEFORE TRUNCATE ON data_access_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION append_only_data_access_log()")
    else:
        cutoff = f"(CAST(strftime('%s', 'now') AS INTEGER) - {RETENTION_S}) * 1000000"
        op.execute("CREATE TRIGGER append_only_data_access_log BEFORE UPDATE ON data_access_log "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE)'); END")
        op.execute("CREATE TRIGGER retain_data_access_log BEFORE DELETE ON data_access_log "
                   f"WHEN OLD.at_us > {cutoff} "
                   f"BEGIN SELECT RAISE(ABORT, '{KEPT} (DELETE FROM data_access_log)'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS append_only_data_access_log_truncate ON data_access_log")
        op.execute("DROP TRIGGER IF EXISTS append_only_data_access_log ON data_access_log")
        op.execute("DROP FUNCTION IF EXISTS append_only_data_access_log()")
    else:
        op.execute("DROP TRIGGER IF EXISTS retain_data_access_log")
        op.execute("DROP TRIGGER IF EXISTS append_only_data_access_log")
    op.drop_index('ix_data_access_log_at', table_name='data_access_log')
    with op.batch_alter_table('data_access_log') as batch:
        batch.drop_column('reason')
