"""The Telegram side: one module per feature, all wired up in `register`."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import (
    account,
    activities,
    callbacks,
    common,
    errors,
    input,
    organize,
    profile,
    reporting,
    staff,
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(TypeHandler(Update, account.load_account), group=-100)
    application.add_handler(
        ChatMemberHandler(account.blocked_or_unblocked, ChatMemberHandler.MY_CHAT_MEMBER)
    )

    private = filters.ChatType.PRIVATE
    commands = {
        "start": profile.start,
        "help": common.help_command,
        "language": common.language_command,
        "cancel": profile.cancel,
        "me": profile.show_me,
        "mydata": profile.my_data,
        "forget": profile.forget_command,
        "events": activities.events_command,
        "record": activities.record_command,
        "pending": reporting.pending_command,
        "qr": reporting.qr_command,
        "roster": staff.roster_command,
        "register": staff.register_command,
        "unreachable": staff.unreachable_command,
        "new": organize.new_command,
        "activities": organize.activities_command,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=private))

    presses = {
        "lang": common.language_chosen,
        profile.PREFIX: profile.on_press,
        "fgt": profile.forget_pressed,
        reporting.PREFIX: reporting.on_press,
        staff.PREFIX: staff.on_press,
        activities.PREFIX: activities.on_press,
        activities.LEAVE_PREFIX: activities.on_leave_press,
        organize.PREFIX: organize.on_press,
    }
    for prefix, callback in presses.items():
        application.add_handler(CallbackQueryHandler(callback, pattern=callbacks.pattern(prefix)))

    application.add_handler(MessageHandler(private & filters.CONTACT, input.on_contact))
    application.add_handler(MessageHandler(private & filters.LOCATION, input.on_location))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, input.on_text)
    )
    # Last: whatever nothing above understood, in a private chat.
    application.add_handler(MessageHandler(private & filters.COMMAND, common.unknown_command))
    application.add_handler(MessageHandler(private, common.unexpected_message))
    application.add_handler(CallbackQueryHandler(common.stale_button))
    application.add_error_handler(errors.on_error)
