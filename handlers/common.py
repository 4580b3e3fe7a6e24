"""Commands everyone has: /start, /help, /language, and replies to what the bot can't read."""

from __future__ import annotations

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import Application

from bot import i18n
from bot.config import LANGUAGES
from bot.context import BotContext
from models.account import set_language
from models.permissions import roles_of

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
# Command → its catalog key; literal keys so that the catalog test sees them.
MEMBER_COMMANDS = {
    "start": "command.start",
    "me": "command.me",
    "help": "command.help",
    "language": "command.language",
    "cancel": "command.cancel",
    "mydata": "command.mydata",
    "forget": "command.forget",
    "events": "command.events",
    "record": "command.record",
}
STAFF_COMMANDS = {
    "new": "command.new",
    "activities": "command.activities",
    "pending": "command.pending",
    "roster": "command.roster",
    "qr": "command.qr",
    "register": "command.register",
    "unreachable": "command.unreachable",
}


def command_menu(language: str, staff: bool = False) -> list[BotCommand]:
    names = {**MEMBER_COMMANDS, **(STAFF_COMMANDS if staff else {})}
    return [BotCommand(name, i18n.t(language, key)) for name, key in names.items()]


async def is_staff(context: BotContext, telegram_id: int) -> bool:
    async with context.db() as session:
        return bool(await roles_of(session, telegram_id))


async def refresh_menu(context: BotContext, telegram_id: int, language: str) -> None:
    """This chat's menu: the user's language, and the secretary's commands if they have a role."""
    staff = await is_staff(context, telegram_id)
    await context.bot.set_my_commands(
        command_menu(language, staff), scope=BotCommandScopeChat(telegram_id)
    )


async def set_command_menus(application: Application) -> None:  # type: ignore[type-arg]
    """One menu per language, and the default language's for everyone else."""
    default = application.bot_data["services"].config.bot.language
    await application.bot.set_my_commands(command_menu(default))
    for language in LANGUAGES:
        await application.bot.set_my_commands(command_menu(language), language_code=language)


async def help_command(update: Update, context: BotContext) -> None:
    """What this user may do: the member's commands, and the secretary's if they have a role."""
    assert update.effective_message and update.effective_user
    text = context.t("help.member")
    if await is_staff(context, update.effective_user.id):
        text += "\n\n" + context.t("help.staff")
        await refresh_menu(context, update.effective_user.id, context.language)
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def language_command(update: Update, context: BotContext) -> None:
    assert update.effective_message
    buttons = [
        InlineKeyboardButton(
            ("✓ " if code == context.language else "") + LANGUAGE_NAMES[code],
            callback_data=f"lang:{code}",
        )
        for code in LANGUAGES
    ]
    await update.effective_message.reply_text(
        context.t("language.choose"), reply_markup=InlineKeyboardMarkup([buttons])
    )


async def language_chosen(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query and query.data and update.effective_user
    code = query.data.removeprefix("lang:")
    if code not in LANGUAGES:  # callback data is user input
        await query.answer(context.t("error.stale_button"), show_alert=True)
        return
    async with context.db() as session:
        await set_language(session, update.effective_user.id, code)
    context.language = code
    await query.answer()
    # The menu follows the chosen language in this chat, whatever the app's language.
    await refresh_menu(context, update.effective_user.id, code)
    await query.edit_message_text(context.t("language.set"))


async def unknown_command(update: Update, context: BotContext) -> None:
    assert update.effective_message
    await update.effective_message.reply_text(context.t("error.unknown_command"))


async def unexpected_message(update: Update, context: BotContext) -> None:
    assert update.effective_message
    await update.effective_message.reply_text(context.t("error.unexpected_message"))


async def stale_button(update: Update, context: BotContext) -> None:
    """A button whose meaning is gone (an old version's, or forged)."""
    assert update.callback_query
    await update.callback_query.answer(context.t("error.stale_button"), show_alert=True)
