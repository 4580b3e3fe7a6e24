"""Messages that are not commands: the answer to the open question, or a polite "what?"."""

from __future__ import annotations

from telegram import Update

from handlers import conversation
from handlers.common import unexpected_message
from handlers.context import BotContext


async def on_message(update: Update, context: BotContext) -> None:
    """Text, a shared contact or a location: for the open question, if there is one."""
    if not await conversation.answer(update, context):
        await unexpected_message(update, context)
