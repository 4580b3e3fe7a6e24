"""scheduler terms: each claim of the outbox carries the term of the leader that made it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

`scheduler_leadership` is one row: the current term, counted up by each process that
becomes the leader. `deliveries.claimed_term` is the term of the leader that marked a
row `sending`, so a new leader re-queues only the rows of a term that is over, and a
leader whose term is over can tell that a row is no longer its own (scheduler.leader).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    leadership = op.create_table(
        "scheduler_leadership",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("started_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_leadership")),
    )
    op.bulk_insert(leadership, [{"id": 1, "term": 0}])
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_term", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("claimed_term")
    op.drop_table("scheduler_leadership")
