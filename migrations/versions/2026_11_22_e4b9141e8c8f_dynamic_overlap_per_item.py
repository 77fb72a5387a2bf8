"""dynamic overlap per item

Revision ID: e4b9141e8c8f
Revises: 007c5f18244d
Create Date: 2026-11-22 04:08:13.424655
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'e4b9141e8c8f'
down_revision: str | None = '007c5f18244d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers_wanted', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('answers_wanted')

