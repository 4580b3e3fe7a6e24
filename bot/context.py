"""The custom context every handler receives: services, the user's language, `t()`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import CallbackContext, ExtBot

from bot import i18n
from bot.config import Config
from models.db import SessionFactory
from scheduler.clock import Clock

SERVICES_KEY = "services"


def _nothing() -> None:
    pass


@dataclass
class Services:
    config: Config
    sessions: SessionFactory
    clock: Clock
    # Tells the outbox sender that rows were just committed (see scheduler.sender).
    wake_sender: Callable[[], None] = _nothing


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Set up per update by `handlers.account.load_account` (group -100)."""

    @property
    def language(self) -> str:
        # Kept in user_data so that the error handler's fresh context still knows it.
        if self.user_data is not None and "language" in self.user_data:
            return self.user_data["language"]
        return self.services.config.bot.language

    @language.setter
    def language(self, value: str) -> None:
        if self.user_data is not None:
            self.user_data["language"] = value

    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]

    def now(self) -> datetime:
        return self.services.clock.now()

    def t(self, key: str, **values: object) -> str:
        return i18n.t(self.language, key, **values)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """One session, one transaction: committed on success, rolled back on error."""
        async with self.services.sessions.begin() as session:
            yield session
        self.services.wake_sender()  # committed: whatever went to the outbox can go now
