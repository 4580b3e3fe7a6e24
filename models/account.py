"""Telegram accounts that have talked to the bot, and their preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TelegramId, utcnow


class Account(Base):
    """One Telegram user. `language` is their own choice (/language); None follows Telegram."""

    __tablename__ = "accounts"

    id: Mapped[TelegramId] = mapped_column(primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


async def touch_account(session: AsyncSession, telegram_id: int) -> Account:
    """Load the account, creating it on first contact."""
    account = await session.get(Account, telegram_id)
    if account is None:
        account = Account(id=telegram_id)
        session.add(account)
    else:
        account.last_seen_at = utcnow()
    await session.flush()
    return account


async def set_language(session: AsyncSession, telegram_id: int, language: str) -> Account:
    account = await touch_account(session, telegram_id)
    account.language = language
    return account
