"""session security: transport (plaintext or TLS), address allow-list, pinned certificate, password age

Revision ID: 0010_session_security
Revises: 0009_operators

- `fix_sessions.transport`: `plain` (existing sessions) or `tls` (mutual TLS, the client
  certificate's CN must be the CompID).
- `fix_sessions.allowed_addresses`: the remote addresses a session may connect from (comma-separated;
  NULL: any address its transport allows).
- `fix_sessions.cert_sha256`: a TLS session bound to one client certificate (its SHA-256 fingerprint).
- `fix_sessions.password_changed_us`: when the logon password was last set.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_session_security'
down_revision = '0009_operators'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('fix_sessions', sa.Column('transport', sa.String(length=8), nullable=False, server_default='plain'))
    op.add_column('fix_sessions', sa.Column('allowed_addresses', sa.Text(), nullable=True))
    op.add_column('fix_sessions', sa.Column('cert_sha256', sa.String(length=64), nullable=True))
    op.add_column('fix_sessions', sa.Column('password_changed_us', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('fix_sessions') as batch:
        batch.drop_column('password_changed_us')
        batch.drop_column('cert_sha256')
        batch.drop_column('allowed_addresses')
        batch.drop_column('transport')
