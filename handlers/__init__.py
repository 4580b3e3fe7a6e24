"""The Telegram side: one module per feature, all wired up in `register`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import account, common, errors


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, account.load_account), group=-100)

    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", common.start, filters=private))
    application.add_handler(CommandHandler("help", common.help_command))
    application.add_handler(CommandHandler("language", common.language_command))
    application.add_handler(CallbackQueryHandler(common.language_chosen, pattern=r"^lang:"))

    # Last: whatever nothing above understood, in a private chat.
    application.add_handler(MessageHandler(private & filters.COMMAND, common.unknown_command))
    application.add_handler(MessageHandler(private & ~filters.COMMAND, common.unexpected_message))
    application.add_handler(CallbackQueryHandler(common.stale_button))
    application.add_error_handler(errors.on_error)
