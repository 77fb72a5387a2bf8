"""trust and safety

Revision ID: 05cbc5d2cbed
Revises: a7c3e1d2b9f4
Create Date: 2026-11-22 05:27:49.987764

Standings (training, pauses, removal, review holds), rule events, review cases, appeals and
their blind votes; answer/assignment purpose and rule flags; campaign training and rule
overrides; gold hints, sources and bad-key flags. Existing rows get server defaults: every
answer and assignment is a plain task, existing campaigns have no training and default rules.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import agreemint.store.types


revision: str = '05cbc5d2cbed'
down_revision: str | None = 'a7c3e1d2b9f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('workers', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', agreemint.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', agreemint.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_review_cases_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by'], ['workers.id'], name=op.f('fk_review_cases_decided_by_workers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_cases'))
    )
    op.create_table('rule_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('measured', sa.Float(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('at', agreemint.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_rule_events_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_rule_events_worker_id_workers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_events'))
    )
    with op.batch_alter_table('rule_events', schema=None) as batch_op:
        batch_op.create_index('ix_rule_events_worker', ['worker_id', 'campaign_id'], unique=False)

    op.create_table('standings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('training_answered', sa.Integer(), nullable=False),
    sa.Column('training_correct', sa.Integer(), nullable=False),
    sa.Column('training_attempts', sa.Integer(), nullable=False),
    sa.Column('retry_at', agreemint.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_until', agreemint.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.Text(), nullable=True),
    sa.Column('removed_at', agreemint.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('removed_reason', sa.Text(), nullable=True),
    sa.Column('held_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('warnings', sa.Integer(), nullable=False),
    sa.Column('updated_at', agreemint.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_standings_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['held_case_id'], ['review_cases.id'], name=op.f('fk_standings_held_case_id_review_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_standings_worker_id_workers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standings')),
    sa.UniqueConstraint('worker_id', 'campaign_id', name=op.f('uq_standings_worker_id_campaign_id'))
    )
    op.create_table('appeals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('votes_wanted', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('created_at', agreemint.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', agreemint.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_appeals_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_appeals_entry_id_ledger_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_appeals_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_appeals_worker_id_workers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_appeals_entry_id'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_item_id'), ['item_id'], unique=False)

    op.create_table('appeal_votes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('appeal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assignment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('at', agreemint.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_votes_appeal_id_appeals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_appeal_votes_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_appeal_votes_worker_id_workers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_votes')),
    sa.UniqueConstraint('appeal_id', 'worker_id', name=op.f('uq_appeal_votes_appeal_id_worker_id')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_appeal_votes_assignment_id'))
    )
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), nullable=False, server_default='task'))
        batch_op.add_column(sa.Column('flag', sa.Text(), nullable=True))

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), nullable=False, server_default='task'))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('training_questions', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('training_pass', sa.Float(), nullable=False, server_default='0.8'))
        batch_op.add_column(sa.Column('rules', sa.JSON(), nullable=False, server_default='{}'))

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hint', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('gold_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('gold_flag', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('gold_flag')
        batch_op.drop_column('gold_source')
        batch_op.drop_column('hint')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('rules')
        batch_op.drop_column('training_pass')
        batch_op.drop_column('training_questions')

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('purpose')

    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_column('flag')
        batch_op.drop_column('purpose')

    op.drop_table('appeal_votes')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_item_id'))

    op.drop_table('appeals')
    op.drop_table('standings')
    with op.batch_alter_table('rule_events', schema=None) as batch_op:
        batch_op.drop_index('ix_rule_events_worker')

    op.drop_table('rule_events')
    op.drop_table('review_cases')
