"""Runs before every other handler: knows who is talking and in which language."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import pick_language
from models.account import touch_account


async def load_account(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or user.is_bot:
        return
    async with context.db() as session:
        account = await touch_account(session, user.id, user.language_code)
        chosen = account.language
    context.language = pick_language(
        chosen, user.language_code, context.services.config.bot.language
    )
