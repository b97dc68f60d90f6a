"""provider pace: one schedule of calls per provider, shared by every worker

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_pace',
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('provider')
    )


def downgrade() -> None:
    op.drop_table('provider_pace')
