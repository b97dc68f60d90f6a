"""when the provider last gave a payment's facts and refunds (the order screen shows the ledger's figures with it)

Revision ID: 0025
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('checked_at')
