"""account conversation state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_language", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("awaiting", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("report_unit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_accounts_report_unit_id_org_units"),
            "org_units",
            ["report_unit_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_accounts_report_unit_id_org_units"), type_="foreignkey"
        )
        batch_op.drop_column("report_unit_id")
        batch_op.drop_column("awaiting")
        batch_op.drop_column("telegram_language")
