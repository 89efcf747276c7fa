"""outbox: the sent-report watermark; executions indexed by trade

Revision ID: 0006_outbox
Revises: 0005_records
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_outbox'
down_revision = '0005_records'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_watermark',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('exec_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_executions_trade', 'executions', ['trade_id'])
    # Everything journaled before this migration was sent by the venue that journaled it.
    op.execute("INSERT INTO report_watermark (id, exec_id) SELECT 1, COALESCE(MAX(exec_id), 0) FROM executions")


def downgrade() -> None:
    op.drop_index('ix_executions_trade', table_name='executions')
    op.drop_table('report_watermark')
