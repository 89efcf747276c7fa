"""cl_ord_ids: the UTC day each ClOrdID was used, part of the key (unique per session per day)

Revision ID: 0007_cl_ord_day
Revises: 0006_outbox

The table is rebuilt (SQLite cannot change a primary key in place). Every ClOrdID journaled before
this migration counts as used on the day of the migration: it stays taken for the rest of that day,
and, once its order is closed, is free again from the next one.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0007_cl_ord_day'
down_revision = '0006_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    today = datetime.now(timezone.utc).date().isoformat()
    op.create_table('cl_ord_ids_by_day',
    sa.Column('comp_id', sa.String(length=32), nullable=False),
    sa.Column('cl_ord_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('comp_id', 'cl_ord_id', 'day')
    )
    op.execute(sa.text("INSERT INTO cl_ord_ids_by_day (comp_id, cl_ord_id, day, order_id) "
                       "SELECT comp_id, cl_ord_id, :day, order_id FROM cl_ord_ids").bindparams(day=today))
    op.drop_table('cl_ord_ids')
    op.rename_table('cl_ord_ids_by_day', 'cl_ord_ids')


def downgrade() -> None:
    op.create_table('cl_ord_ids_single',
    sa.Column('comp_id', sa.String(length=32), nullable=False),
    sa.Column('cl_ord_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('comp_id', 'cl_ord_id')
    )
    # the latest use of each ClOrdID
    op.execute("INSERT INTO cl_ord_ids_single (comp_id, cl_ord_id, order_id) "
               "SELECT c.comp_id, c.cl_ord_id, c.order_id FROM cl_ord_ids c WHERE c.day = "
               "(SELECT MAX(d.day) FROM cl_ord_ids d WHERE d.comp_id = c.comp_id AND d.cl_ord_id = c.cl_ord_id)")
    op.drop_table('cl_ord_ids')
    op.rename_table('cl_ord_ids_single', 'cl_ord_ids')
