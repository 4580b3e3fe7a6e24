"""The one error handler: the log gets the traceback, the user gets an apology."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    # Only the id: an update's contents can hold phone numbers.
    log.error("handler failed for update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, context.t("error.apology"))
    except TelegramError:
        log.warning("could not apologise for update %s", update_id, exc_info=True)
