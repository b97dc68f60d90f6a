"""the params of a failed refund's reason (the code's sentence is translated from code and params)

Revision ID: 0020
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('failure_params')
