"""sessions: cancel-on-disconnect may spare GTC orders

Revision ID: 0004_sessions
Revises: 0003_venue_rules
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_sessions'
down_revision = '0003_venue_rules'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fix_sessions') as batch:
        batch.add_column(sa.Column('cod_keep_gtc', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('fix_sessions') as batch:
        batch.drop_column('cod_keep_gtc')
