"""点名: an activity's roster for whoever manages it, each member's attendance card, and the
activity's audit trail.

From a member's card the secretary checks them in (a member without a phone), marks them
present, absent or excused (each with a reason, asked as a conversation step), checks
them out, records the saplings they planted and their make-up study (补学). The domain
(models.attendance) checks the permission and the state on every press; a press on a
card whose state has changed since (another secretary was quicker) shows the card as it
is now, with why nothing was done.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, tzinfo
from functools import partial
from html import escape
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Update

from handlers.context import BotContext
from handlers.conversation import Conversation, State, Step
from handlers.ui import decide, edit_or_say, page_title, say, say_to, show
from models.activities import (
    Activity,
    ActivityKind,
    ActivityMode,
    ActivityStatus,
    CheckInMethod,
    ParticipationStatus,
    managed_activity,
)
from models.activities.drafts import typed_whole_number
from models.attendance import (
    CORRECTED_TO,
    AttendanceAction,
    Correction,
    Outcome,
    RollEntry,
    TrailEntry,
    attendance_count,
    changes_page,
    check_in_open,
    correct_attendance,
    correction_allowed,
    made_up_allowed,
    mark_made_up,
    planting_allowed,
    quorum_of,
    record_planted,
    roll_call,
    roster_check_in,
    roster_check_out,
)
from models.paging import page_of
from views.buttons import (
    AskCorrection,
    AskMarkMadeUp,
    AskSaplings,
    AttendanceCard,
    Button,
    ManageActivity,
    RollCallPage,
    RosterCheckIn,
    RosterCheckOut,
    StaleButton,
    TrailPage,
    keyboard,
    pager,
    short,
)
from views.dates import format_local, format_span
from views.labels import (
    CHECK_IN_METHOD_KEYS,
    CORRECTION_KEYS,
    OUTCOME_KEYS,
    ROLL_STATUS_KEYS,
    TRAIL_ACTION_KEYS,
)

T = TypeVar("T")

# A roster line is a number, a name (at most 50 letters: 100 UTF-16 units) and a state
# (about 60): 15 of them make about 2500, with two buttons a row under them.
ROLL_PAGE = 15
# A trail line holds two names (100 UTF-16 units each), a time, the change and its reason
# (at most 200 characters: 400 units): about 700 at most, so 5 make about 3500.
TRAIL_PAGE = 5
# A member's card shows their latest changes (trail lines) under their state.
CARD_CHANGES = 3


def management_rows(context: BotContext, activity: Activity) -> list[tuple[str, Button]]:
    """The management card's row (handlers.manage): the roster and the trail."""
    return [
        (context.t("roll.open"), RollCallPage(activity.id, 1)),
        (context.t("roll.trail"), TrailPage(activity.id, 1)),
    ]


async def quorum_lines(context: BotContext, activity: Activity) -> list[str]:
    """The management card's quorum (general meetings, before they start): how many said
    they will attend of those expected, how many must, and a warning when too few."""
    quorum = await quorum_of(context.session, activity)
    if (
        quorum is None
        or activity.status is not ActivityStatus.scheduled
        or context.now() >= activity.starts_at
    ):
        return []
    lines = [
        context.t(
            "roll.quorum",
            attending=quorum.attending,
            expected=quorum.expected,
            needed=quorum.needed,
        )
    ]
    if quorum.at_risk:
        lines.append(context.t("roll.quorum_at_risk"))
    return lines


async def _managed(update: Update, context: BotContext, activity_id: int) -> Activity:
    assert update.effective_user
    return await managed_activity(context.session, update.effective_user.id, activity_id)


def _me(update: Update) -> int:
    assert update.effective_user
    return update.effective_user.id


def _name(entry: RollEntry) -> str:
    return entry.member.real_name or "—"


def _clock(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def state_text(context: BotContext, entry: RollEntry, zone: tzinfo) -> str:
    """✅ checked in (when, how), 🙋 answered Attend, 📝 excused, ❌ absent, ⏳ no answer…"""
    row = entry.row
    if row is not None and row.checked_in_at is not None:
        method = context.t(CHECK_IN_METHOD_KEYS[row.check_in_method or CheckInMethod.secretary])
        text = context.t(
            "roll.state.checked_in", time=_clock(row.checked_in_at, zone), method=method
        )
        if row.checked_out_at is not None:
            text += context.t("roll.state.checked_out", time=_clock(row.checked_out_at, zone))
        if row.walk_in:
            text += context.t("roll.state.walk_in")
        return text
    status = row.status if row is not None else ParticipationStatus.expected
    text = context.t(ROLL_STATUS_KEYS[status])
    if row is not None and row.made_up_reported_at is not None:
        text += context.t("roll.state.made_up_reported")
    return text


# --- the roster ----------------------------------------------------------------------------


async def show_roll(update: Update, context: BotContext, press: RollCallPage) -> None:
    """Everyone the record is about, with their state, a page at a time; each a button to
    their card."""
    activity = await _managed(update, context, press.activity_id)
    zone = await context.activity_zone(activity)
    shown = page_of(await roll_call(context.session, activity), press.page, ROLL_PAGE)
    checked_in, expected = await attendance_count(context.session, activity)
    title = context.t("roll.title", title=escape(activity.title), count=shown.total)
    lines = [
        page_title(context, title, shown),
        context.t("roll.count", checked_in=checked_in, expected=expected),
        "",
    ]
    buttons: list[tuple[str, Button]] = []
    for number, entry in enumerate(shown.items, start=shown.offset + 1):
        name = _name(entry)
        lines.append(f"{number}. {escape(name)} — {state_text(context, entry, zone)}")
        buttons.append((short(f"{number}. {name}"), AttendanceCard(activity.id, entry.member.id)))
    if not shown.items:
        lines.append(context.t("manage.nobody"))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(pager(shown, partial(RollCallPage, activity.id)))
    rows.append([(context.t("button.back"), ManageActivity(activity.id))])
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))


# --- a member's card -----------------------------------------------------------------------


def trail_line(context: BotContext, item: TrailEntry, zone: tzinfo) -> str:
    """When, who (a name, a staff member's id, or the bot), whose record, what (the outcome
    before → after, where it changed), why."""
    change = item.change
    if change.changed_by is None:
        who = context.t("roll.by_bot")
    elif item.changed_by is not None:
        who = escape(item.changed_by.real_name or "—")
    else:
        who = context.t("roll.by_staff", id=change.changed_by)
    line = context.t(
        "roll.trail_line",
        when=format_local(change.changed_at, zone),
        who=who,
        member=escape(item.member.real_name or "—"),
        action=context.t(TRAIL_ACTION_KEYS[change.action]),
    )
    if change.before != change.after:
        before, after = _outcome(context, change.before), _outcome(context, change.after)
        line += context.t("roll.trail_change", before=before, after=after)
    if change.action is AttendanceAction.planted:  # the reason is the number
        line += context.t("roll.trail_saplings", count=escape(change.reason or ""))
    elif change.reason:
        line += context.t("roll.trail_reason", reason=escape(change.reason))
    return line


def _outcome(context: BotContext, value: str | None) -> str:
    return context.t(OUTCOME_KEYS[Outcome(value)]) if value else "—"


def _card_buttons(
    context: BotContext, activity: Activity, entry: RollEntry, back_page: int
) -> InlineKeyboardMarkup:
    """What may be done now: each button only where the domain would do it."""
    now = context.now()
    a, m = activity.id, entry.member.id
    row = entry.row
    checked_in = row is not None and row.checked_in_at is not None
    checked_out = row is not None and row.checked_out_at is not None
    rows: list[list[tuple[str, Button]]] = []
    live = activity.status is ActivityStatus.scheduled and now >= activity.check_in_opens_at
    if check_in_open(activity, now) and not checked_in:
        rows.append([(context.t("roll.check_in"), RosterCheckIn(a, m))])
    if live:
        corrections = [
            c
            for c in Correction
            if CORRECTED_TO[c] is not entry.outcome
            and (c is not Correction.excused or activity.mode is ActivityMode.expected)
            and (c is not Correction.absent or entry.outcome is not None)
        ]
        rows.append(
            [(context.t(CORRECTION_KEYS[c]), AskCorrection(a, m, c.value)) for c in corrections]
        )
    if live and checked_in and activity.check_out_required and not checked_out:
        rows.append([(context.t("roll.check_out"), RosterCheckOut(a, m))])
    if live and checked_in and activity.kind is ActivityKind.tree_planting:
        rows.append([(context.t("roll.saplings"), AskSaplings(a, m))])
    over = now >= activity.ends_at and activity.mode is ActivityMode.expected
    if live and over and entry.outcome is CORRECTED_TO[Correction.absent]:
        rows.append([(context.t("roll.made_up"), AskMarkMadeUp(a, m))])
    rows.append([(context.t("roll.back"), RollCallPage(a, back_page))])
    return keyboard(*rows)


async def card(
    context: BotContext, activity: Activity, member_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The member's attendance at the activity: state, times, saplings, make-up study, the
    latest changes of their record; StaleButton when they are not on its roster."""
    roll = await roll_call(context.session, activity)
    position = next((i for i, e in enumerate(roll) if e.member.id == member_id), None)
    if position is None:
        raise StaleButton(f"member {member_id} is not on the roster of {activity.id}")
    entry = roll[position]
    zone = await context.activity_zone(activity)
    row = entry.row
    lines = [
        context.t("roll.card_title", name=escape(_name(entry)), title=escape(activity.title)),
        format_span(activity.starts_at, activity.ends_at, zone, context.language),
        context.t("roll.card_state", state=state_text(context, entry, zone)),
    ]
    if row is not None and row.checked_in_at is not None:
        method = context.t(CHECK_IN_METHOD_KEYS[row.check_in_method or CheckInMethod.secretary])
        when = format_local(row.checked_in_at, zone)
        lines.append(context.t("roll.card_checked_in", when=when, method=method))
    if row is not None and row.checked_out_at is not None:
        lines.append(
            context.t("roll.card_checked_out", when=format_local(row.checked_out_at, zone))
        )
    if row is not None and row.saplings_planted is not None:
        lines.append(context.t("roll.card_saplings", count=row.saplings_planted))
    if row is not None and row.leave_reason:
        lines.append(context.t("roll.card_leave", reason=escape(row.leave_reason)))
    if row is not None and row.made_up_note:
        lines.append(context.t("roll.card_made_up", note=escape(row.made_up_note)))
    changes = await changes_page(context.session, activity.id, 1, CARD_CHANGES, member_id)
    if changes.items:
        lines += ["", context.t("roll.card_changes", count=changes.total)]
        lines += [trail_line(context, item, zone) for item in changes.items]
    back_page = position // ROLL_PAGE + 1
    return "\n".join(lines), _card_buttons(context, activity, entry, back_page)


async def _show_card(update: Update, context: BotContext, activity_id: int, member_id: int) -> None:
    """In place of the pressed card, or anew after a typed answer."""
    activity = await _managed(update, context, activity_id)
    show(update, context, *await card(context, activity, member_id))


async def card_pressed(update: Update, context: BotContext, press: AttendanceCard) -> None:
    await _show_card(update, context, press.activity_id, press.member_id)


async def _on_card(
    update: Update,
    context: BotContext,
    press: RosterCheckIn | RosterCheckOut | AskCorrection | AskSaplings | AskMarkMadeUp,
    operation: Awaitable[T],
) -> T | None:
    """A press on a member's card: the operation (which checks the permission first), or,
    refused because the state changed, the card as it is now and why."""
    return await decide(
        update,
        context,
        operation,
        lambda: _show_card(update, context, press.activity_id, press.member_id),
    )


async def check_in_pressed(update: Update, context: BotContext, press: RosterCheckIn) -> str | None:
    operation = roster_check_in(
        context.session, press.activity_id, press.member_id, _me(update), context.now()
    )
    if await _on_card(update, context, press, operation) is None:
        return None
    await _show_card(update, context, press.activity_id, press.member_id)
    return context.t("roll.checked_in_note")


async def check_out_pressed(
    update: Update, context: BotContext, press: RosterCheckOut
) -> str | None:
    operation = roster_check_out(
        context.session, press.activity_id, press.member_id, _me(update), context.now()
    )
    if await _on_card(update, context, press, operation) is None:
        return None
    await _show_card(update, context, press.activity_id, press.member_id)
    return context.t("roll.checked_out_note")


# --- what is asked: a reason, a number, what was studied ------------------------------------


async def _ask_on_card(
    update: Update,
    context: BotContext,
    press: AskCorrection | AskSaplings | AskMarkMadeUp,
    allowed: Awaitable[object],
    step: str,
    **data: str,
) -> None:
    """A question about the member of a card, once `allowed` (what the operation would
    refuse, checked first) passes; else the card as it is now and why."""
    if await _on_card(update, context, press, allowed) is None:
        return
    about = {"activity_id": press.activity_id, "member_id": press.member_id}
    await ROLL.ask(update, context, step, about | data)


async def correction_pressed(update: Update, context: BotContext, press: AskCorrection) -> None:
    """Asks the reason; refuses first what correct_attendance would refuse anyway."""
    me, now = _me(update), context.now()
    allowed = correction_allowed(
        context.session, press.activity_id, press.member_id, me, press.correction, now
    )
    await _ask_on_card(update, context, press, allowed, "reason", correction=press.correction)


async def saplings_pressed(update: Update, context: BotContext, press: AskSaplings) -> None:
    me, now = _me(update), context.now()
    allowed = planting_allowed(context.session, press.activity_id, press.member_id, me, now)
    await _ask_on_card(update, context, press, allowed, "saplings")


async def made_up_pressed(update: Update, context: BotContext, press: AskMarkMadeUp) -> None:
    me, now = _me(update), context.now()
    allowed = made_up_allowed(context.session, press.activity_id, press.member_id, me, now)
    await _ask_on_card(update, context, press, allowed, "made_up")


async def _asked_about(update: Update, context: BotContext, state: State) -> str:
    """The name of the member a question is about (the member's card checks the rest)."""
    activity = await _managed(update, context, state.data["activity_id"])
    roll = await roll_call(context.session, activity)
    member = next((e for e in roll if e.member.id == state.data["member_id"]), None)
    if member is None:
        raise StaleButton("the member is not on the roster any more")
    return escape(_name(member))


async def ask_reason(update: Update, context: BotContext, state: State) -> None:
    correction = Correction(state.data["correction"])
    outcome = context.t(OUTCOME_KEYS[CORRECTED_TO[correction]])
    name = await _asked_about(update, context, state)
    say_to(context, _me(update), context.t("roll.ask_reason", name=name, outcome=outcome))


async def ask_saplings(update: Update, context: BotContext, state: State) -> None:
    name = await _asked_about(update, context, state)
    say_to(context, _me(update), context.t("roll.ask_saplings", name=name))


async def ask_made_up(update: Update, context: BotContext, state: State) -> None:
    name = await _asked_about(update, context, state)
    say_to(context, _me(update), context.t("roll.ask_made_up", name=name))


async def save_reason(update: Update, context: BotContext, state: State, text: str) -> None:
    """The typed reason: the correction is made, and the card shows it."""
    me = _me(update)
    activity_id, member_id = state.data["activity_id"], state.data["member_id"]
    await correct_attendance(
        context.session, activity_id, member_id, me, state.data["correction"], text, context.now()
    )
    await _done(update, context, "roll.corrected", activity_id, member_id)


async def save_saplings(update: Update, context: BotContext, state: State, text: str) -> None:
    count = typed_whole_number(text)
    if count is None:  # the question stays open
        say(update, context, context.t("error.saplings_invalid"))
        return
    activity_id, member_id = state.data["activity_id"], state.data["member_id"]
    await record_planted(context.session, activity_id, member_id, _me(update), count, context.now())
    await _done(update, context, "roll.saplings_saved", activity_id, member_id)


async def save_made_up(update: Update, context: BotContext, state: State, text: str) -> None:
    activity_id, member_id = state.data["activity_id"], state.data["member_id"]
    await mark_made_up(context.session, activity_id, member_id, _me(update), text, context.now())
    await _done(update, context, "roll.made_up_saved", activity_id, member_id)


async def _done(
    update: Update, context: BotContext, key: str, activity_id: int, member_id: int
) -> None:
    await ROLL.end(context, _me(update))
    say(update, context, context.t(key))
    await _show_card(update, context, activity_id, member_id)


ROLL = Conversation(
    "roll",
    [
        Step("reason", ask_reason, on_text=save_reason, placeholder="roll.reason_placeholder"),
        Step(
            "saplings",
            ask_saplings,
            on_text=save_saplings,
            placeholder="roll.saplings_placeholder",
        ),
        Step("made_up", ask_made_up, on_text=save_made_up, placeholder="roll.made_up_placeholder"),
    ],
)


# --- the audit trail -----------------------------------------------------------------------


async def show_trail(update: Update, context: BotContext, press: TrailPage) -> None:
    """Every change of the activity's record, newest first, a page at a time."""
    activity = await _managed(update, context, press.activity_id)
    zone = await context.activity_zone(activity)
    found = await changes_page(context.session, activity.id, press.page, TRAIL_PAGE)
    title = context.t("roll.trail_title", title=escape(activity.title), count=found.total)
    lines = [page_title(context, title, found), ""]
    lines += [trail_line(context, item, zone) for item in found.items]
    if not found.items:
        lines.append(context.t("roll.trail_empty"))
    rows = [
        pager(found, partial(TrailPage, activity.id)),
        [(context.t("button.back"), ManageActivity(activity.id))],
    ]
    edit_or_say(update, context, "\n".join(lines), keyboard(*rows))
