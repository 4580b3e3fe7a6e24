"""Runs before every other handler: knows who is talking and in which language."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from handlers.context import BotContext
from models import outbox
from models.account import chosen_language, touch_account
from models.members import read_account_and_member
from views.i18n import pick_language


async def load_account(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or user.is_bot:
        return
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        # In a group the bot keeps nothing about whoever speaks there (without privacy
        # mode that is everyone); it reads the language of someone it knows.
        chosen = await chosen_language(context.session, user.id)
    else:
        await read_account_and_member(context.session, user.id)
        chosen = (await touch_account(context.session, user.id, user.language_code)).language
    context.language = pick_language(chosen, user.language_code, context.services.defaults.language)


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
