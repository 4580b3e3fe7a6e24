"""Incoming updates, written down before Telegram is told they arrived.

Both polling and the webhook store an update here before acknowledging it, so a
crash loses nothing: unprocessed rows are handled on the next start. The key is
(bot_id, update_id): update ids are counted per bot, so a repeated delivery is a
no-op, and another bot (another token) on the same database is not taken for repeats.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Index,
    Update,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from models.base import Base, TelegramId, utcnow
from models.sql import insert_or_skip

# PostgreSQL's JSONB holds neither NUL (U+0000) nor a lone surrogate, and a modified client
# can put either in callback data: such an update would not be stored, and stop the intake.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# The bot of rows stored before revision 0009, which could not know it (see adopt_unknown).
UNKNOWN_BOT = 0

# Where an update names the person it comes from: the part it carries has `from` (or `user`).
SENDER_PATHS = (
    *(
        (kind, "from", "id")
        for kind in (
            "message",
            "edited_message",
            "callback_query",
            "inline_query",
            "chosen_inline_result",
            "shipping_query",
            "pre_checkout_query",
            "my_chat_member",
            "chat_member",
            "chat_join_request",
        )
    ),
    ("poll_answer", "user", "id"),
    ("message_reaction", "user", "id"),
)

# Where an update names its chat: updates of one chat are handled in order, one at a time.
CHAT_PATHS = (
    *(
        (kind, "chat", "id")
        for kind in (
            "message",
            "edited_message",
            "channel_post",
            "edited_channel_post",
            "business_message",
            "edited_business_message",
            "my_chat_member",
            "chat_member",
            "chat_join_request",
            "message_reaction",
            "message_reaction_count",
            "chat_boost",
            "removed_chat_boost",
        )
    ),
    ("callback_query", "message", "chat", "id"),
)

# An update whose handling fails this many times (a bug, not a refusal: refusals are
# answered and done) is set aside, so that the chat's later updates are not held up.
MAX_ATTEMPTS = 3

# Names "a chat's updates" among PostgreSQL's two-number advisory locks (the scheduler's
# and the migrations' take the one-number kind, so they never meet these).
CHAT_LOCK_SPACE = 0x62726263  # "brbc"


class InboundUpdate(Base):
    __tablename__ = "inbound_updates"
    __table_args__ = (
        # Each chat's next update, and the chats with any, without reading the rest.
        Index(
            "ix_inbound_updates_unprocessed_chat",
            "bot_id",
            "chat_key",
            "update_id",
            postgresql_where=text("processed_at IS NULL"),
            sqlite_where=text("processed_at IS NULL"),
        ),
    )

    # The bot that received it: the number its token starts with.
    bot_id: Mapped[TelegramId] = mapped_column(primary_key=True, autoincrement=False)
    update_id: Mapped[TelegramId] = mapped_column(primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
    # The chat it belongs to (`chat_key`): its lane.
    chat_key: Mapped[TelegramId] = mapped_column(default=0, server_default=text("0"))
    # Failed handlings so far (see MAX_ATTEMPTS).
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))


def _at(payload: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = payload
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def chat_key(payload: dict[str, Any]) -> int:
    """The chat an update belongs to, else the person it comes from, else 0: what
    python-telegram-bot calls its effective chat, or effective user."""
    for path in (*CHAT_PATHS, *SENDER_PATHS):
        value = _at(payload, path)
        if isinstance(value, int):
            return value
    return 0


def storable(value: Any) -> Any:
    """The update (or any part of it) with each character no database can keep in JSON
    replaced by U+FFFD, the replacement character."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


async def store_updates(
    session: AsyncSession, bot_id: int, payloads: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Record updates of this bot in one statement; those it had not seen before, in order."""
    if not payloads:
        return []
    rows = [
        {
            "bot_id": bot_id,
            "update_id": payload["update_id"],
            "payload": payload,
            "chat_key": chat_key(payload),
            "received_at": utcnow(),
            "attempts": 0,
        }
        for payload in payloads
    ]
    new = set(
        await session.scalars(
            insert_or_skip(session, InboundUpdate, ["bot_id", "update_id"])
            .values(rows)
            .returning(InboundUpdate.update_id)
        )
    )
    return [payload for payload in payloads if payload["update_id"] in new]


async def store_update(session: AsyncSession, bot_id: int, payload: dict[str, Any]) -> bool:
    """Record an update of this bot; False when it has seen this update_id before."""
    return bool(await store_updates(session, bot_id, [payload]))


async def lock_chat(session: AsyncSession, key: int) -> None:
    """Until the transaction ends, no other process handles this chat's updates (PostgreSQL;
    SQLite has one process, whose lanes keep to a chat each, and one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(CHAT_LOCK_SPACE, key % 2**31)))


def _take_next_statement() -> Update:
    """take_next's statement, built once (building it costs more than running it)."""
    # (Not named as columns: an UPDATE keeps those names for its SET clause.)
    bot_id, key = bindparam("for_bot"), bindparam("for_chat")
    waiting, later = aliased(InboundUpdate), aliased(InboundUpdate)
    earliest = (
        select(func.min(waiting.update_id))
        .where(waiting.bot_id == bot_id, waiting.chat_key == key, waiting.processed_at.is_(None))
        .scalar_subquery()
    )
    more = (
        select(later.update_id)
        .where(
            later.bot_id == bot_id,
            later.chat_key == key,
            later.processed_at.is_(None),
            # Spelled out: in a RETURNING clause SQLAlchemy writes SQLite's columns without
            # their table, and `update_id` here would be the subquery's own.
            later.update_id > literal_column(f"{InboundUpdate.__tablename__}.update_id"),
        )
        .exists()
    )
    return (
        update(InboundUpdate)
        .where(InboundUpdate.bot_id == bot_id, InboundUpdate.update_id == earliest)
        .values(processed_at=bindparam("taken_at", type_=InboundUpdate.processed_at.type))
        .returning(InboundUpdate.update_id, InboundUpdate.payload, more)
        .execution_options(synchronize_session=False)
    )


_TAKE_NEXT = _take_next_statement()


async def take_next(
    session: AsyncSession, bot_id: int, key: int
) -> tuple[int | None, dict[str, Any] | None, bool]:
    """The chat's earliest update not processed yet, marked processed in one statement
    (the mark holds only if the transaction that handles it commits), and whether another
    is waiting after it (so that a lane looks again only when there is something to find):
    (update id, payload, more), or (None, None, False) when none is waiting."""
    row = (
        await session.execute(
            _TAKE_NEXT, {"for_bot": bot_id, "for_chat": key, "taken_at": utcnow()}
        )
    ).first()
    if row is None:
        return None, None, False
    return row[0], row[1], bool(row[2])


async def chats_waiting(
    session: AsyncSession, bot_id: int, received_before: datetime | None = None
) -> list[int]:
    """The chats with updates not processed yet (received before the time, if given)."""
    query = (
        select(InboundUpdate.chat_key)
        .distinct()
        .where(InboundUpdate.bot_id == bot_id, InboundUpdate.processed_at.is_(None))
    )
    if received_before is not None:
        query = query.where(InboundUpdate.received_at < received_before)
    return list(await session.scalars(query))


async def count_failure(session: AsyncSession, bot_id: int, update_id: int) -> bool:
    """One more failed handling of the update; True when it is now set aside for good."""
    attempts = await session.scalar(
        update(InboundUpdate)
        .where(InboundUpdate.bot_id == bot_id, InboundUpdate.update_id == update_id)
        .values(attempts=InboundUpdate.attempts + 1)
        .returning(InboundUpdate.attempts)
    )
    if attempts is None or attempts < MAX_ATTEMPTS:
        return False
    await mark_processed(session, bot_id, update_id)
    return True


async def mark_processed(
    session: AsyncSession, bot_id: int, update_id: int, *, unless_marked: bool = False
) -> bool:
    """Mark the update processed; with `unless_marked`, only if it was not (and False
    when it was). A lane's `take_next` marks the update it takes: this is for the
    other ways an update ends (a failure after its rollback, one given up on)."""
    query = update(InboundUpdate).where(
        InboundUpdate.bot_id == bot_id, InboundUpdate.update_id == update_id
    )
    if unless_marked:
        query = query.where(InboundUpdate.processed_at.is_(None))
    result = await session.execute(query.values(processed_at=utcnow()))
    return bool(result.rowcount)


async def unprocessed(session: AsyncSession, bot_id: int, limit: int = 100) -> list[InboundUpdate]:
    rows = await session.scalars(
        select(InboundUpdate)
        .where(InboundUpdate.bot_id == bot_id, InboundUpdate.processed_at.is_(None))
        .order_by(InboundUpdate.update_id)
        .limit(limit)
    )
    return list(rows)


async def last_update_id(session: AsyncSession, bot_id: int) -> int | None:
    """The highest update id stored for this bot (the sandbox's emulator must go on above it)."""
    return await session.scalar(
        select(func.max(InboundUpdate.update_id)).where(InboundUpdate.bot_id == bot_id)
    )


async def adopt_unknown(session: AsyncSession, bot_id: int) -> int:
    """Make the rows stored before revision 0009 this bot's; how many.

    Those rows are the updates of the bot that ran before the upgrade, which is the one
    starting after it (the upgrade runs as the new version starts, with the same token).
    Taking them over keeps what the old key promised across the upgrade: an update stored
    but not yet confirmed to Telegram when the old version stopped comes again and must
    be known as a repeat, and one stored but not processed must still be processed, once.
    Had another bot stored them, this bot would only treat its own new updates of the
    same numbers as repeats for the few days until those rows are pruned: what the old
    key did anyway. A row whose number this bot has itself stored since stays unknown.
    """
    mine = aliased(InboundUpdate)
    result = await session.execute(
        update(InboundUpdate)
        .where(
            InboundUpdate.bot_id == UNKNOWN_BOT,
            ~select(mine.update_id)
            .where(mine.bot_id == bot_id, mine.update_id == InboundUpdate.update_id)
            .exists(),
        )
        .values(bot_id=bot_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def prune(session: AsyncSession, older_than: timedelta = timedelta(days=7)) -> int:
    """Forget processed updates once a repeat delivery is no longer plausible: every bot's,
    as the rule is the same for each, and a bot that no longer runs leaves none behind."""
    result = await session.execute(
        delete(InboundUpdate).where(InboundUpdate.processed_at < utcnow() - older_than)
    )
    return result.rowcount or 0


def _sent_by(telegram_id: int) -> ColumnElement[bool]:
    """The update comes from this person (in their private chat, or a group they wrote in)."""
    return or_(
        *(
            cast(InboundUpdate.payload[path].as_string(), BigInteger) == telegram_id
            for path in SENDER_PATHS
        )
    )


async def updates_from(
    session: AsyncSession, telegram_id: int
) -> tuple[int, datetime | None, datetime | None]:
    """How many stored updates came from this person, the first and last received."""
    count, first, last = (
        await session.execute(
            select(
                func.count(),
                func.min(InboundUpdate.received_at),
                func.max(InboundUpdate.received_at),
            ).where(_sent_by(telegram_id))
        )
    ).one()
    return count, first, last


async def delete_updates_from(session: AsyncSession, telegram_id: int) -> int:
    """Delete every stored update from this person, the one being handled included (its mark
    as processed then changes nothing); how many."""
    result = await session.execute(
        delete(InboundUpdate)
        .where(_sent_by(telegram_id))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
