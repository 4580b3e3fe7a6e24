"""The secretary's side of activities: /new (a guided conversation with a preview),
/activities (counts and lists), changing the time or place, cancelling.

The draft is kept in `Account.draft`, the step in `Account.awaiting` ("new:title",
...), so a half-written activity survives a restart. Callback data (prefix "org"):
  k:<kind>  u:<unit>  day:<date ordinal>  hr:<minutes after midnight>  end:<minutes>
  cap:0 (no limit)  dl:0 (until the start)
  pl:<pledge>  rep:<rule>  skip:<step>  pub  drop           the conversation
  a:<activity>  ls:<activity>:<list>  qr / sq:<activity> (check-in / share QR)
  ed:<activity>:<field>
  cx:<activity>  cxy:<activity>                              managing one activity
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.context import BotContext
from bot.dates import format_day, format_when, parse_when
from bot.files import qr_png
from bot.i18n import t
from bot.labels import ACTIVITY_KIND_KEYS
from handlers import callbacks
from handlers.notify import notify
from handlers.ui import (
    answer_error,
    buttons,
    edit_or_say,
    run_press,
    say,
    short,
    unit_name,
)
from models.account import expect, touch_account
from models.activities import (
    EXPECTED_KINDS,
    Activity,
    ActivityDraft,
    ActivityKind,
    ActivityMode,
    ParticipationStatus,
    PledgeKind,
    RecurrenceRule,
    SeriesDraft,
    activities_for_units,
    activity_counts,
    cancel_activity,
    create_activity,
    create_series,
    generate_occurrences,
    get_activity,
    mode_of,
    not_answered,
    parse_capacity,
    participations_of,
    update_activity,
    validate_draft,
)
from models.errors import DomainError, InvalidInput
from models.org import get_unit, unit_timezone
from models.permissions import Permission, managed_unit_ids, require
from models.staff import managed_units

PREFIX = "org"
KINDS = tuple(ActivityKind)
PLEDGES = tuple(PledgeKind)
PLEDGE_KEYS = {
    PledgeKind.none: "new.pledge.none",
    PledgeKind.saplings: "new.pledge.saplings",
    PledgeKind.money: "new.pledge.money",
}
# Repeat choices for organisational life; 0 is "just once".
REPEATS = (
    None,
    RecurrenceRule.last_friday_monthly,
    RecurrenceRule.monthly_day,
    RecurrenceRule.weekly,
)
REPEAT_KEYS = (
    "new.repeat.once",
    "new.repeat.last_friday",
    "new.repeat.monthly_day",
    "new.repeat.weekly",
)
DURATIONS = (60, 120, 180, 240)  # minutes offered as buttons for the end
PICKER_DAYS = 14
PICKER_TIMES = (8 * 60, 9 * 60, 10 * 60, 14 * 60, 15 * 60, 16 * 60, 19 * 60, 20 * 60)
GENERATE_AHEAD = timedelta(days=92)  # occurrences of a series that exist ahead of time
LISTS = {
    1: {ParticipationStatus.signed_up, ParticipationStatus.attending},
    2: {ParticipationStatus.waitlisted},
    3: {ParticipationStatus.leave_requested},
}
LIST_KEYS = {1: "manage.list.signed_up", 2: "manage.list.waitlist", 3: "manage.list.leave"}
EDITABLE = {1: "starts_at", 2: "place"}


# --- the guided conversation -------------------------------------------------------------


async def new_command(update: Update, context: BotContext) -> None:
    """/new: start a draft; the kind comes first, as it decides the questions."""
    assert update.effective_user
    async with context.db() as session:
        units = await managed_units(session, update.effective_user.id, Permission.manage_activities)
        if units:
            account = await touch_account(session, update.effective_user.id)
            account.draft = {}
            account.awaiting = "new:kind"
    if not units:
        await say(update, context, context.t("error.secretaries_only"))
        return
    rows = [
        [(context.t(ACTIVITY_KIND_KEYS[kind]), callbacks.data(PREFIX, "k", index))]
        for index, kind in enumerate(KINDS)
    ]
    await say(update, context, context.t("new.ask_kind"), buttons(*rows))


async def _draft(context: BotContext, telegram_id: int) -> dict[str, Any]:
    async with context.db() as session:
        return dict((await touch_account(session, telegram_id)).draft or {})


async def _save(context: BotContext, telegram_id: int, draft: dict[str, Any], step: str) -> None:
    async with context.db() as session:
        account = await touch_account(session, telegram_id)
        account.draft = draft
        account.awaiting = f"new:{step}"


async def _zone(context: BotContext, draft: dict[str, Any]) -> str:
    """The time zone that typed times are read in: the chosen unit's, else the default."""
    default = context.services.config.bot.timezone
    if "unit_id" not in draft:
        return default
    async with context.db() as session:
        return str(await unit_timezone(session, await get_unit(session, draft["unit_id"]), default))


async def ask(update: Update, context: BotContext, step: str, draft: dict[str, Any]) -> None:
    """Put the question of `step`, remembering the draft."""
    assert update.effective_user
    await _save(context, update.effective_user.id, draft, step)
    skip = [(context.t("new.skip"), callbacks.data(PREFIX, "skip", STEPS.index(step)))]
    if step == "title":
        await say(update, context, context.t("new.ask_title"))
    elif step == "unit":
        async with context.db() as session:
            units = await managed_units(
                session, update.effective_user.id, Permission.manage_activities
            )
        rows = [[(short(unit_name(context, u)), callbacks.data(PREFIX, "u", u.id))] for u in units]
        await say(update, context, context.t("new.ask_unit"), buttons(*rows[:40]))
    elif step == "start":
        today = context.now().astimezone(ZoneInfo(await _zone(context, draft))).date()
        await say(update, context, context.t("new.ask_start"), _date_picker(context, today))
    elif step == "end":
        rows = [
            [
                (
                    context.t("new.duration_hours", hours=minutes // 60),
                    callbacks.data(PREFIX, "end", minutes),
                )
                for minutes in DURATIONS
            ]
        ]
        await say(update, context, context.t("new.ask_end"), buttons(*rows))
    elif step == "place":
        await say(update, context, context.t("new.ask_place"), buttons(skip))
    elif step == "capacity":
        no_limit = [(context.t("new.no_limit"), callbacks.data(PREFIX, "cap", 0))]
        await say(update, context, context.t("new.ask_capacity"), buttons(no_limit))
    elif step == "deadline":
        until_start = [(context.t("new.until_start"), callbacks.data(PREFIX, "dl", 0))]
        await say(update, context, context.t("new.ask_deadline"), buttons(until_start))
    elif step == "pledge":
        rows = [
            [(context.t(PLEDGE_KEYS[p]), callbacks.data(PREFIX, "pl", index))]
            for index, p in enumerate(PLEDGES)
        ]
        await say(update, context, context.t("new.ask_pledge"), buttons(*rows))
    elif step == "repeat":
        rows = [
            [(context.t(key), callbacks.data(PREFIX, "rep", index))]
            for index, key in enumerate(REPEAT_KEYS)
        ]
        await say(update, context, context.t("new.ask_repeat"), buttons(*rows))
    elif step == "description":
        await say(update, context, context.t("new.ask_description"), buttons(skip))
    else:
        await preview(update, context, draft)


# The order of the questions; a step not needed for this kind is passed over.
STEPS = (
    "kind",
    "unit",
    "title",
    "start",
    "end",
    "place",
    "description",
    "capacity",
    "deadline",
    "pledge",
    "repeat",
    "preview",
)


def _needed(step: str, draft: dict[str, Any]) -> bool:
    kind = ActivityKind(draft["kind"])
    signup = mode_of(kind) is ActivityMode.signup
    if step in ("capacity", "deadline"):
        return signup
    if step == "pledge":
        return kind is ActivityKind.tree_planting
    if step == "repeat":
        return kind in EXPECTED_KINDS
    return True


async def next_question(
    update: Update, context: BotContext, done: str, draft: dict[str, Any]
) -> None:
    """Go on after `done`, skipping steps this kind does not need."""
    assert update.effective_user
    if done == "kind" and "unit_id" not in draft:
        async with context.db() as session:
            units = await managed_units(
                session, update.effective_user.id, Permission.manage_activities
            )
        if len(units) == 1:  # nothing to choose
            draft["unit_id"] = units[0].id
            done = "unit"
    for step in STEPS[STEPS.index(done) + 1 :]:
        if _needed(step, draft):
            await ask(update, context, step, draft)
            return


async def on_typed(update: Update, context: BotContext, awaiting: str, text: str) -> None:
    """A typed answer during /new (STATE_ROUTES["new"] in handlers.input)."""
    assert update.effective_user
    step = awaiting.removeprefix("new:")
    draft = await _draft(context, update.effective_user.id)
    if step not in ("title", "start", "end", "place", "description", "capacity", "deadline"):
        await say(update, context, context.t("profile.use_buttons"))
        return
    zone = await _zone(context, draft)
    now = context.now()
    try:
        if step == "title":
            title = text.strip()
            if not title:
                raise InvalidInput("title", "title.empty")
            if len(title) > 100:
                raise InvalidInput("title", "title.too_long")
            draft["title"] = title
        elif step in ("start", "end", "deadline"):
            moment = parse_when(text, now, zone)
            if moment is None:
                await say(update, context, context.t("new.unreadable_time"))
                return
            _set_time(draft, step, moment, now)
            when = format_when(moment, context.language)
            await say(update, context, context.t("new.time_read", when=when))
        elif step == "place":
            if len(text.strip()) > 200:
                raise InvalidInput("place", "place.too_long")
            draft["place"] = text.strip()
        elif step == "description":
            if len(text.strip()) > 2000:
                raise InvalidInput("description", "description.too_long")
            draft["description"] = text.strip()
        else:
            draft["capacity"] = parse_capacity(text)
            if draft["capacity"] is None:
                raise InvalidInput("capacity", "capacity.invalid")
    except DomainError as error:
        await answer_error(update, context, error)  # the same question stays open
        return
    await next_question(update, context, step, draft)


def _set_time(draft: dict[str, Any], step: str, moment: datetime, now: datetime) -> None:
    """Put a start, end or deadline into the draft, or InvalidInput saying what is wrong."""
    if moment <= now:
        raise InvalidInput(step, "starts_at.past")
    if step == "end" and moment <= datetime.fromisoformat(draft["starts_at"]):
        raise InvalidInput("ends_at", "ends_at.before_start")
    if step == "deadline" and moment > datetime.fromisoformat(draft["starts_at"]):
        raise InvalidInput("signup_deadline", "signup_deadline.after_start")
    key = {"start": "starts_at", "end": "ends_at", "deadline": "signup_deadline"}[step]
    draft[key] = moment.isoformat()


def _date_picker(context: BotContext, today: date) -> InlineKeyboardMarkup:
    """The next fortnight, a week a row: a companion to typing the date."""
    days = [today + timedelta(days=n) for n in range(PICKER_DAYS)]
    labels = [(format_day(d, context.language), d.toordinal()) for d in days]
    rows = [labels[start : start + 7] for start in range(0, PICKER_DAYS, 7)]
    return buttons(
        *[
            [(label, callbacks.data(PREFIX, "day", ordinal)) for label, ordinal in row]
            for row in rows
        ]
    )


def _time_picker(context: BotContext) -> InlineKeyboardMarkup:
    rows = [PICKER_TIMES[:4], PICKER_TIMES[4:]]
    return buttons(
        *[
            [(f"{m // 60:02d}:{m % 60:02d}", callbacks.data(PREFIX, "hr", m)) for m in row]
            for row in rows
        ]
    )


def _draft_fields(draft: dict[str, Any]) -> ActivityDraft:
    starts_at = datetime.fromisoformat(draft["starts_at"])
    return ActivityDraft(
        kind=draft["kind"],
        title=draft["title"],
        starts_at=starts_at,
        ends_at=datetime.fromisoformat(draft["ends_at"]),
        description=draft.get("description", ""),
        place=draft.get("place", ""),
        signup_deadline=datetime.fromisoformat(draft["signup_deadline"])
        if draft.get("signup_deadline")
        else None,
        capacity=draft.get("capacity"),
        pledge_kind=draft.get("pledge", PledgeKind.none),
    )


def _kind_line(context: BotContext, kind: ActivityKind) -> str:
    return context.t("manage.line.kind", kind=context.t(ACTIVITY_KIND_KEYS[kind]))


async def preview(update: Update, context: BotContext, draft: dict[str, Any]) -> None:
    zone = await _zone(context, draft)
    fields = _draft_fields(draft)
    async with context.db() as session:
        unit = await get_unit(session, draft["unit_id"])
    starts = fields.starts_at.astimezone(ZoneInfo(zone))
    ends = fields.ends_at.astimezone(ZoneInfo(zone))
    lines = [
        context.t("new.preview_title"),
        context.t(
            "manage.line.kind", kind=context.t(ACTIVITY_KIND_KEYS[ActivityKind(fields.kind)])
        ),
        context.t("manage.line.title", title=escape(fields.title)),
        context.t("manage.line.unit", unit=escape(unit_name(context, unit))),
        context.t(
            "manage.line.time",
            start=format_when(starts, context.language),
            end=f"{ends:%H:%M}"
            if ends.date() == starts.date()
            else format_when(ends, context.language),
        ),
        context.t("manage.line.place", place=escape(fields.place or "—")),
    ]
    if fields.description:
        lines.append(escape(fields.description[:300]))
    if mode_of(fields.kind) is ActivityMode.signup:
        seats = str(fields.capacity) if fields.capacity else context.t("new.no_limit")
        lines.append(context.t("manage.line.capacity", capacity=seats))
    if draft.get("repeat"):
        lines.append(context.t(REPEAT_KEYS[draft["repeat"]]))
    markup = buttons(
        [(context.t("new.publish"), callbacks.data(PREFIX, "pub"))],
        [(context.t("new.discard"), callbacks.data(PREFIX, "drop"))],
    )
    await say(update, context, "\n".join(lines), markup)


async def publish(update: Update, context: BotContext) -> str | None:
    """Create the activity (or the series and its first occurrences) from the draft."""
    assert update.effective_user
    me = update.effective_user.id
    now = context.now()
    async with context.db() as session:
        account = await touch_account(session, me)
        draft = dict(account.draft or {})
        if not draft.get("ends_at") or account.awaiting != "new:preview":
            raise callbacks.StaleButton("pub")
        fields = validate_draft(_draft_fields(draft), now)
        unit = await get_unit(session, draft["unit_id"])
        zone = await unit_timezone(session, unit, context.services.config.bot.timezone)
        repeat = REPEATS[draft.get("repeat", 0)]
        if repeat is None:
            created = [await create_activity(session, me, unit.id, fields, now)]
        else:
            local_start = fields.starts_at.astimezone(zone)
            series = await create_series(
                session,
                me,
                unit.id,
                SeriesDraft(
                    kind=fields.kind,
                    title=fields.title,
                    rule=repeat,
                    local_time=local_start.time(),
                    duration_minutes=int((fields.ends_at - fields.starts_at).total_seconds() // 60),
                    timezone=str(zone),
                    starts_on=local_start.date(),
                    rule_day={
                        RecurrenceRule.weekly: local_start.weekday(),
                        RecurrenceRule.monthly_day: local_start.day,
                    }.get(repeat),
                    description=fields.description,
                    place=fields.place,
                ),
            )
            created = await generate_occurrences(session, series, now + GENERATE_AHEAD, now)
        account.draft, account.awaiting = None, None
    text = context.t("new.published", count=len(created))
    if created:
        first = format_when(created[0].starts_at.astimezone(zone), context.language)
        text += "\n" + context.t("new.published_when", when=first)
    await edit_or_say(update, context, text)
    return None


# --- managing activities -------------------------------------------------------------------


async def activities_command(update: Update, context: BotContext) -> None:
    await show_list(update, context, page=1)


async def show_list(update: Update, context: BotContext, page: int) -> None:
    assert update.effective_user
    async with context.db() as session:
        units = await managed_unit_ids(
            session, update.effective_user.id, Permission.manage_activities
        )
        if units is not None and not units:
            await say(update, context, context.t("error.secretaries_only"))
            return
        result = await activities_for_units(session, units, context.now(), page, 5)
        zones = {
            c.activity.id: str(
                await unit_timezone(
                    session,
                    await get_unit(session, c.activity.org_unit_id),
                    context.services.config.bot.timezone,
                )
            )
            for c in result.items
        }
    if not result.items:
        await edit_or_say(update, context, context.t("manage.none"))
        return
    lines = [context.t("manage.list_title", page=result.page, pages=result.pages)]
    rows = []
    for counts in result.items:
        activity = counts.activity
        when = format_when(
            activity.starts_at.astimezone(ZoneInfo(zones[activity.id])), context.language
        )
        lines.append(f"• {when} {escape(activity.title)} — {_counts_text(context, counts)}")
        rows.append(
            [(short(f"{when[-5:]} {activity.title}"), callbacks.data(PREFIX, "a", activity.id))]
        )
    navigation = []
    if result.page > 1:
        navigation.append(("‹", callbacks.data(PREFIX, "pg", result.page - 1)))
    if result.page < result.pages:
        navigation.append(("›", callbacks.data(PREFIX, "pg", result.page + 1)))
    if navigation:
        rows.append(navigation)
    await edit_or_say(update, context, "\n".join(lines), buttons(*rows))


def _counts_text(context: BotContext, counts: Any) -> str:
    activity = counts.activity
    if activity.status == "cancelled":
        return context.t("manage.cancelled")
    if mode_of(activity.kind) is ActivityMode.signup:
        seats = (
            f"{counts.signed_up}/{activity.capacity}"
            if activity.capacity
            else str(counts.signed_up)
        )
        return context.t("manage.counts_signup", seats=seats, waitlisted=counts.waitlisted)
    return context.t(
        "manage.counts_expected",
        attending=counts.attending,
        leave=counts.leave_requested,
        excused=counts.excused,
        no_answer=counts.no_answer,
    )


async def _managed_activity(context: BotContext, telegram_id: int, activity_id: int) -> Activity:
    async with context.db() as session:
        activity = await get_activity(session, activity_id)
        await require(session, telegram_id, Permission.manage_activities, activity.org_unit_id)
    return activity


async def show_activity(update: Update, context: BotContext, activity_id: int) -> None:
    assert update.effective_user
    activity = await _managed_activity(context, update.effective_user.id, activity_id)
    async with context.db() as session:
        counts = await activity_counts(session, activity)
        unit = await get_unit(session, activity.org_unit_id)
        zone = await unit_timezone(session, unit, context.services.config.bot.timezone)
    starts = activity.starts_at.astimezone(zone)
    lines = [
        f"<b>{escape(activity.title)}</b>",
        _kind_line(context, activity.kind),
        context.t("manage.line.unit", unit=escape(unit_name(context, unit))),
        context.t(
            "manage.line.time",
            start=format_when(starts, context.language),
            end=f"{activity.ends_at.astimezone(zone):%H:%M}",
        ),
        context.t("manage.line.place", place=escape(activity.place or "—")),
        _counts_text(context, counts),
    ]
    a = activity.id
    rows = [
        [
            (context.t(LIST_KEYS[1]), callbacks.data(PREFIX, "ls", a, 1)),
            (context.t(LIST_KEYS[2]), callbacks.data(PREFIX, "ls", a, 2)),
        ],
        [
            (context.t(LIST_KEYS[3]), callbacks.data(PREFIX, "ls", a, 3)),
            (context.t("manage.list.no_answer"), callbacks.data(PREFIX, "ls", a, 4)),
        ],
        [
            (context.t("manage.checkin_qr"), callbacks.data(PREFIX, "qr", a)),
            (context.t("manage.share_qr"), callbacks.data(PREFIX, "sq", a)),
        ],
        [
            (context.t("manage.change_time"), callbacks.data(PREFIX, "ed", a, 1)),
            (context.t("manage.change_place"), callbacks.data(PREFIX, "ed", a, 2)),
        ],
        [(context.t("manage.cancel_activity"), callbacks.data(PREFIX, "cx", a))],
    ]
    if activity.status == "cancelled":
        lines.append(context.t("manage.cancelled"))
        rows = rows[:2]
    await edit_or_say(update, context, "\n".join(lines), buttons(*rows))


async def show_people(update: Update, context: BotContext, activity_id: int, which: int) -> None:
    assert update.effective_user
    await _managed_activity(context, update.effective_user.id, activity_id)
    async with context.db() as session:
        if which == 4:
            names = [m.real_name or "—" for m in await not_answered(session, activity_id)]
            title = context.t("manage.list.no_answer")
            rows = None
        elif which in LISTS:
            participations = await participations_of(session, activity_id, LISTS[which])
            names = [p.member.real_name or "—" for p in participations]
            title = context.t(LIST_KEYS[which])
            rows = None
            if which == 3:  # each leave request can be decided from here
                rows = [
                    [
                        (
                            short(f"✅ {p.member.real_name or '—'}"),
                            callbacks.data("lv", "ok", p.id),
                        ),
                        (context.t("manage.decline"), callbacks.data("lv", "no", p.id)),
                    ]
                    for p in participations[:20]
                ]
                reasons = [
                    f"{escape(p.member.real_name or '—')}: {escape(p.leave_reason or '')}"
                    for p in participations
                ]
                names = reasons
        else:
            raise callbacks.StaleButton(which)
    body = "\n".join(
        f"{i}. {escape(n)}" if which != 3 else f"{i}. {n}" for i, n in enumerate(names, 1)
    )
    text = f"<b>{title}</b> ({len(names)})\n{body or context.t('manage.nobody')}"
    await say(update, context, text, buttons(*rows) if rows else None)


async def send_qr(update: Update, context: BotContext, activity_id: int, checkin: bool) -> None:
    """A QR code of the activity's link: to share it (opens the card), or to show at the
    venue (checks the member in)."""
    assert update.effective_user and update.effective_chat
    activity = await _managed_activity(context, update.effective_user.id, activity_id)
    prefix = "c_" if checkin else "a_"
    link = f"https://t.me/{context.bot.username}?start={prefix}{activity.share_code}"
    caption = "manage.checkin_caption" if checkin else "manage.share_caption"
    await context.bot.send_photo(
        update.effective_chat.id,
        InputFile(
            qr_png(link), filename=f"{'check-in' if checkin else 'activity'}-{activity.id}.png"
        ),
        caption=context.t(caption, title=escape(activity.title), link=link),
        parse_mode="HTML",
    )


async def ask_change(update: Update, context: BotContext, activity_id: int, field: int) -> None:
    assert update.effective_user
    if field not in EDITABLE:
        raise callbacks.StaleButton(field)
    await _managed_activity(context, update.effective_user.id, activity_id)
    async with context.db() as session:
        await expect(
            session,
            update.effective_user.id,
            f"{'retime' if field == 1 else 'replace'}:{activity_id}",
        )
    key = "manage.ask_new_time" if field == 1 else "manage.ask_new_place"
    await say(update, context, context.t(key))


async def save_change(
    update: Update, context: BotContext, activity_id: int, text: str, field: str
) -> None:
    assert update.effective_user
    me = update.effective_user.id
    now = context.now()
    try:
        async with context.db() as session:
            activity = await get_activity(session, activity_id)
            unit = await get_unit(session, activity.org_unit_id)
            zone = await unit_timezone(session, unit, context.services.config.bot.timezone)
            changes: dict[str, Any]
            if field == "starts_at":
                moment = parse_when(text, now, zone)
                if moment is None:
                    await say(update, context, context.t("new.unreadable_time"))
                    return
                changes = {
                    "starts_at": moment,
                    "ends_at": moment + (activity.ends_at - activity.starts_at),
                }
            else:
                changes = {"place": text.strip()}
            result = await update_activity(session, activity_id, me, now, **changes)
            await expect(session, me, None)
            for telegram_id in result.affected_telegram_ids:
                await notify(
                    context,
                    session,
                    telegram_id,
                    unit,
                    "activity_changed",
                    _changed_text(result.activity, zone),
                    urgent=result.activity.starts_at - now < timedelta(hours=24),
                )
    except DomainError as error:
        await answer_error(update, context, error)
        return
    await say(update, context, context.t("manage.changed", count=len(result.affected_telegram_ids)))


def _changed_text(activity: Activity, zone: ZoneInfo) -> Any:
    def render(language: str) -> tuple[str, Any]:
        text = t(
            language,
            "manage.told_changed",
            title=escape(activity.title),
            when=format_when(activity.starts_at.astimezone(zone), language),
            place=escape(activity.place or "—"),
        )
        return text, buttons(
            [(t(language, "manage.open_card"), callbacks.data("ev", "v", activity.id))]
        )

    return render


async def confirm_cancel(update: Update, context: BotContext, activity_id: int) -> None:
    assert update.effective_user
    activity = await _managed_activity(context, update.effective_user.id, activity_id)
    markup = buttons(
        [(context.t("manage.cancel_yes"), callbacks.data(PREFIX, "cxy", activity_id))],
        [(context.t("button.back"), callbacks.data(PREFIX, "a", activity_id))],
    )
    await edit_or_say(
        update, context, context.t("manage.cancel_confirm", title=escape(activity.title)), markup
    )


async def cancel_confirmed(update: Update, context: BotContext, activity_id: int) -> str:
    assert update.effective_user
    now = context.now()
    async with context.db() as session:
        told = await cancel_activity(session, activity_id, update.effective_user.id, now)
        activity = await get_activity(session, activity_id)
        unit = await get_unit(session, activity.org_unit_id)
        zone = await unit_timezone(session, unit, context.services.config.bot.timezone)
        # A cancellation within a day cannot wait for the end of quiet hours.
        urgent = activity.starts_at - now < timedelta(hours=24)
        for telegram_id in told:
            await notify(
                context,
                session,
                telegram_id,
                unit,
                "activity_cancelled",
                _cancelled_text(activity, zone),
                urgent=urgent,
            )
    await edit_or_say(update, context, context.t("manage.cancelled_done", count=len(told)))
    return context.t("manage.cancelled")


def _cancelled_text(activity: Activity, zone: ZoneInfo) -> Any:
    def render(language: str) -> tuple[str, None]:
        when = format_when(activity.starts_at.astimezone(zone), language)
        return t(language, "manage.told_cancelled", title=escape(activity.title), when=when), None

    return render


# --- every "org:" press ---------------------------------------------------------------------

SHAPES = {
    "k": 1,
    "u": 1,
    "end": 1,
    "day": 1,
    "hr": 1,
    "cap": 1,
    "dl": 1,
    "pl": 1,
    "rep": 1,
    "skip": 1,
    "pub": 0,
    "drop": 0,
    "pg": 1,
    "a": 1,
    "ls": 2,
    "qr": 1,
    "sq": 1,
    "ed": 2,
    "cx": 1,
    "cxy": 1,
}


async def on_press(update: Update, context: BotContext) -> None:
    await run_press(update, context, lambda: _pressed(update, context))


async def _pressed(update: Update, context: BotContext) -> str | None:
    assert update.callback_query and update.effective_user
    action, ids = callbacks.parse(update.callback_query.data, PREFIX)
    if SHAPES.get(action) != len(ids):
        raise callbacks.StaleButton(update.callback_query.data)
    if action in ("pg", "a", "ls", "qr", "sq", "ed", "cx", "cxy"):
        return await _manage(update, context, action, ids)
    me = update.effective_user.id
    async with context.db() as session:
        account = await touch_account(session, me)
        draft, awaiting = dict(account.draft or {}), account.awaiting or ""
    if not awaiting.startswith("new:"):
        raise callbacks.StaleButton(action)
    step = awaiting.removeprefix("new:")
    if action == "drop":
        async with context.db() as session:
            account = await touch_account(session, me)
            account.draft, account.awaiting = None, None
        await edit_or_say(update, context, context.t("new.discarded"))
        return None
    if action == "pub":
        return await publish(update, context)
    choice = ids[0]
    if action == "k" and step == "kind" and choice < len(KINDS):
        draft = {"kind": str(KINDS[choice])}
        await edit_or_say(
            update,
            context,
            context.t("new.kind_chosen", kind=context.t(ACTIVITY_KIND_KEYS[KINDS[choice]])),
        )
        await next_question(update, context, "kind", draft)
    elif action == "u" and step == "unit":
        async with context.db() as session:
            await require(session, me, Permission.manage_activities, choice)
            unit = await get_unit(session, choice)
        draft["unit_id"] = unit.id
        await edit_or_say(
            update, context, context.t("manage.line.unit", unit=escape(unit_name(context, unit)))
        )
        await next_question(update, context, "unit", draft)
    elif action == "day" and step == "start":
        picked = date.fromordinal(choice)
        draft["day"] = picked.isoformat()
        await _save(context, me, draft, "start")
        label = format_day(picked, context.language)
        await edit_or_say(
            update, context, context.t("new.pick_time", day=label), _time_picker(context)
        )
    elif action == "hr" and step == "start" and choice in PICKER_TIMES and "day" in draft:
        zone = ZoneInfo(await _zone(context, draft))
        clock_time = time(choice // 60, choice % 60)
        moment = datetime.combine(date.fromisoformat(draft["day"]), clock_time, zone)
        _set_time(draft, "start", moment, context.now())
        when = format_when(moment, context.language)
        await edit_or_say(update, context, context.t("new.time_read", when=when))
        await next_question(update, context, "start", draft)
    elif action == "end" and step == "end" and choice in DURATIONS:
        starts = datetime.fromisoformat(draft["starts_at"])
        draft["ends_at"] = (starts + timedelta(minutes=choice)).isoformat()
        await next_question(update, context, "end", draft)
    elif action == "cap" and step == "capacity":
        draft["capacity"] = None
        await next_question(update, context, "capacity", draft)
    elif action == "dl" and step == "deadline":
        draft["signup_deadline"] = None
        await next_question(update, context, "deadline", draft)
    elif action == "pl" and step == "pledge" and choice < len(PLEDGES):
        draft["pledge"] = str(PLEDGES[choice])
        await next_question(update, context, "pledge", draft)
    elif action == "rep" and step == "repeat" and choice < len(REPEATS):
        draft["repeat"] = choice
        await next_question(update, context, "repeat", draft)
    elif action == "skip" and choice < len(STEPS) and STEPS[choice] == step:
        await next_question(update, context, step, draft)
    else:
        raise callbacks.StaleButton(update.callback_query.data)
    return None


async def _manage(update: Update, context: BotContext, action: str, ids: list[int]) -> str | None:
    if action == "pg":
        await show_list(update, context, ids[0])
    elif action == "a":
        await show_activity(update, context, ids[0])
    elif action == "ls":
        await show_people(update, context, ids[0], ids[1])
    elif action in ("qr", "sq"):
        await send_qr(update, context, ids[0], checkin=action == "qr")
    elif action == "ed":
        await ask_change(update, context, ids[0], ids[1])
    elif action == "cx":
        await confirm_cancel(update, context, ids[0])
    else:
        return await cancel_confirmed(update, context, ids[0])
    return None


async def save_new_time(update: Update, context: BotContext, activity_id: int, text: str) -> None:
    await save_change(update, context, activity_id, text, "starts_at")


async def save_new_place(update: Update, context: BotContext, activity_id: int, text: str) -> None:
    await save_change(update, context, activity_id, text, "place")
