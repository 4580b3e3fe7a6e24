"""inbound updates keyed by bot: (bot_id, update_id)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Update ids are counted per bot, so with update_id alone as the key a new token (or a
second bot) on the same database took its first updates for repeats and dropped them.
The migration cannot know which bot stored the rows already there (the id is the part
of the token before ":", and the token is not in the database): they get bot_id 0,
"unknown", and the first bot to start afterwards takes them over (models.inbox.
adopt_unknown). A downgrade keeps one row of each update_id (the lowest bot id's),
as the old key holds no more.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Filled in for the rows there are; the default goes once they have it.
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bot_id", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.alter_column("bot_id", server_default=None)
        batch_op.drop_constraint("pk_inbound_updates", type_="primary")
        batch_op.create_primary_key("pk_inbound_updates", ["bot_id", "update_id"])


def downgrade() -> None:
    op.execute(
        "DELETE FROM inbound_updates WHERE EXISTS (SELECT 1 FROM inbound_updates AS other"
        " WHERE other.update_id = inbound_updates.update_id"
        " AND other.bot_id < inbound_updates.bot_id)"
    )
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_constraint("pk_inbound_updates", type_="primary")
        batch_op.create_primary_key("pk_inbound_updates", ["update_id"])
        batch_op.drop_column("bot_id")
