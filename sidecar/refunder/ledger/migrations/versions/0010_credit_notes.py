"""credit notes: order snapshots per payment, gapless number series, issued documents, internal reasons

Revision ID: 0010
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_documents',
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.PrimaryKeyConstraint('payment_id')
    )
    op.create_table('credit_note_series',
    sa.Column('series', sa.String(length=64), nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('series')
    )
    op.create_table('credit_notes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('series', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('refund_id', sa.String(length=40), nullable=False),
    sa.Column('cancels_id', sa.String(length=40), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.Column('rendered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['cancels_id'], ['credit_notes.id'], ),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('refund_id', 'kind', name='uq_credit_notes_refund_kind'),
    sa.UniqueConstraint('series', 'number', name='uq_credit_notes_series_number')
    )
    with op.batch_alter_table('credit_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_notes_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_notes_refund_id'), ['refund_id'], unique=False)
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_internal', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('reason_internal')
    op.drop_table('credit_notes')
    op.drop_table('credit_note_series')
    op.drop_table('payment_documents')
