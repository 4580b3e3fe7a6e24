"""Incoming updates, written down before Telegram is told they arrived.

Both polling and the webhook store an update here before acknowledging it, so a
crash loses nothing: unprocessed rows are handled on the next start. The
update_id primary key makes a repeated delivery a no-op.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TelegramId, utcnow


class InboundUpdate(Base):
    __tablename__ = "inbound_updates"

    update_id: Mapped[TelegramId] = mapped_column(primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(index=True)


async def store_update(session: AsyncSession, payload: dict[str, Any]) -> bool:
    """Record an update; False when this update_id was seen before."""
    try:
        async with session.begin_nested():
            session.add(InboundUpdate(update_id=payload["update_id"], payload=payload))
    except IntegrityError:
        return False
    return True


async def mark_processed(session: AsyncSession, update_id: int) -> None:
    await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id)
        .values(processed_at=utcnow())
    )


async def unprocessed(session: AsyncSession, limit: int = 100) -> list[InboundUpdate]:
    rows = await session.scalars(
        select(InboundUpdate)
        .where(InboundUpdate.processed_at.is_(None))
        .order_by(InboundUpdate.update_id)
        .limit(limit)
    )
    return list(rows)


async def last_update_id(session: AsyncSession) -> int | None:
    """The highest update id stored (the sandbox's emulator must go on above it)."""
    return await session.scalar(select(func.max(InboundUpdate.update_id)))


async def prune(session: AsyncSession, older_than: timedelta = timedelta(days=7)) -> int:
    """Forget processed updates once a repeat delivery is no longer plausible."""
    result = await session.execute(
        delete(InboundUpdate).where(InboundUpdate.processed_at < utcnow() - older_than)
    )
    return result.rowcount or 0
