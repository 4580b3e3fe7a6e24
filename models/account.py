"""Telegram accounts that have talked to the bot, and their preferences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TelegramId, utcnow
from models.sql import in_parts

# last_seen_at is kept to the hour: most updates then read the account without writing it.
LAST_SEEN_PRECISION = timedelta(hours=1)
QUESTION_MAX = 64  # characters of `awaiting`


class Account(Base):
    """One Telegram user. `language` is their own choice (/language); None follows Telegram.

    What the bot waits for from this user is kept here rather than in memory, so a
    conversation survives a restart and works whichever process gets the update.
    """

    __tablename__ = "accounts"

    id: Mapped[TelegramId] = mapped_column(primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8))
    # The Telegram app's language, for messages the bot sends on its own.
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The open question: "<conversation>.<step>" ("profile.name", "new.title"; see
    # handlers.conversation), then "#<message id>" once the message that put it is known,
    # and what the conversation has gathered so far.
    awaiting: Mapped[str | None] = mapped_column(String(QUESTION_MAX))
    draft: Mapped[dict[str, Any] | None]
    # The unit whose reporting link this user opened, until the report is sent.
    report_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="SET NULL")
    )


async def touch_account(
    session: AsyncSession, telegram_id: int, telegram_language: str | None = None
) -> Account:
    """Load the account, creating it on first contact."""
    account = await session.get(Account, telegram_id)
    now = utcnow()
    if account is None:
        account = await _create_account(session, telegram_id)
    elif now - account.last_seen_at > LAST_SEEN_PRECISION:
        account.last_seen_at = now
    if telegram_language and account.telegram_language != telegram_language[:16]:
        account.telegram_language = telegram_language[:16]
    await session.flush()
    return account


async def _create_account(session: AsyncSession, telegram_id: int) -> Account:
    """A new account, or the one another process created a moment ago: a person's first
    updates may reach two bots on one database, or two webhook workers, at once."""
    try:
        async with session.begin_nested():
            account = Account(id=telegram_id)
            session.add(account)
        return account
    except IntegrityError:
        return await session.get_one(Account, telegram_id)


async def chosen_language(session: AsyncSession, telegram_id: int) -> str | None:
    """The language this person chose (/language), if the bot knows them; nothing is
    created or changed (a group's updates: the bot keeps nothing about who speaks there)."""
    return await session.scalar(select(Account.language).where(Account.id == telegram_id))


async def languages(
    session: AsyncSession, telegram_ids: list[int]
) -> dict[int, tuple[str | None, str | None]]:
    """(chosen language, Telegram app language) of each known account."""
    found: dict[int, tuple[str | None, str | None]] = {}
    for ids in in_parts(list(dict.fromkeys(telegram_ids))):
        rows = await session.execute(
            select(Account.id, Account.language, Account.telegram_language).where(
                Account.id.in_(ids)
            )
        )
        found |= {account_id: (chosen, app) for account_id, chosen, app in rows}
    return found


async def set_language(session: AsyncSession, telegram_id: int, language: str) -> Account:
    account = await touch_account(session, telegram_id)
    account.language = language
    return account


async def get_question(
    session: AsyncSession, telegram_id: int
) -> tuple[str | None, dict[str, Any] | None]:
    """The open question and its conversation's data."""
    account = await touch_account(session, telegram_id)
    return account.awaiting, account.draft


async def set_question(
    session: AsyncSession, telegram_id: int, question: str, data: dict[str, Any]
) -> None:
    account = await touch_account(session, telegram_id)
    account.awaiting, account.draft = question, dict(data)


async def question_put(
    session: AsyncSession, telegram_id: int, question: str, message_id: int
) -> None:
    """The message that put the open question, `question` ("<conversation>.<step>"): kept
    with it unless the question has changed meanwhile, or is known already."""
    awaiting = f"{question}#{message_id}"
    if len(awaiting) <= QUESTION_MAX:
        await session.execute(
            update(Account)
            .where(Account.id == telegram_id, Account.awaiting == question)
            .values(awaiting=awaiting)
        )


async def close_question(session: AsyncSession, telegram_id: int) -> bool:
    """Nothing is asked any more; False when nothing was."""
    account = await touch_account(session, telegram_id)
    was_open = account.awaiting is not None
    account.awaiting, account.draft = None, None
    return was_open
