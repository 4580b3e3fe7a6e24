"""/activities: a secretary's activities with their counts; for one of them, who signed up,
the waitlist, leave requests, who has not answered, the QR codes, changing the time or
place, cancelling. The domain (models.activities) checks the permission on every
read and write, and tells everyone concerned of a change.
"""

from __future__ import annotations

from html import escape

from telegram import Update

from handlers.checkin import checkin_payload
from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.ui import edit_or_say, say, send_file
from models.activities import (
    Activity,
    ActivityCounts,
    ActivityMode,
    ActivityStatus,
    ParticipationStatus,
    activity_counts,
    cancel_activity,
    managed_activities,
    managed_activity,
    not_answered,
    participations_of,
    share_payload,
    update_activity,
)
from models.org import get_unit, unit_display_name
from views.buttons import (
    ActivityPeople,
    ApproveLeave,
    AskCancelActivity,
    Button,
    CancelActivity,
    ChangeActivity,
    CheckInQr,
    DeclineLeave,
    ManageActivity,
    ManagePage,
    ShareQr,
    StaleButton,
    keyboard,
    pager,
    short,
)
from views.dates import format_span, format_when, parse_when
from views.files import qr_png
from views.labels import ACTIVITY_KIND_KEYS

PAGE_SIZE = 5
LISTS = {
    1: {ParticipationStatus.signed_up, ParticipationStatus.attending},
    2: {ParticipationStatus.waitlisted},
    3: {ParticipationStatus.leave_requested},
}
NO_ANSWER = 4
LIST_KEYS = {1: "manage.list.signed_up", 2: "manage.list.waitlist", 3: "manage.list.leave"}
LEAVE_LIST = 3
CHANGES = {1: "time", 2: "place"}  # ChangeActivity.field → the step of CHANGE


async def activities_command(update: Update, context: BotContext) -> None:
    await show_list(update, context, ManagePage(1))


def _counts_text(context: BotContext, counts: ActivityCounts) -> str:
    activity = counts.activity
    if activity.status is ActivityStatus.cancelled:
        return context.t("manage.cancelled")
    if activity.mode is ActivityMode.signup:
        signed_up = counts.signed_up
        seats = f"{signed_up}/{activity.capacity}" if activity.capacity else str(signed_up)
        return context.t("manage.counts_signup", seats=seats, waitlisted=counts.waitlisted)
    return context.t(
        "manage.counts_expected",
        attending=counts.attending,
        leave=counts.leave_requested,
        excused=counts.excused,
        no_answer=counts.no_answer,
    )


async def show_list(update: Update, context: BotContext, press: ManagePage) -> None:
    assert update.effective_user
    result = await managed_activities(
        context.session, update.effective_user.id, context.now(), press.page, PAGE_SIZE
    )
    if not result.items:
        edit_or_say(update, context, context.t("manage.none"))
        return
    lines = [context.t("manage.list_title", page=result.page, pages=result.pages)]
    rows: list[list[tuple[str, Button]]] = []
    for counts in result.items:
        activity = counts.activity
        starts = activity.starts_at.astimezone(await context.activity_zone(activity))
        when = format_when(starts, context.language)
        lines.append(f"• {when} {escape(activity.title)} — {_counts_text(context, counts)}")
        rows.append([(short(f"{when[-5:]} {activity.title}"), ManageActivity(activity.id))])
    navigation = pager(result.page, result.pages, ManagePage)
    if navigation:
        rows.append(navigation)
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


async def _managed(update: Update, context: BotContext, activity_id: int) -> Activity:
    assert update.effective_user
    return await managed_activity(context.session, update.effective_user.id, activity_id)


async def show_activity(update: Update, context: BotContext, press: ManageActivity) -> None:
    activity = await _managed(update, context, press.activity_id)
    unit = await get_unit(context.session, activity.org_unit_id)
    zone = await context.zone(unit)
    counts = await activity_counts(context.session, activity)
    when = format_span(activity.starts_at, activity.ends_at, zone, context.language)
    lines = [
        f"<b>{escape(activity.title)}</b>",
        context.t("manage.line.kind", kind=context.t(ACTIVITY_KIND_KEYS[activity.kind])),
        context.t("manage.line.unit", unit=escape(unit_display_name(unit, context.language))),
        context.t("manage.line.time", when=when),
        context.t("manage.line.place", place=escape(activity.place or "—")),
        _counts_text(context, counts),
    ]
    a = activity.id
    rows: list[list[tuple[str, Button]]] = [
        [
            (context.t(LIST_KEYS[1]), ActivityPeople(a, 1)),
            (context.t(LIST_KEYS[2]), ActivityPeople(a, 2)),
        ],
        [
            (context.t(LIST_KEYS[3]), ActivityPeople(a, 3)),
            (context.t("manage.list.no_answer"), ActivityPeople(a, NO_ANSWER)),
        ],
        [
            (context.t("manage.checkin_qr"), CheckInQr(a)),
            (context.t("manage.share_qr"), ShareQr(a)),
        ],
        [
            (context.t("manage.change_time"), ChangeActivity(a, 1)),
            (context.t("manage.change_place"), ChangeActivity(a, 2)),
        ],
        [(context.t("manage.cancel_activity"), AskCancelActivity(a))],
    ]
    if activity.status is ActivityStatus.cancelled:
        lines.append(context.t("manage.cancelled"))
        rows = rows[:2]
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


async def show_people(update: Update, context: BotContext, press: ActivityPeople) -> None:
    activity = await _managed(update, context, press.activity_id)
    rows = None
    if press.which == NO_ANSWER:
        title = context.t("manage.list.no_answer")
        members = await not_answered(context.session, activity.id)
        lines = [escape(m.real_name or "—") for m in members]
    elif press.which in LISTS:
        title = context.t(LIST_KEYS[press.which])
        people = await participations_of(context.session, activity.id, LISTS[press.which])
        lines = [escape(p.member.real_name or "—") for p in people]
        if press.which == LEAVE_LIST:  # each request with its reason, decided from here
            lines = [
                f"{line}: {escape(p.leave_reason or '')}"
                for line, p in zip(lines, people, strict=True)
            ]
            rows = [
                [
                    (short(f"✅ {p.member.real_name or '—'}"), ApproveLeave(p.id)),
                    (context.t("manage.decline"), DeclineLeave(p.id)),
                ]
                for p in people[:20]
            ]
    else:
        raise StaleButton(press.which)
    body = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    text = f"<b>{title}</b> ({len(lines)})\n{body or context.t('manage.nobody')}"
    say(update, context, text, keyboard(*rows) if rows else None)


async def send_qr(update: Update, context: BotContext, press: CheckInQr | ShareQr) -> None:
    """A QR code of the activity's link: to share it (opens the card), or to show at the
    venue (checks the member in)."""
    activity = await _managed(update, context, press.activity_id)
    checkin = isinstance(press, CheckInQr)
    payload = checkin_payload(activity.share_code) if checkin else share_payload(activity)
    link = context.link(payload)
    caption_key = "manage.checkin_caption" if checkin else "manage.share_caption"
    caption = context.t(caption_key, title=escape(activity.title), link=link)
    name = f"{'check-in' if checkin else 'activity'}-{activity.id}.png"
    send_file(update, context, qr_png(link), name, caption, photo=True)


# --- changing the time or place ------------------------------------------------------------------


async def ask_change(update: Update, context: BotContext, press: ChangeActivity) -> None:
    if press.field not in CHANGES:
        raise StaleButton(press.field)
    activity = await _managed(update, context, press.activity_id)
    await CHANGE.ask(update, context, CHANGES[press.field], {"activity_id": activity.id})


async def ask_new_time(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("manage.ask_new_time"))


async def ask_new_place(update: Update, context: BotContext, state: State) -> None:
    say(update, context, context.t("manage.ask_new_place"))


async def save_change(update: Update, context: BotContext, state: State, text: str) -> None:
    """The new time (the duration stays) or place; everyone concerned is told."""
    activity = await _managed(update, context, state.data["activity_id"])
    if state.step.name == "time":
        zone = await context.activity_zone(activity)
        moment = parse_when(text, context.now(), zone)
        if moment is None:
            say(update, context, context.t("new.unreadable_time"))
            return
        changes = {"starts_at": moment, "ends_at": moment + (activity.ends_at - activity.starts_at)}
    else:
        changes = {"place": text.strip()}
    assert update.effective_user
    me = update.effective_user.id
    result = await update_activity(context.session, activity.id, me, context.now(), **changes)
    await CHANGE.end(context, me)
    say(update, context, context.t("manage.changed", count=len(result.affected_telegram_ids)))


CHANGE = Conversation(
    "change",
    [
        Step("time", ask_new_time, on_text=save_change),
        Step("place", ask_new_place, on_text=save_change),
    ],
)


# --- cancelling --------------------------------------------------------------------------------


async def confirm_cancel(update: Update, context: BotContext, press: AskCancelActivity) -> None:
    activity = await _managed(update, context, press.activity_id)
    markup = keyboard(
        [(context.t("manage.cancel_yes"), CancelActivity(activity.id))],
        [(context.t("button.back"), ManageActivity(activity.id))],
    )
    text = context.t("manage.cancel_confirm", title=escape(activity.title))
    edit_or_say(update, context, text, markup)


async def cancel_confirmed(update: Update, context: BotContext, press: CancelActivity) -> str:
    assert update.effective_user
    me = update.effective_user.id
    told = await cancel_activity(context.session, press.activity_id, me, context.now())
    edit_or_say(update, context, context.t("manage.cancelled_done", count=len(told)))
    return context.t("manage.cancelled")
