"""/notify: a notice (通知) composed in one conversation (NOTIFY below): the unit, the
text with the author's own formatting (bold, italic, links as typed) and optionally a
photo or document, the audience, acknowledgement and its deadline, then a preview that is
the notice exactly as members will read it, with Send now and Schedule under it. The
domain (models.notices) checks each answer and the whole draft again when it is sent.
What follows the sending (Received, /notices, the figures) is handlers.notices.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update

from handlers.context import BotContext
from handlers.conversation import Conversation, Data, State, Step
from handlers.notices import open_figures_message, plain_excerpt, send_copy
from handlers.notify_draft import as_notice, attachment_of, choice_of, draft_of, html_of
from handlers.picker import date_picker, typed_moment
from handlers.ui import (
    edit_buttons,
    edit_or_say,
    say,
)
from models.errors import InvalidInput
from models.notices import (
    ABOUT_ACTIVITY,
    Audience,
    activities_to_address,
    audience_size,
    check_attachment,
    check_deadline,
    check_draft,
    check_send_at,
    clean_body,
    create_notice,
    earlier_notices,
    linked_group,
)
from models.org import descendant_ids, get_unit, unit_display_name
from models.permissions import Permission
from models.quiet import quiet_until
from models.staff import staff_unit, staff_units
from views.activities import kind_title, list_label
from views.buttons import (
    DiscardNotice,
    EarlierNotice,
    EarlierNotices,
    NoticeActivities,
    NoticeActivity,
    NoticeAudience,
    NoticeDeadlineIn,
    NoticeFigures,
    NoticeOption,
    NoticeOptionsDone,
    NoticeUnit,
    NoticeUnits,
    PreviewReceived,
    ScheduleNotice,
    SendNotice,
    SkipAttachment,
    StaleButton,
    choice_keyboard,
    keyboard,
    short,
)
from views.dates import format_when, next_weekday, typed_spoken
from views.notices import (
    notice_text,
    number,
    received_keyboard,
)

AUDIENCES = tuple(Audience)
AUDIENCE_KEYS = {
    Audience.unit: "notify.audience.unit",
    Audience.unit_tree: "notify.audience.unit_tree",
    Audience.floating: "notify.audience.floating",
    Audience.activity: "notify.audience.activity",
    Audience.activity_absent: "notify.audience.activity_absent",
    Audience.not_acknowledged: "notify.audience.not_acknowledged",
}
# Deadlines offered: 18:00 (the unit's time) that many days from today; 0: none.
DEADLINES = (0, 1, 3, 7)
DEADLINE_KEYS = {
    0: "notify.deadline_none",
    1: "notify.deadline_day",
    3: "notify.deadline_3days",
    7: "notify.deadline_week",
}
DEADLINE_HOUR = time(18)
# The days and time of the examples in the questions of the deadline and the sending time.
MONDAY, FRIDAY = 0, 4
SEND_EXAMPLE_TIME = time(9)


async def notify_command(update: Update, context: BotContext) -> None:
    """/notify: a notice to the members of one of the units one may broadcast to."""
    assert update.effective_user
    units = await staff_units(context.session, update.effective_user.id, Permission.broadcast)
    if len(units) == 1:
        await NOTIFY.ask(update, context, "text", {"unit_id": units[0].id})
    else:
        await NOTIFY.ask(update, context, "unit")


# --- the questions ------------------------------------------------------------------------


async def ask_unit(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("notify.ask_unit"), await _unit_choices(update, context, 1))


async def _unit_choices(update: Update, context: BotContext, page: int) -> InlineKeyboardMarkup:
    assert update.effective_user
    units = await staff_units(context.session, update.effective_user.id, Permission.broadcast)
    options = [(unit_display_name(u, context.language), NoticeUnit(u.id)) for u in units]
    return choice_keyboard(options, page, NoticeUnits)


async def ask_text(update: Update, context: BotContext, state: State) -> None:
    key = "notify.ask_text_for_file" if "attachment" in state.data else "notify.ask_text"
    say(update, context, context.t(key))


async def ask_attachment(update: Update, context: BotContext, state: State) -> None:
    skip = keyboard([(context.t("notify.no_attachment"), SkipAttachment())])
    say(update, context, context.t("notify.ask_attachment"), skip)


async def ask_audience(update: Update, context: BotContext, state: State) -> None:
    unit = await get_unit(context.session, state.data["unit_id"])
    has_below = len(await descendant_ids(context.session, unit.id)) > 1
    rows = [
        [(context.t(AUDIENCE_KEYS[audience]), NoticeAudience(index))]
        for index, audience in enumerate(AUDIENCES)
        if audience is not Audience.unit_tree or has_below
    ]
    name = escape(unit_display_name(unit, context.language))
    say(update, context, context.t("notify.ask_audience", unit=name), keyboard(*rows))


async def ask_activity(update: Update, context: BotContext, state: State) -> None:
    markup = await _activity_choices(update, context, state, 1)
    absent = state.data["audience"] == Audience.activity_absent
    key = "notify.ask_activity_absent" if absent else "notify.ask_activity"
    say(update, context, context.t(key), markup)


async def _activity_choices(
    update: Update, context: BotContext, state: State, page: int
) -> InlineKeyboardMarkup:
    assert update.effective_user
    absent = state.data["audience"] == Audience.activity_absent
    activities = await activities_to_address(
        context.session,
        update.effective_user.id,
        state.data["unit_id"],
        context.now(),
        absent=absent,
    )
    if not activities:
        raise InvalidInput("audience", "notice.no_activities")
    zone = await context.unit_zone(state.data["unit_id"])
    lang = context.language
    options = [
        (
            list_label(a.starts_at.astimezone(zone), kind_title(a.kind, a.title, lang), lang),
            NoticeActivity(a.id),
        )
        for a in activities
    ]
    return choice_keyboard(options, page, NoticeActivities)


async def ask_earlier(update: Update, context: BotContext, state: State) -> None:
    say(
        update,
        context,
        context.t("notify.ask_earlier"),
        await _earlier_choices(update, context, state, 1),
    )


async def _earlier_choices(
    update: Update, context: BotContext, state: State, page: int
) -> InlineKeyboardMarkup:
    assert update.effective_user
    notices = await earlier_notices(
        context.session, update.effective_user.id, state.data["unit_id"]
    )
    if not notices:
        raise InvalidInput("audience", "notice.no_earlier")
    zone = await context.unit_zone(state.data["unit_id"])
    options = [
        (f"{n.send_at.astimezone(zone):%m-%d} {plain_excerpt(n)}", EarlierNotice(n.id))
        for n in notices
    ]
    return choice_keyboard(options, page, EarlierNotices)


async def ask_options(update: Update, context: BotContext, state: State) -> None:
    text, markup = await _options_screen(context, state.data)
    say(update, context, text, markup)


async def _options_screen(context: BotContext, data: Data) -> tuple[str, InlineKeyboardMarkup]:
    ack = data.get("ack", True)
    rows = [[(("✅ " if ack else "⬜ ") + context.t("notify.option_ack"), NoticeOption("ack"))]]
    group = await linked_group(context.session, data["unit_id"])
    if group is not None:
        on = data.get("group", False)
        label = ("✅ " if on else "⬜ ") + context.t("notify.option_group", group=group.title)
        rows.append([(short(label), NoticeOption("group"))])
    rows.append([(context.t("notify.options_done"), NoticeOptionsDone())])
    return context.t("notify.ask_options"), keyboard(*rows)


async def ask_deadline(update: Update, context: BotContext, state: State) -> None:
    rows = [[(context.t(DEADLINE_KEYS[days]), NoticeDeadlineIn(days))] for days in DEADLINES]
    today = context.today(await context.unit_zone(state.data["unit_id"]))
    # The example: the coming Friday's end of the day, typed as people type it.
    example = typed_spoken(next_weekday(today, FRIDAY), DEADLINE_HOUR, context.language)
    say(update, context, context.t("notify.ask_deadline", example=example), keyboard(*rows))


async def ask_schedule(update: Update, context: BotContext, state: State) -> None:
    zone = await context.unit_zone(state.data["unit_id"])
    today = context.today(zone)
    # The example: the coming Monday morning, typed as people type it.
    example = typed_spoken(next_weekday(today, MONDAY), SEND_EXAMPLE_TIME, context.language)
    question = context.t("notify.ask_schedule", example=example)
    say(update, context, question, date_picker(context, today))


async def ask_preview(update: Update, context: BotContext, state: State) -> None:
    """What will be sent to whom: a summary, then the notice as members will read it, with
    Send now, Schedule and Discard under it."""
    assert update.effective_user
    me = update.effective_user.id
    draft = draft_of(state.data)
    size = await check_draft(context.session, me, draft, context.now())
    unit = await get_unit(context.session, draft.unit_id)
    zone = await context.zone(unit)
    lines = [
        context.t("notify.preview_title"),
        context.t(
            "notify.preview_audience",
            unit=escape(unit_display_name(unit, context.language)),
            audience=context.t(AUDIENCE_KEYS[draft.audience.audience]),
        ),
        context.t(
            "notify.preview_recipients",
            count=number(size.recipients, context.language),
        ),
    ]
    if size.unreachable:
        lines.append(
            context.t(
                "notify.preview_unreachable", count=number(size.unreachable, context.language)
            )
        )
    if draft.ack_required:
        lines.append(context.t("notify.preview_ack"))
    if draft.post_to_group:
        group = await linked_group(context.session, unit.id)
        if group is not None:
            lines.append(context.t("notify.preview_group", group=escape(group.title)))
    quiet_end = quiet_until(context.now(), str(zone), *context.services.quiet_hours)
    if quiet_end is not None:
        when = format_when(quiet_end.astimezone(zone), context.language)
        lines.append(context.t("notify.preview_quiet", when=when))
    say(update, context, "\n".join(lines))
    notice = as_notice(draft)
    text = notice_text(notice, unit, context.language, zone)
    members_buttons = received_keyboard(context.language, notice, None, zone)
    buttons = [
        [
            (context.t("notify.send_now"), SendNotice()),
            (context.t("notify.schedule"), ScheduleNotice()),
        ],
        [(context.t("notify.discard"), DiscardNotice())],
    ]
    if members_buttons is not None:  # the members' Received, to be seen: it does nothing here
        buttons.insert(0, [(context.t("notice.received_button"), PreviewReceived())])
    send_copy(update, context, notice, text, keyboard(*buttons))


# --- answers ----------------------------------------------------------------------------------


async def text_typed(update: Update, context: BotContext, state: State, text: str) -> None:
    assert update.effective_message
    attachment = attachment_of(state.data)
    state.data["body"] = clean_body(html_of(update.effective_message), attachment)
    await next_question(update, context, state)


async def file_sent(update: Update, context: BotContext, state: State, message: Message) -> None:
    """A photo or document (with the text as its caption, or the text asked next)."""
    assert update.effective_user
    if message.photo:
        largest = message.photo[-1]
        attachment = check_attachment("photo", largest.file_id, None, largest.file_size)
    elif message.document:
        document = message.document
        attachment = check_attachment(
            "document", document.file_id, document.file_name, document.file_size
        )
    else:
        raise InvalidInput("attachment", "notice.attachment_kind")
    state.data["attachment"] = {
        "kind": attachment.kind.value,
        "file_id": attachment.file_id,
        "name": attachment.name,
    }
    if message.caption:
        state.data["body"] = clean_body(html_of(message), attachment)
    elif "body" in state.data:
        clean_body(state.data["body"], attachment)  # the text typed first must fit a caption
    if "body" not in state.data:
        await NOTIFY.ask(update, context, "text", state.data)
        return
    await NOTIFY.ask(update, context, "audience", state.data)


async def deadline_typed(update: Update, context: BotContext, state: State, text: str) -> None:
    zone = await context.unit_zone(state.data["unit_id"])
    moment = typed_moment(update, context, text, zone)
    if moment is None:
        return
    _set_deadline(context, state.data, moment)
    when = format_when(moment.astimezone(zone), context.language)
    say(update, context, context.t("notify.deadline_set", deadline=when))
    await NOTIFY.ask(update, context, "preview", state.data)


def _set_deadline(context: BotContext, data: Data, moment: datetime) -> None:
    check_deadline(moment, None, context.now())
    data["deadline"] = moment.isoformat()


async def schedule_typed(update: Update, context: BotContext, state: State, text: str) -> None:
    moment = typed_moment(update, context, text, await context.unit_zone(state.data["unit_id"]))
    if moment is None:
        return
    await _schedule(update, context, state, moment)


async def schedule_picked(
    update: Update, context: BotContext, state: State, moment: datetime
) -> None:
    await _schedule(update, context, state, moment)


async def _schedule(update: Update, context: BotContext, state: State, moment: datetime) -> None:
    assert update.effective_user
    me = update.effective_user.id
    check_send_at(moment, context.now())
    draft = draft_of(state.data, send_at=moment)
    if draft.ack_deadline is not None:
        check_deadline(draft.ack_deadline, moment, context.now())
    notice = await create_notice(context.session, me, draft, context.now())
    await NOTIFY.end(context, me)
    zone = await context.unit_zone(state.data["unit_id"])
    text = context.t(
        "notify.scheduled", when=format_when(moment.astimezone(zone), context.language)
    )
    quiet_end = quiet_until(moment, str(zone), *context.services.quiet_hours)
    if quiet_end is not None:
        when = format_when(quiet_end.astimezone(zone), context.language)
        text += "\n" + context.t("notify.preview_quiet", when=when)
    edit_or_say(
        update,
        context,
        text,
        keyboard([(context.t("figures.open_button"), NoticeFigures(notice.id))]),
    )


async def next_question(update: Update, context: BotContext, state: State) -> None:
    """After the text: the attachment (unless one came), then the audience."""
    step = "audience" if "attachment" in state.data else "attachment"
    await NOTIFY.ask(update, context, step, state.data)


# --- presses while composing ---------------------------------------------------------------


async def _state(update: Update, context: BotContext, *steps: str) -> State:
    assert update.effective_user
    return await NOTIFY.require(context, update.effective_user.id, *steps)


async def units_page(update: Update, context: BotContext, press: NoticeUnits) -> None:
    await _state(update, context, "unit")
    markup = await _unit_choices(update, context, press.page)
    edit_or_say(update, context, context.t("notify.ask_unit"), markup)


async def unit_chosen(update: Update, context: BotContext, press: NoticeUnit) -> None:
    assert update.effective_user
    await _state(update, context, "unit")
    unit = await staff_unit(
        context.session, update.effective_user.id, Permission.broadcast, press.unit_id
    )
    name = escape(unit_display_name(unit, context.language))
    edit_or_say(update, context, context.t("manage.line.unit", unit=name))
    await NOTIFY.ask(update, context, "text", {"unit_id": unit.id})


async def attachment_skipped(update: Update, context: BotContext, press: SkipAttachment) -> None:
    state = await _state(update, context, "attachment")
    edit_or_say(update, context, context.t("notify.no_attachment_chosen"))
    await NOTIFY.ask(update, context, "audience", state.data)


async def audience_chosen(update: Update, context: BotContext, press: NoticeAudience) -> None:
    assert update.effective_user
    state = await _state(update, context, "audience")
    if press.index >= len(AUDIENCES):
        raise StaleButton(press.index)
    audience = AUDIENCES[press.index]
    data = state.data
    data["audience"] = audience.value
    data.pop("activity_id", None)
    data.pop("notice_id", None)
    if audience in ABOUT_ACTIVITY or audience is Audience.not_acknowledged:
        edit_or_say(update, context, context.t(AUDIENCE_KEYS[audience]))
        step = "earlier" if audience is Audience.not_acknowledged else "activity"
        await NOTIFY.ask(update, context, step, data)
    else:
        await _audience_settled(update, context, state)


async def _audience_settled(update: Update, context: BotContext, state: State) -> None:
    """An audience of nobody is refused here, where another can be chosen."""
    assert update.effective_user
    choice = choice_of(state.data)
    size = await audience_size(
        context.session, update.effective_user.id, state.data["unit_id"], choice
    )
    if not size.recipients:
        raise InvalidInput("audience", "notice.audience_empty")
    label = context.t(AUDIENCE_KEYS[choice.audience])
    count = number(size.recipients, context.language)
    edit_or_say(update, context, context.t("notify.audience_chosen", audience=label, count=count))
    await NOTIFY.ask(update, context, "options", state.data)


async def activities_page(update: Update, context: BotContext, press: NoticeActivities) -> None:
    state = await _state(update, context, "activity")
    markup = await _activity_choices(update, context, state, press.page)
    edit_or_say(update, context, context.t("notify.ask_activity"), markup)


async def activity_chosen(update: Update, context: BotContext, press: NoticeActivity) -> None:
    assert update.effective_user
    state = await _state(update, context, "activity")
    absent = state.data["audience"] == Audience.activity_absent
    offered = await activities_to_address(
        context.session,
        update.effective_user.id,
        state.data["unit_id"],
        context.now(),
        absent=absent,
    )
    if press.activity_id not in {a.id for a in offered}:
        raise StaleButton(press.activity_id)
    state.data["activity_id"] = press.activity_id
    await _audience_settled(update, context, state)


async def earlier_page(update: Update, context: BotContext, press: EarlierNotices) -> None:
    state = await _state(update, context, "earlier")
    markup = await _earlier_choices(update, context, state, press.page)
    edit_or_say(update, context, context.t("notify.ask_earlier"), markup)


async def earlier_chosen(update: Update, context: BotContext, press: EarlierNotice) -> None:
    assert update.effective_user
    state = await _state(update, context, "earlier")
    offered = await earlier_notices(
        context.session, update.effective_user.id, state.data["unit_id"]
    )
    if press.notice_id not in {n.id for n in offered}:
        raise StaleButton(press.notice_id)
    state.data["notice_id"] = press.notice_id
    await _audience_settled(update, context, state)


async def option_toggled(update: Update, context: BotContext, press: NoticeOption) -> None:
    assert update.effective_user
    state = await _state(update, context, "options")
    if press.name == "ack":
        state.data["ack"] = not state.data.get("ack", True)
    elif press.name == "group" and await linked_group(context.session, state.data["unit_id"]):
        state.data["group"] = not state.data.get("group", False)
    else:
        raise StaleButton(press.name)
    await NOTIFY.save(context, update.effective_user.id, state)
    text, markup = await _options_screen(context, state.data)
    edit_or_say(update, context, text, markup)


async def options_done(update: Update, context: BotContext, press: NoticeOptionsDone) -> None:
    state = await _state(update, context, "options")
    edit_or_say(update, context, _options_summary(context, state.data))
    if state.data.get("ack", True):
        await NOTIFY.ask(update, context, "deadline", state.data)
    else:
        state.data.pop("deadline", None)
        await NOTIFY.ask(update, context, "preview", state.data)


def _options_summary(context: BotContext, data: Data) -> str:
    key = "notify.ack_on" if data.get("ack", True) else "notify.ack_off"
    lines = [context.t(key)]
    if data.get("group"):
        lines.append(context.t("notify.group_on"))
    return "\n".join(lines)


async def deadline_chosen(update: Update, context: BotContext, press: NoticeDeadlineIn) -> None:
    state = await _state(update, context, "deadline")
    if press.days not in DEADLINES:
        raise StaleButton(press.days)
    if press.days:
        zone = await context.unit_zone(state.data["unit_id"])
        day = context.today(zone) + timedelta(days=press.days)
        deadline = datetime.combine(day, DEADLINE_HOUR, zone)
        _set_deadline(context, state.data, deadline)
        when = format_when(deadline, context.language)
        edit_or_say(update, context, context.t("notify.deadline_set", deadline=when))
    else:
        state.data.pop("deadline", None)
        edit_or_say(update, context, context.t("notify.deadline_none_chosen"))
    await NOTIFY.ask(update, context, "preview", state.data)


async def preview_received(update: Update, context: BotContext, press: PreviewReceived) -> str:
    return context.t("notify.preview_press")


async def send_pressed(update: Update, context: BotContext, press: SendNotice) -> str:
    """Send now: the copies are queued as this update commits; the live figures follow."""
    assert update.effective_user
    me = update.effective_user.id
    state = await _state(update, context, "preview")
    notice = await create_notice(context.session, me, draft_of(state.data), context.now())
    await NOTIFY.end(context, me)
    edit_buttons(
        update,
        context,
        keyboard([(context.t("figures.open_button"), NoticeFigures(notice.id))]),
    )
    await open_figures_message(update, context, notice.id)
    return context.t("notify.sent", count=number(notice.recipient_count, context.language))


async def schedule_pressed(update: Update, context: BotContext, press: ScheduleNotice) -> None:
    state = await _state(update, context, "preview")
    await NOTIFY.ask(update, context, "schedule", state.data)


async def discard_pressed(update: Update, context: BotContext, press: DiscardNotice) -> None:
    assert update.effective_user
    await _state(update, context)
    await NOTIFY.end(context, update.effective_user.id)
    edit_buttons(update, context, None)
    say(update, context, context.t("notify.discarded"))


NOTIFY = Conversation(
    "notify",
    [
        Step("unit", ask_unit),
        Step("text", ask_text, on_text=text_typed, on_media=file_sent, hint="notify.text_hint"),
        Step("attachment", ask_attachment, on_media=file_sent, hint="notify.attachment_hint"),
        Step("audience", ask_audience),
        Step("activity", ask_activity),
        Step("earlier", ask_earlier),
        Step("options", ask_options),
        Step("deadline", ask_deadline, on_text=deadline_typed),
        Step("preview", ask_preview),
        Step("schedule", ask_schedule, on_text=schedule_typed, on_moment=schedule_picked),
    ],
)
