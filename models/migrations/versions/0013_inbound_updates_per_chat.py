"""inbound updates in lanes per chat: chat_key, attempts, and each chat's next update

Updates of different chats are handled side by side, each chat's in order (bot.app.
UpdateInbox); replicas on one PostgreSQL database take a chat's updates under a lock
of that chat. `chat_key` is the chat an update belongs to (models.inbox.chat_key), and
the index finds each chat's earliest unprocessed update, and the chats that have one,
without reading the rest. `attempts` counts failed handlings, so that an update that
always fails is set aside instead of holding up its chat. The rows not processed yet
get their chat here; processed ones keep 0, as nothing reads it for them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.inbox import chat_key

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPROCESSED = sa.text("processed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("chat_key", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    table = sa.table(
        "inbound_updates",
        sa.column("bot_id", sa.BigInteger()),
        sa.column("update_id", sa.BigInteger()),
        sa.column("payload", sa.JSON()),
        sa.column("processed_at", sa.DateTime()),
        sa.column("chat_key", sa.BigInteger()),
    )
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(table.c.bot_id, table.c.update_id, table.c.payload).where(UNPROCESSED)
    ).all()
    for bot_id, update_id, payload in waiting:
        connection.execute(
            table.update()
            .where(table.c.bot_id == bot_id, table.c.update_id == update_id)
            .values(chat_key=chat_key(payload))
        )
    op.create_index(
        "ix_inbound_updates_unprocessed_chat",
        "inbound_updates",
        ["bot_id", "chat_key", "update_id"],
        postgresql_where=UNPROCESSED,
        sqlite_where=UNPROCESSED,
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_updates_unprocessed_chat", table_name="inbound_updates")
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("chat_key")
