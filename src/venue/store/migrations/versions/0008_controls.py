"""controls: sessions can be disabled, gate decisions name their message, the registry change audit

Revision ID: 0008_controls
Revises: 0007_cl_ord_day, 0003_access

- Merges the two branches (0003_access and 0003_venue_rules..0007) so a plain
  `alembic upgrade head` has one head to go to.
- `fix_sessions.enabled`: a disabled session may not log on and nothing of it rests in the books.
- `gate_decisions.msg_type`: the path the decision was made on (D new order, G replace); rows
  written before this revision were all new orders.
- `cancel_rejects.venue_reason`: the refusing gate's code (VenueRejectCode 20001).
- `accounts.kyc_status` defaults to `pending`: a new investor trades only once an operator has
  verified it (fail closed).
- `registry_changes`: every change to investors, members, sessions, entitlements, limits,
  securities, halts and kill switches, with the operator, the time, the values before and after,
  and the reason. Append-only: an UPDATE is refused always, a DELETE while the row is younger than
  the retention period (Rule 303, as for the journal's tables in 0005_records).
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_controls'
# 0003_access first: upgrading a store at 0002 then runs it after 0003_venue_rules..0007, whose
# SQLite batch rebuild of `members` must come before the entitlements table refers to it.
down_revision = ('0003_access', '0007_cl_ord_day')
branch_labels = None
depends_on = None

RETENTION_S = 1096 * 86_400  # 3 years, a leap day included
MESSAGE = 'registry_changes is append-only'
KEPT = 'Rule 303: records are kept at least 3 years; this row is younger'


def upgrade() -> None:
    op.add_column('fix_sessions', sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('gate_decisions', sa.Column('msg_type', sa.String(length=8), nullable=True))
    op.add_column('cancel_rejects', sa.Column('venue_reason', sa.String(length=8), nullable=True))
    with op.batch_alter_table('accounts') as batch:
        batch.alter_column('kyc_status', existing_type=sa.String(length=16), existing_nullable=False,
                           server_default='pending')
    op.create_table('registry_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at_us', sa.BigInteger(), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=True),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_registry_changes_at', 'registry_changes', ['at_us'])
    op.create_index('ix_registry_changes_account', 'registry_changes', ['account', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        cutoff = f"(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint - {RETENTION_S}::bigint * 1000000"
        op.execute(f"""
CREATE FUNCTION append_only_registry_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    RAISE EXCEPTION '{MESSAGE} (UPDATE)' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'TRUNCATE' THEN
    IF EXISTS (SELECT 1 FROM registry_changes r WHERE r.at_us > {cutoff}) THEN
      RAISE EXCEPTION '{KEPT} (TRUNCATE registry_changes)' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
  END IF;
  IF OLD.at_us > {cutoff} THEN
    RAISE EXCEPTION '{KEPT} (DELETE FROM registry_changes)' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END $$""")
        op.execute("CREATE TRIGGER append_only_registry_changes BEFORE UPDATE OR DELETE ON registry_changes "
                   "FOR EACH ROW EXECUTE FUNCTION append_only_registry_changes()")
        op.execute("CREATE TRIGGER append_only_registry_changes_truncate BEFORE TRUNCATE ON registry_changes "
                   "FOR EACH STATEMENT EXECUTE FUNCTION append_only_registry_changes()")
    else:
        cutoff = f"(CAST(strftime('%s', 'now') AS INTEGER) - {RETENTION_S}) * 1000000"
        op.execute("CREATE TRIGGER append_only_registry_changes BEFORE UPDATE ON registry_changes "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (UPDATE)'); END")
        op.execute("CREATE TRIGGER retain_registry_changes BEFORE DELETE ON registry_changes "
                   f"WHEN OLD.at_us > {cutoff} "
                   f"BEGIN SELECT RAISE(ABORT, '{KEPT} (DELETE FROM registry_changes)'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS append_only_registry_changes_truncate ON registry_changes")
        op.execute("DROP TRIGGER IF EXISTS append_only_registry_changes ON registry_changes")
        op.execute("DROP FUNCTION IF EXISTS append_only_registry_changes()")
    op.drop_index('ix_registry_changes_account', table_name='registry_changes')
    op.drop_index('ix_registry_changes_at', table_name='registry_changes')
    op.drop_table('registry_changes')
    with op.batch_alter_table('accounts') as batch:
        batch.alter_column('kyc_status', existing_type=sa.String(length=16), existing_nullable=False,
                           server_default='verified')
    op.drop_column('cancel_rejects', 'venue_reason')
    op.drop_column('gate_decisions', 'msg_type')
    op.drop_column('fix_sessions', 'enabled')
