"""签到屏幕: the secretary's check-in and check-out screens, opened from an activity in
/activities and shown on a phone or a projector at the venue.

The screen is a photo of a QR code that changes, with the live count
(models.attendance.screens, views.screens). The handler sends the first photo and
keeps its message id; from then on the scheduler edits it in place
(scheduler.jobs.refresh_screens), and Refresh now and Close are pressed on it.
"""

from __future__ import annotations

from telegram import Message, Update

from handlers.context import BotContext
from handlers.ui import edit_caption, edit_photo, send_file
from models.activities import get_activity
from models.attendance import (
    ScreenPurpose,
    close_screen,
    managed_screen,
    mark_refreshed,
    new_code,
    open_screen,
    screen_count,
    screen_shown,
)
from views.buttons import CloseScreen, OpenScreen, RefreshScreen
from views.screens import (
    closed_caption,
    screen_caption,
    screen_keyboard,
    screen_media,
    screen_photo,
)


async def open_pressed(update: Update, context: BotContext, press: OpenScreen) -> None:
    """A new screen in the secretary's chat (one there replaces the last of its kind)."""
    assert update.effective_user
    me = update.effective_user.id
    purpose = ScreenPurpose.check_out if press.check_out else ScreenPurpose.check_in
    services = context.services
    opened = await open_screen(
        context.session,
        me,
        press.activity_id,
        purpose,
        me,
        context.now(),
        services.check_in_secret,
        services.qr_seconds,
    )
    activity, language = opened.activity, context.language
    for old in opened.replaced:
        if old.message_id is not None:
            caption = closed_caption(
                language, activity, purpose, opened.count, opened.of, ended=False
            )
            edit_caption(context, old.chat_id, old.message_id, caption)
    screen_id = opened.screen.id

    async def shown(message: Message) -> None:  # after the commit: a transaction of its own
        async with services.sessions.begin() as session:
            await screen_shown(session, screen_id, message.message_id)

    send_file(
        update,
        context,
        screen_photo(context.bot.username, opened.token),
        f"{purpose.value.replace('_', '-')}-{activity.id}.png",
        screen_caption(language, activity, purpose, opened.count, opened.of, services.qr_seconds),
        photo=True,
        markup=screen_keyboard(language, screen_id),
        sent=shown,
    )


async def refresh_pressed(update: Update, context: BotContext, press: RefreshScreen) -> str:
    """A new code at once (a phone that slept, a code someone photographed)."""
    assert update.effective_user
    screen, activity = await managed_screen(
        context.session, update.effective_user.id, press.screen_id
    )
    services = context.services
    count, of = await screen_count(context.session, activity, screen.purpose)
    code = new_code(
        services.check_in_secret, activity.id, screen.purpose, context.now(), services.qr_seconds
    )
    await mark_refreshed(context.session, screen.id, count, code)
    if screen.message_id is not None:
        caption = screen_caption(
            context.language, activity, screen.purpose, count, of, services.qr_seconds
        )
        media = screen_media(context.bot.username, code.token, caption)
        markup = screen_keyboard(context.language, screen.id)
        edit_photo(context, screen.chat_id, screen.message_id, media, markup)
    return context.t("screen.refreshed")


async def close_pressed(update: Update, context: BotContext, press: CloseScreen) -> str:
    assert update.effective_user
    screen = await close_screen(
        context.session, press.screen_id, context.now(), by=update.effective_user.id
    )
    activity = await get_activity(context.session, screen.activity_id)
    count, of = await screen_count(context.session, activity, screen.purpose)
    if screen.message_id is not None:
        caption = closed_caption(context.language, activity, screen.purpose, count, of, ended=False)
        edit_caption(context, screen.chat_id, screen.message_id, caption)
    return context.t("screen.closed")
