"""gold budget indexes

Revision ID: 9d4e2b7a1c6f
Revises: 6b1e0f4c8d2a
Create Date: 2026-11-22 15:10:00.000000

The paid-gold check (services/gold_budget.py) counts a gold item's answers and open tasks and
adds up a campaign's decided ledger amounts: an index on assignments by item, and one on the
ledger by campaign, state and amount that answers the sum without reading the rows.
"""

from collections.abc import Sequence

from alembic import op


revision: str = '9d4e2b7a1c6f'
down_revision: str | None = '6b1e0f4c8d2a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_item', ['item_id', 'purpose', 'status'],
                              unique=False)
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entries_amounts', ['campaign_id', 'status', 'amount_wei'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entries_amounts')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_item')
