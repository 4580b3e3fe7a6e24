"""Runs before every other handler: knows who is talking and in which language."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.context import BotContext
from bot.i18n import pick_language
from models import outbox
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


async def blocked_or_unblocked(update: Update, context: BotContext) -> None:
    """Telegram tells us when a user blocks or unblocks the bot (my_chat_member)."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    async with context.db() as session:
        if change.new_chat_member.status == ChatMemberStatus.BANNED:
            await outbox.mark_unreachable(
                session, change.chat.id, context.now(), "blocked the bot (my_chat_member)"
            )
        elif change.new_chat_member.status == ChatMemberStatus.MEMBER:
            await outbox.mark_reachable(session, change.chat.id)
