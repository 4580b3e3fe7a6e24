"""Runs before every other handler: knows who is talking and in which language."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from handlers.context import BotContext
from models import outbox
from models.account import touch_account
from views.i18n import pick_language


async def load_account(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or user.is_bot:
        return
    account = await touch_account(context.session, user.id, user.language_code)
    context.language = pick_language(
        account.language, user.language_code, context.services.defaults.language
    )


async def blocked_or_unblocked(update: Update, context: BotContext) -> None:
    """Telegram tells us when a user blocks or unblocks the bot (my_chat_member)."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    if change.new_chat_member.status == ChatMemberStatus.BANNED:
        await outbox.mark_unreachable(
            context.session, change.chat.id, context.now(), "blocked the bot (my_chat_member)"
        )
    elif change.new_chat_member.status == ChatMemberStatus.MEMBER:
        await outbox.mark_reachable(context.session, change.chat.id)
