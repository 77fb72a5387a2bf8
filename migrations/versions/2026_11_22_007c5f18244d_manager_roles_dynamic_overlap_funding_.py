"""manager roles, dynamic overlap, funding, broadcasts

Revision ID: 007c5f18244d
Revises: 8cc84cc3d95c
Create Date: 2026-11-22 04:02:23.026545
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '007c5f18244d'
down_revision: str | None = '8cc84cc3d95c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('broadcasts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('status_message_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_broadcasts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['workers.id'], name=op.f('fk_broadcasts_created_by_workers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    op.create_table('broadcast_recipients',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_broadcast_recipients_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_broadcast_recipients_worker_id_workers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_recipients')),
    sa.UniqueConstraint('broadcast_id', 'worker_id', name=op.f('uq_broadcast_recipients_broadcast_id_worker_id'))
    )
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_recipients_queue', ['broadcast_id', 'status'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_overlap', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('target_confidence', sa.Float(), nullable=False, server_default='0.9'))
        batch_op.add_column(sa.Column('deadline', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('budget_wei', sa.String(length=80), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('funded_wei', sa.String(length=80), nullable=False, server_default='0'))
        batch_op.create_foreign_key(batch_op.f('fk_campaigns_owner_id_workers'), 'workers', ['owner_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='worker'))



def downgrade() -> None:
    with op.batch_alter_table('workers', schema=None) as batch_op:
        batch_op.drop_column('role')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_campaigns_owner_id_workers'), type_='foreignkey')
        batch_op.drop_column('funded_wei')
        batch_op.drop_column('budget_wei')
        batch_op.drop_column('owner_id')
        batch_op.drop_column('deadline')
        batch_op.drop_column('target_confidence')
        batch_op.drop_column('max_overlap')

    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_recipients_queue')

    op.drop_table('broadcast_recipients')
    op.drop_table('broadcasts')
