"""Typed answers: a text or contact goes to whatever question the bot last put.

The open question is `Account.awaiting` (see handlers.profile.ask): "name",
"phone", "member_type", "home_branch", "workplace", "consent", or "reject:<report>".
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers import common, profile, reporting
from handlers.ui import say
from models.account import touch_account

TEXT_STEPS = ("name", "home_branch", "workplace")
BUTTON_STEPS = ("consent", "member_type")


async def _awaiting(update: Update, context: BotContext) -> str | None:
    assert update.effective_user
    async with context.db() as session:
        return (await touch_account(session, update.effective_user.id)).awaiting


async def on_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message and message.text is not None
    awaiting = await _awaiting(update, context)
    if awaiting in TEXT_STEPS:
        await profile.save_text(update, context, awaiting, message.text)
    elif awaiting == "phone":
        await say(update, context, context.t("profile.use_phone_button"))
    elif awaiting in BUTTON_STEPS:
        await say(update, context, context.t("profile.use_buttons"))
        await profile.ask(update, context, awaiting)
    elif awaiting is not None and awaiting.startswith("reject:"):
        report_id = awaiting.removeprefix("reject:")
        if report_id.isdigit():
            await reporting.save_reject_reason(update, context, int(report_id), message.text)
    else:
        await common.unexpected_message(update, context)


async def on_contact(update: Update, context: BotContext) -> None:
    if await _awaiting(update, context) == "phone":
        await profile.save_contact(update, context)
    else:
        await common.unexpected_message(update, context)
