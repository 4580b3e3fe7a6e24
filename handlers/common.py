"""Commands everyone has: /help, /language, and replies to what the bot can't read (and
to a press on a list's page number)."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeChat, Update
from telegram.ext import Application

from handlers.context import SERVICES_KEY, BotContext
from handlers.ui import edit_or_say, say
from models.account import set_language
from models.permissions import roles_of
from views import i18n
from views.buttons import ChooseLanguage, PageShown, StaleButton, keyboard
from views.i18n import LANGUAGES

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
    "calendar": "command.calendar",
    "notices": "command.notices",
}
STAFF_COMMANDS = {
    "new": "command.new",
    "notify": "command.notify",
    "activities": "command.activities",
    "pending": "command.pending",
    "roster": "command.roster",
    "qr": "command.qr",
    "register": "command.register",
    "export": "command.export",
    "unreachable": "command.unreachable",
    "stats": "command.stats",
    "link": "command.link",
}
# The menu in group chats: only what the bot answers there (handlers.groups).
GROUP_MENU = {
    "help": "group.command.help",
    "link": "group.command.link",
    "unlink": "group.command.unlink",
}


def command_menu(language: str, staff: bool = False) -> list[BotCommand]:
    names = {**MEMBER_COMMANDS, **(STAFF_COMMANDS if staff else {})}
    return [BotCommand(name, i18n.t(language, key)) for name, key in names.items()]


async def refresh_menu(context: BotContext, telegram_id: int, language: str) -> None:
    """That chat's menu: its language, and the secretary's commands if they have a role."""
    staff = bool(await roles_of(context.session, telegram_id))
    menu = command_menu(language, staff)
    context.work.reply(
        lambda: context.bot.set_my_commands(menu, scope=BotCommandScopeChat(telegram_id))
    )


async def set_command_menus(application: Application) -> None:  # type: ignore[type-arg]
    """One menu per language, and the default language's for everyone else; in groups,
    the group's commands."""
    default = application.bot_data[SERVICES_KEY].defaults.language
    await application.bot.set_my_commands(command_menu(default))
    for language in LANGUAGES:
        await application.bot.set_my_commands(command_menu(language), language_code=language)
    groups = BotCommandScopeAllGroupChats()
    await application.bot.set_my_commands(group_menu(default), scope=groups)
    for language in LANGUAGES:
        await application.bot.set_my_commands(
            group_menu(language), scope=groups, language_code=language
        )


def group_menu(language: str) -> list[BotCommand]:
    return [BotCommand(name, i18n.t(language, key)) for name, key in GROUP_MENU.items()]


async def help_command(update: Update, context: BotContext) -> None:
    """What this user may do: the member's commands, and the secretary's if they have a role."""
    assert update.effective_user
    text = context.t("help.member")
    if await roles_of(context.session, update.effective_user.id):
        text += "\n\n" + context.t("help.staff")
        await refresh_menu(context, update.effective_user.id, context.language)
    say(update, context, text)


async def language_command(update: Update, context: BotContext) -> None:
    choices = [
        (("✓ " if code == context.language else "") + LANGUAGE_NAMES[code], ChooseLanguage(code))
        for code in LANGUAGES
    ]
    say(update, context, context.t("language.choose"), keyboard(choices))


async def language_chosen(update: Update, context: BotContext, press: ChooseLanguage) -> None:
    assert update.effective_user
    if press.code not in LANGUAGES:  # callback data is user input
        raise StaleButton(press.code)
    await set_language(context.session, update.effective_user.id, press.code)
    context.language = press.code
    # The menu follows the chosen language in this chat, whatever the app's language.
    await refresh_menu(context, update.effective_user.id, press.code)
    edit_or_say(update, context, context.t("language.set"))


async def page_shown(update: Update, context: BotContext, press: PageShown) -> None:
    """The page number under a list: pressing it does nothing (the press is answered)."""


async def unknown_command(update: Update, context: BotContext) -> None:
    say(update, context, context.t("error.unknown_command"))


async def unexpected_message(update: Update, context: BotContext) -> None:
    say(update, context, context.t("error.unexpected_message"))
