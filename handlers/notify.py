"""Messages to people other than the one acting: written to the outbox, in the same
transaction as the change they announce, in the recipient's language."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.context import BotContext
from bot.i18n import pick_language, t
from models import outbox
from models.account import languages
from models.org import OrgUnit, unit_display_name, unit_timezone


async def language_of(context: BotContext, session: AsyncSession, telegram_id: int) -> str:
    chosen, app = (await languages(session, [telegram_id])).get(telegram_id, (None, None))
    return pick_language(chosen, app, context.services.config.bot.language)


async def notify(
    context: BotContext,
    session: AsyncSession,
    telegram_id: int | None,
    unit: OrgUnit,
    kind: str,
    render: Callable[[str], tuple[str, InlineKeyboardMarkup | None]],
    *,
    urgent: bool = False,
) -> None:
    """Queue one message; `render(language)` gives its text and buttons."""
    if telegram_id is None:  # a forgotten member
        return
    language = await language_of(context, session, telegram_id)
    text, markup = render(language)
    zone = await unit_timezone(session, unit, context.services.config.bot.timezone)
    await outbox.enqueue(
        session,
        telegram_id,
        text,
        kind=kind,
        due_at=context.now(),
        timezone=str(zone),
        urgent=urgent,
        reply_markup=markup.to_dict() if markup else None,
    )


def about_unit(key: str, unit: OrgUnit, **values: str) -> Callable[[str], tuple[str, None]]:
    """The common case: a catalog text naming the unit, without buttons."""

    def render(language: str) -> tuple[str, None]:
        return t(language, key, unit=escape(unit_display_name(unit, language)), **values), None

    return render
