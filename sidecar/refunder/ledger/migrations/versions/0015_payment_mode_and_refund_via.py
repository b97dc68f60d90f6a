"""payment mode (test/live), gateway and why the provider cannot refund it; how each refund was paid back

Revision ID: 0015
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=8), server_default='unknown', nullable=False))
        batch_op.add_column(sa.Column('gateway', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('refund_block', sa.JSON(), nullable=True))
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sa.String(length=16), server_default='provider', nullable=False))
    # Refunds of bank-transfer payments were bank transfers.
    op.execute("UPDATE refunds SET via = 'bank_transfer' "
               "WHERE payment_id IN (SELECT id FROM payments WHERE provider = 'manual')")


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('via')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('refund_block')
        batch_op.drop_column('gateway')
        batch_op.drop_column('mode')
