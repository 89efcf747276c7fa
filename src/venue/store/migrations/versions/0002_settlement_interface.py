"""settlement interface: settlement columns on trades, settlement_events queue, holding lots

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trades') as batch:
        batch.add_column(sa.Column('tx_hash', sa.String(length=66), nullable=True))
        batch.add_column(sa.Column('block_number', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('settlement_error', sa.Text(), nullable=True))
        batch.add_column(sa.Column('settlement_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('settlement_updated_us', sa.BigInteger(), nullable=True))
        batch.create_index('ix_trades_settlement', ['settlement_status', 'trade_id'])
    op.create_table('settlement_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('trade_id', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.Column('processed_us', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_settlement_events_pending', 'settlement_events', ['processed_us', 'id'])
    op.create_table('lots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('acquired_us', sa.BigInteger(), nullable=False),
    sa.Column('trade_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_lots_account', 'lots', ['account_id', 'symbol', 'acquired_us'])


def downgrade() -> None:
    op.drop_index('ix_lots_account', table_name='lots')
    op.drop_table('lots')
    op.drop_index('ix_settlement_events_pending', table_name='settlement_events')
    op.drop_table('settlement_events')
    with op.batch_alter_table('trades') as batch:
        batch.drop_index('ix_trades_settlement')
        for col in ('settlement_updated_us', 'settlement_attempts', 'settlement_error', 'block_number', 'tx_hash'):
            batch.drop_column(col)
