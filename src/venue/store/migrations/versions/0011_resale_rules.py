"""resale rules: tacking dates on lots, the seller's role on trades, issuer affiliations, family
links, and the securities' Rule 144 / Reg CF / Reg S / 144(e) reference data

Revision ID: 0011_resale_rules
Revises: 0010_session_security

- `lots.tacking_us`: the instant the lot's Rule 144 holding period runs from. A purchase from a
  holder that is neither the issuer nor an affiliate keeps the seller's (Rule 144(d)(1): "any
  subsequent holder"); one from the issuer or an affiliate starts at the trade. Existing lots tack
  from their acquisition.
- `trades.seller_role`: `issuer`, `affiliate` or NULL (any other holder), decided at execution.
- `issuer_affiliations`: an account's relationship to the issuer of one security (Rule 144(a)(1)).
- `family_links`: two accounts declared members of one family (Reg CF, 227.501(c)); stored once,
  the smaller account id first.
- `securities`: `restricted`, `issuer_reporting`, `issue_date`, `reg_s_category`, `debt`,
  `outstanding` replace `holding_period_days`. A day count is read as the rule it stood for: any
  period makes the security restricted, one of at most 183 days with a reporting issuer (6 months),
  a longer one without (12 months).
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_resale_rules'
down_revision = '0010_session_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('lots', sa.Column('tacking_us', sa.BigInteger(), nullable=True))
    op.execute('UPDATE lots SET tacking_us = acquired_us')
    with op.batch_alter_table('lots') as batch:
        batch.alter_column('tacking_us', existing_type=sa.BigInteger(), nullable=False)
    op.create_index('ix_lots_tacking', 'lots', ['account_id', 'symbol', 'tacking_us'])
    op.add_column('trades', sa.Column('seller_role', sa.String(length=16), nullable=True))

    op.add_column('securities', sa.Column('restricted', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('securities', sa.Column('issuer_reporting', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    op.add_column('securities', sa.Column('issue_date', sa.String(length=10), nullable=True))
    op.add_column('securities', sa.Column('reg_s_category', sa.Integer(), nullable=True))
    op.add_column('securities', sa.Column('debt', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('securities', sa.Column('outstanding', sa.BigInteger(), nullable=True))
    op.execute('UPDATE securities SET restricted = true, issuer_reporting = (holding_period_days <= 183) '
               'WHERE holding_period_days > 0')
    with op.batch_alter_table('securities') as batch:
        batch.drop_column('holding_period_days')

    op.create_table('issuer_affiliations',
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], ),
    sa.PrimaryKeyConstraint('account_id', 'symbol')
    )
    op.create_table('family_links',
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('family_account_id', sa.String(length=64), nullable=False),
    sa.Column('relationship', sa.String(length=64), nullable=False),
    sa.Column('created_us', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.account_id'], ),
    sa.ForeignKeyConstraint(['family_account_id'], ['accounts.account_id'], ),
    sa.PrimaryKeyConstraint('account_id', 'family_account_id')
    )


def downgrade() -> None:
    op.drop_table('family_links')
    op.drop_table('issuer_affiliations')
    op.add_column('securities', sa.Column('holding_period_days', sa.Integer(), nullable=True))
    op.execute('UPDATE securities SET holding_period_days = CASE WHEN issuer_reporting THEN 183 ELSE 365 END '
               'WHERE restricted')
    with op.batch_alter_table('securities') as batch:
        batch.drop_column('outstanding')
        batch.drop_column('debt')
        batch.drop_column('reg_s_category')
        batch.drop_column('issue_date')
        batch.drop_column('issuer_reporting')
        batch.drop_column('restricted')
    op.execute('ALTER TABLE trades DROP COLUMN seller_role')  # no batch copy: it would drop the retention trigger
    op.drop_index('ix_lots_tacking', table_name='lots')
    with op.batch_alter_table('lots') as batch:
        batch.drop_column('tacking_us')
