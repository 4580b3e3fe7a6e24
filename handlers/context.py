"""The context every handler receives: the update's unit of work, the user's language, `t()`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import CallbackContext, ExtBot

from handlers.work import Work, current_work
from models.activities import Activity
from models.db import SessionFactory
from models.org import OrgUnit, unit_timezone, zone_of_unit
from views import i18n
from views.files import deep_link
from views.i18n import Defaults

SERVICES_KEY = "services"


class Clock(Protocol):
    def now(self) -> datetime: ...


def _nothing() -> None:
    pass


@dataclass
class Services:
    """What the handlers are given by the assembly (bot.app)."""

    defaults: Defaults
    sessions: SessionFactory
    clock: Clock
    bot_id: int  # whose updates these are (models.inbox)
    # Signs the check-in screens' QR codes (models.attendance.tokens); from [checkin].
    check_in_secret: str = ""
    qr_seconds: int = 60
    # A notice's Remind goes again only after this (from [notices]).
    remind_every: timedelta = timedelta(hours=6)
    # Non-urgent messages wait for their end (from [scheduler]): the preview says so.
    quiet_hours: tuple[time, time] = (time(22), time(8))
    # Tells the outbox sender that rows were just committed (see scheduler.sender).
    wake_sender: Callable[[], None] = _nothing


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        return self.application.bot_data[SERVICES_KEY]

    @property
    def work(self) -> Work:
        return current_work()

    @property
    def session(self) -> AsyncSession:
        """The update's one session and transaction (see handlers.work)."""
        return self.work.session

    @property
    def language(self) -> str:
        return self.work.language or self.services.defaults.language

    @language.setter
    def language(self, value: str) -> None:
        self.work.language = value

    def now(self) -> datetime:
        return self.services.clock.now()

    def t(self, key: str, **values: object) -> str:
        return i18n.t(self.language, key, **values)

    async def zone(self, unit: OrgUnit) -> ZoneInfo:
        """The unit's time zone (its own, or the nearest unit's above, or the default)."""
        return await unit_timezone(self.session, unit, self.services.defaults.timezone)

    def today(self, zone: ZoneInfo) -> date:
        """Today's date in this zone (a unit's: a period's presets, and its checks)."""
        return self.now().astimezone(zone).date()

    async def unit_zone(self, unit_id: int) -> ZoneInfo:
        """The time zone of the unit with this id (a conversation's chosen unit)."""
        return await zone_of_unit(self.session, unit_id, self.services.defaults.timezone)

    async def activity_zone(self, activity: Activity) -> ZoneInfo:
        """The time zone an activity is shown in: its unit's."""
        return await self.unit_zone(activity.org_unit_id)

    def link(self, payload: str) -> str:
        """A t.me link that opens this bot with /start `payload`."""
        return deep_link(self.bot.username, payload)
