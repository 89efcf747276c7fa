"""access: entitlements, access log, imported market volume, data access log (Reg ATS 301(b)(5), (b)(10))

Existing members keep the access they had: each is entitled to every security ("*"), and that grant
is written to the access log.

Revision ID: 0003_access
Revises: 0002
"""
import time

import sqlalchemy as sa
from alembic import op

revision = '0003_access'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entitlements',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], ),
    sa.PrimaryKeyConstraint('member_id', 'symbol')
    )
    op.create_table('access_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at_us', sa.BigInteger(), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('standard', sa.String(length=200), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_access_log_member', 'access_log', ['member_id', 'id'])
    op.create_table('market_volume',
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('symbol', 'day')
    )
    op.create_table('data_access_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at_us', sa.BigInteger(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # Members admitted before entitlements existed could trade every security: keep it so, on record.
    now_us = time.time_ns() // 1000
    op.execute(sa.text(
        "INSERT INTO entitlements (member_id, symbol, created_us) SELECT member_id, '*', :now FROM members"
    ).bindparams(now=now_us))
    op.execute(sa.text(
        "INSERT INTO access_log (at_us, member_id, action, scope, reason, standard, actor) "
        "SELECT :now, member_id, 'grant', '*', 'admitted before entitlements were recorded', 'AS-1,AS-2,AS-3', "
        "'migration 0003_access' FROM members"
    ).bindparams(now=now_us))


def downgrade() -> None:
    op.drop_table('data_access_log')
    op.drop_table('market_volume')
    op.drop_index('ix_access_log_member', table_name='access_log')
    op.drop_table('access_log')
    op.drop_table('entitlements')
