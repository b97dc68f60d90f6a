"""refunds made in WooCommerce itself, reported by the plugin (kind "woocommerce"); refunds read by change

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wc_refund_id', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('wc_source', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('wc_gateway', sa.Boolean(), nullable=True))
        batch_op.create_unique_constraint('uq_refunds_payment_wc_refund', ['payment_id', 'wc_refund_id'])
        batch_op.create_index('ix_refunds_updated_at', ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_updated_at')
        batch_op.drop_constraint('uq_refunds_payment_wc_refund', type_='unique')
        batch_op.drop_column('wc_gateway')
        batch_op.drop_column('wc_source')
        batch_op.drop_column('wc_refund_id')
