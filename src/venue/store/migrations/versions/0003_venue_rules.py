"""venue rules: member SMP default, risk limits and kill switch; investor KYC/AML/accreditation;
security phases and compliance rules; gate decision audit

Revision ID: 0003_venue_rules
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_venue_rules'
down_revision = '0002'
branch_labels = None
depends_on = None


def member_columns() -> list[sa.Column]:
    return [
        sa.Column('default_smp', sa.String(length=1), nullable=False, server_default='1'),
        sa.Column('max_order_qty', sa.BigInteger(), nullable=True),
        sa.Column('max_notional', sa.String(length=40), nullable=True),
        sa.Column('collar_bps', sa.Integer(), nullable=True),
        sa.Column('max_msgs_per_s', sa.Integer(), nullable=True),
        sa.Column('killed', sa.Boolean(), nullable=False, server_default=sa.false()),
    ]


def account_columns() -> list[sa.Column]:
    return [
        sa.Column('kyc_status', sa.String(length=16), nullable=False, server_default='verified'),
        sa.Column('kyc_expires', sa.String(length=10), nullable=True),
        sa.Column('aml_flag', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('accreditation_expires', sa.String(length=10), nullable=True),
    ]


def security_columns() -> list[sa.Column]:
    return [
        sa.Column('auction_interval_s', sa.Integer(), nullable=True),
        sa.Column('holding_period_days', sa.Integer(), nullable=True),
        sa.Column('allowed_jurisdictions', sa.String(length=200), nullable=True),
        sa.Column('denied_jurisdictions', sa.String(length=200), nullable=True),
        sa.Column('us_buyers_from', sa.String(length=10), nullable=True),
        sa.Column('max_holders', sa.Integer(), nullable=True),
        sa.Column('max_non_accredited_holders', sa.Integer(), nullable=True),
        sa.Column('min_holding', sa.BigInteger(), nullable=True),
        sa.Column('max_holding', sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    for table, columns in (('members', member_columns()), ('accounts', account_columns()),
                           ('securities', security_columns())):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(column)
    op.create_table('gate_decisions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at_us', sa.BigInteger(), nullable=False),
        sa.Column('comp_id', sa.String(length=32), nullable=False),
        sa.Column('cl_ord_id', sa.String(length=64), nullable=False),
        sa.Column('order_id', sa.BigInteger(), nullable=True),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('account', sa.String(length=64), nullable=True),
        sa.Column('side', sa.String(length=1), nullable=False),
        sa.Column('qty', sa.String(length=40), nullable=True),
        sa.Column('price', sa.String(length=40), nullable=True),
        sa.Column('outcome', sa.String(length=8), nullable=False),
        sa.Column('gate', sa.String(length=16), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('inputs', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_gate_decisions_at', 'gate_decisions', ['at_us'])


def downgrade() -> None:
    op.drop_index('ix_gate_decisions_at', table_name='gate_decisions')
    op.drop_table('gate_decisions')
    for table, columns in (('members', member_columns()), ('accounts', account_columns()),
                           ('securities', security_columns())):
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column.name)
