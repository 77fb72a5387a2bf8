"""audit hash chain

Revision ID: a7c3e1d2b9f4
Revises: e4b9141e8c8f
Create Date: 2026-11-22 12:00:00.000000

Adds `prev_hash` and `hash` to audit_log. Rows that already exist are chained here, in id
order, with the same function the application uses (agreemint.services.audit.entry_hash), so an
upgraded database verifies; on PostgreSQL the append-only trigger is disabled for this one
UPDATE and re-enabled in the same transaction. Downgrade drops the columns (the chain is lost).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from agreemint.services.audit import GENESIS, entry_hash
from agreemint.store.types import UTCDateTime

revision: str = 'a7c3e1d2b9f4'
down_revision: str | None = 'e4b9141e8c8f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_hash'), ['hash'])
    _chain_existing_rows()


def _chain_existing_rows() -> None:
    bind = op.get_bind()
    log = sa.table(
        'audit_log', sa.column('id', sa.BigInteger), sa.column('at', UTCDateTime()),
        sa.column('actor', sa.String), sa.column('action', sa.String),
        sa.column('entity', sa.String), sa.column('entity_id', sa.String),
        sa.column('data', sa.JSON), sa.column('prev_hash', sa.String),
        sa.column('hash', sa.String),
    )
    rows = bind.execute(sa.select(log).order_by(log.c.id)).all()
    if not rows:
        return
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
    prev = GENESIS
    for row in rows:
        digest = entry_hash(prev, int(row.id), row.at, row.actor, row.action, row.entity,
                            row.entity_id, dict(row.data or {}))
        bind.execute(sa.update(log).where(log.c.id == row.id)
                     .values(prev_hash=prev, hash=digest))
        prev = digest
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_log_hash'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
