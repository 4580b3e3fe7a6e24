"""Notices (通知) once sent: members press Received (收到), /notices lists them, and those
who sent them follow them up (live figures, who has not acknowledged, Remind, the
acknowledgement sheet, withdrawing). Composing one is handlers.notify.
"""

from __future__ import annotations

from datetime import datetime
from html import escape, unescape

from telegram import InlineKeyboardMarkup, Message, Update

from handlers.context import BotContext
from handlers.ui import (
    edit_buttons,
    edit_or_say,
    page_title,
    say,
    send_file,
    send_media,
    show,
)
from models.errors import InvalidState
from models.notices import (
    Notice,
    acknowledge,
    acknowledgement_sheet,
    figures_shown,
    get_notice,
    managed_notice,
    not_acknowledged_page,
    notice_figures,
    notices_page,
    open_figures,
    recipient_of,
    remind,
    withdraw_notice,
)
from models.notices import figures_of as notice_figures_of
from models.org import get_unit, unit_display_name
from models.outbox import DeliveryStatus
from models.permissions import Permission, can
from views.buttons import (
    AckNotice,
    AskWithdraw,
    KeepNotice,
    NoticeFigures,
    NoticeSheet,
    NoticesPage,
    OpenNotice,
    RefreshFigures,
    RemindNotice,
    SilentPage,
    WithdrawNotice,
    keyboard,
    pager,
    pager_keyboard,
    short,
)
from views.dates import format_when
from views.files import spreadsheet
from views.labels import DELIVERY_STATUS_KEYS
from views.notices import (
    figures_keyboard,
    figures_text,
    notice_excerpt,
    notice_text,
    number,
    received_keyboard,
    status_of,
)

NOTICES_PAGE = 8
SILENT_PAGE = 30


def plain_excerpt(notice: Notice) -> str:
    return unescape(notice_excerpt(notice))


def send_copy(
    update: Update,
    context: BotContext,
    notice: Notice,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """A notice in the person's chat: a message, or its photo or document with the text as
    the caption (as the outbox sends it)."""
    if notice.attachment_kind is not None and notice.attachment_file_id is not None:
        send_media(
            update, context, notice.attachment_kind.value, notice.attachment_file_id, text, markup
        )
    else:
        say(update, context, text, markup)


# --- receiving ------------------------------------------------------------------------------


async def ack_pressed(update: Update, context: BotContext, press: AckNotice) -> str:
    """Received (收到): recorded at once; the button then shows when."""
    assert update.effective_user
    done = await acknowledge(
        context.session, update.effective_user.id, press.notice_id, context.now()
    )
    zone = await context.unit_zone(done.notice.org_unit_id)
    acknowledged_at = done.recipient.acknowledged_at
    assert acknowledged_at is not None
    query = update.callback_query
    if (
        query is not None
        and query.message is not None
        and query.message.chat.id == update.effective_user.id
    ):
        edit_buttons(
            update, context, received_keyboard(context.language, done.notice, acknowledged_at, zone)
        )
    when = format_when(acknowledged_at.astimezone(zone), context.language)
    if done.already:
        return context.t("notice.already_acknowledged", when=when)
    return context.t("notice.acknowledged")


async def notices_command(update: Update, context: BotContext) -> None:
    await _show_notices(update, context, 1)


async def notices_page_pressed(update: Update, context: BotContext, press: NoticesPage) -> None:
    await _show_notices(update, context, press.page)


async def _show_notices(update: Update, context: BotContext, page_number: int) -> None:
    assert update.effective_user
    me = update.effective_user.id
    page = await notices_page(context.session, me, page_number, NOTICES_PAGE)
    if not page.total:
        show(update, context, context.t("notices.none"))
        return
    managed = [item.notice.id for item in page.items if item.manages]
    figures = await notice_figures_of(context.session, managed)
    units = {
        unit_id: await get_unit(context.session, unit_id)
        for unit_id in {item.notice.org_unit_id for item in page.items}
    }
    lines = [page_title(context, context.t("notices.title", count=page.total), page)]
    buttons = []
    for number_, item in enumerate(page.items, start=page.offset + 1):
        notice = item.notice
        unit = units[notice.org_unit_id]
        zone = await context.zone(unit)
        state = status_of(context.language, notice, item.recipient, figures.get(notice.id))
        lines.append(
            context.t(
                "notices.line",
                number=number_,
                when=f"{notice.send_at.astimezone(zone):%m-%d %H:%M}",
                unit=escape(unit_display_name(unit, context.language)),
                excerpt=notice_excerpt(notice),
                state=state,
            )
        )
        buttons.append([(short(f"{number_}. {plain_excerpt(notice)}"), OpenNotice(notice.id))])
    markup = keyboard(*buttons, pager(page, NoticesPage))
    show(update, context, "\n".join(lines), markup)


async def notice_opened(update: Update, context: BotContext, press: OpenNotice) -> None:
    """From /notices: its figures for those managing it, else the member's own copy."""
    assert update.effective_user
    me = update.effective_user.id
    notice = await get_notice(context.session, press.notice_id)
    if await can(context.session, me, Permission.broadcast, notice.org_unit_id):
        await open_figures_message(update, context, notice.id)
        return
    notice, recipient, _ = await recipient_of(context.session, me, notice.id)
    if notice.withdrawn_at is not None:
        raise InvalidState("notice.withdrawn")
    unit = await get_unit(context.session, notice.org_unit_id)
    zone = await context.zone(unit)
    text = notice_text(notice, unit, context.language, zone)
    markup = received_keyboard(context.language, notice, recipient.acknowledged_at, zone)
    send_copy(update, context, notice, text, markup)


# --- following up ----------------------------------------------------------------------------


async def open_figures_message(update: Update, context: BotContext, notice_id: int) -> None:
    """A new live figures message; the scheduler keeps it up to date."""
    assert update.effective_user
    me = update.effective_user.id
    notice, figures, watch = await open_figures(
        context.session, me, notice_id, context.language, context.now()
    )
    unit = await get_unit(context.session, notice.org_unit_id)
    zone = await context.zone(unit)
    text = figures_text(notice, unit, figures, context.language, zone, context.now())
    sessions, watch_id = context.services.sessions, watch.id

    async def shown(message: Message) -> None:  # after the commit: a transaction of its own
        async with sessions.begin() as session:
            await figures_shown(session, watch_id, message.message_id)

    say(update, context, text, figures_keyboard(context.language, notice, figures), sent=shown)


async def figures_pressed(update: Update, context: BotContext, press: NoticeFigures) -> None:
    await open_figures_message(update, context, press.notice_id)


async def refresh_pressed(update: Update, context: BotContext, press: RefreshFigures) -> str:
    assert update.effective_user
    notice = await managed_notice(context.session, update.effective_user.id, press.notice_id)
    await _edit_figures(update, context, notice)
    return context.t("figures.refreshed")


async def _edit_figures(update: Update, context: BotContext, notice: Notice) -> None:
    figures = await notice_figures(context.session, notice.id)
    unit = await get_unit(context.session, notice.org_unit_id)
    zone = await context.zone(unit)
    text = figures_text(notice, unit, figures, context.language, zone, context.now())
    edit_or_say(update, context, text, figures_keyboard(context.language, notice, figures))


async def silent_pressed(update: Update, context: BotContext, press: SilentPage) -> None:
    """Who has not acknowledged, a page at a time (page 0: the first, as a new message)."""
    assert update.effective_user
    notice, page = await not_acknowledged_page(
        context.session, update.effective_user.id, press.notice_id, max(press.page, 1), SILENT_PAGE
    )
    title = context.t(
        "figures.silent_title",
        count=number(page.total, context.language),
        excerpt=notice_excerpt(notice),
    )
    lines = [page_title(context, title, page)]
    for number_, silent in enumerate(page.items, start=page.offset + 1):
        name = escape(silent.member.real_name or "—")
        note = ""
        if silent.status is DeliveryStatus.unreachable:
            note = context.t("figures.silent_blocked")
        elif silent.status in (DeliveryStatus.pending, DeliveryStatus.sending, None):
            note = context.t("figures.silent_queued")
        elif silent.status in (DeliveryStatus.failed, DeliveryStatus.expired):
            note = context.t("figures.silent_failed")
        lines.append(f"{number_}. {name}{note}")
    if not page.total:
        lines.append(context.t("figures.silent_none"))
    markup = pager_keyboard(page, lambda n: SilentPage(notice.id, n))
    text = "\n".join(lines)
    if press.page == 0:
        say(update, context, text, markup)
    else:
        edit_or_say(update, context, text, markup)


async def remind_pressed(update: Update, context: BotContext, press: RemindNotice) -> str:
    assert update.effective_user
    count = await remind(
        context.session,
        update.effective_user.id,
        press.notice_id,
        context.now(),
        context.services.remind_every,
    )
    return context.t("figures.reminded", count=number(count, context.language))


async def sheet_pressed(update: Update, context: BotContext, press: NoticeSheet) -> None:
    """The acknowledgement sheet (签阅表): name, unit, delivered at, acknowledged at."""
    assert update.effective_user
    notice, rows = await acknowledgement_sheet(
        context.session, update.effective_user.id, press.notice_id, context.language
    )
    unit = await get_unit(context.session, notice.org_unit_id)
    zone = await context.zone(unit)

    def local(moment: datetime | None) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment else ""

    headers = [
        context.t(f"sheet.{column}")
        for column in ("name", "unit", "delivered", "acknowledged", "status")
    ]
    body = spreadsheet(
        context.t("sheet.title"),
        headers,
        [
            [
                row.name,
                row.unit,
                local(row.delivered_at),
                local(row.acknowledged_at),
                _status_label(context, row.status),
            ]
            for row in rows
        ],
    )
    day = f"{context.now().astimezone(zone):%Y%m%d}"
    caption = context.t("sheet.caption", excerpt=notice_excerpt(notice), count=len(rows))
    send_file(update, context, body, f"notice-{notice.id}-acknowledgements-{day}.xlsx", caption)


def _status_label(context: BotContext, status: DeliveryStatus | None) -> str:
    return (
        context.t(DELIVERY_STATUS_KEYS[status])
        if status is not None
        else context.t("sheet.status_queued")
    )


async def ask_withdraw(update: Update, context: BotContext, press: AskWithdraw) -> None:
    assert update.effective_user
    notice = await managed_notice(context.session, update.effective_user.id, press.notice_id)
    if notice.withdrawn_at is not None:
        raise InvalidState("notice.withdrawn")
    key = "figures.withdraw_scheduled_ask" if notice.sent_at is None else "figures.withdraw_ask"
    markup = keyboard(
        [
            (context.t("figures.withdraw_yes"), WithdrawNotice(notice.id)),
            (context.t("figures.withdraw_no"), KeepNotice(notice.id)),
        ]
    )
    say(update, context, context.t(key, excerpt=notice_excerpt(notice)), markup)


async def withdraw_pressed(update: Update, context: BotContext, press: WithdrawNotice) -> None:
    assert update.effective_user
    notice = await withdraw_notice(
        context.session, update.effective_user.id, press.notice_id, context.now()
    )
    edit_or_say(
        update, context, context.t("figures.withdrawn_done", excerpt=notice_excerpt(notice))
    )


async def keep_pressed(update: Update, context: BotContext, press: KeepNotice) -> None:
    assert update.effective_user
    notice = await managed_notice(context.session, update.effective_user.id, press.notice_id)
    edit_or_say(update, context, context.t("figures.kept", excerpt=notice_excerpt(notice)))
