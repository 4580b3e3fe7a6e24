"""Periodic jobs. Each is a scan over the database that notifies whoever something has come
due for, with a dedup key per message, so running one late or twice sends nothing twice.

Who is told what is read from the domain; the messages take the one notification
path (models.notifications), queued when the job's unit of work commits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from models import inbox, outbox
from models.account import languages
from models.activities import Activity, extend_all_series
from models.attendance import (
    Announcement,
    DueScreen,
    Nudges,
    ScreenAction,
    announcements_due,
    close_record,
    close_screen,
    due_reminders,
    mark_announced,
    mark_nudged,
    mark_nudges_queued,
    mark_refreshed,
    mark_reminded,
    mark_silence_reported,
    new_code,
    quorums_at_risk,
    records_to_close,
    screens_due,
    unanswered_after_nudge,
    unanswered_for_nudge,
)
from models.notices import (
    due_notices,
    figures_due,
    figures_refreshed,
    follow_up_deadlines,
    get_notice,
    send_notice,
    settle_deliveries,
)
from models.notifications import (
    ActivityAnnounced,
    ActivityReminder,
    AnswerNudge,
    Broadcast,
    Notification,
    QuorumAtRisk,
    SilentMembers,
    notify,
)
from models.org import OrgUnit, get_unit, unit_timezone
from models.staff import (
    digests_due,
    digests_for,
    digests_made,
    prune_digest_days,
    reviewers_of,
)
from scheduler.ratelimit import OWN_RETRY
from views.i18n import pick_language
from views.notices import figures_keyboard, figures_text
from views.screens import closed_caption, screen_caption, screen_keyboard, screen_media

if TYPE_CHECKING:
    from scheduler.service import JobContext

log = logging.getLogger(__name__)

GENERATE_AHEAD = timedelta(days=92)  # occurrences of a series that exist ahead of time
NUDGE_AFTER = timedelta(hours=24)  # an unanswered invitation gets one nudge after this


async def scan(context: JobContext) -> None:
    """Everything time-driven, in one pass; each part on its own, so one failing spares the rest."""
    parts = (
        generate_series,
        enqueue_announcements,
        enqueue_reminders,
        enqueue_nudges,
        close_records,
        warn_quorums,
        send_scheduled_notices,
        follow_up_notices,
        enqueue_digests,
    )
    try:
        for part in parts:
            try:
                await part(context)
            except Exception:
                log.exception("scheduled job %s failed; the next scan tries again", part.__name__)
    finally:
        context.sender.wake()


async def prune(context: JobContext) -> None:
    async with context.sessions.begin() as session:
        # What became of each notice's copies outlives the outbox rows.
        await settle_deliveries(session)
        updates = await inbox.prune(session)
        deliveries = await outbox.prune(session, context.clock.now())
        await prune_digest_days(session, context.clock.now())
    log.info("pruned %d old update(s) and %d old deliveries", updates, deliveries)


async def generate_series(context: JobContext) -> None:
    """Recurring organisational life always exists some months ahead."""
    now = context.clock.now()
    async with context.work() as session:
        await extend_all_series(session, now + GENERATE_AHEAD, now)


async def enqueue_announcements(context: JobContext) -> None:
    """Each member of the audience hears of an activity once, from ANNOUNCE_AHEAD before it
    (members who join later, at the next scan). The copies are written by the database,
    one statement for each activity's audience however big, each copy in its member's
    language."""
    now = context.clock.now()

    async def announce(session: AsyncSession, announcements: list[Announcement]) -> None:
        for announcement in announcements:
            if announcement.members is not None:
                message = ActivityAnnounced(announcement.activity)
                await _broadcast_about(session, announcement.members, message, "announce")
        await mark_announced(session, [a.activity.id for a in announcements], now)

    await _in_units_of_work(
        context,
        lambda session: announcements_due(session, now),
        lambda a: a.activity.announced_at is None,
        announce,
    )


T = TypeVar("T")
# Activities told to their whole audience in one unit of work. The database writes the
# copies (some tens of thousands a second), so SQLite's one write lock, which every
# member's update waits for meanwhile, is held for a moment, not for the whole scan; and
# the scan does not commit, and read the tree again, once per activity.
FIRST_TIMES_PER_WORK = 25


async def _in_units_of_work(
    context: JobContext,
    find: Callable[[AsyncSession], Awaitable[list[T]]],
    first_time: Callable[[T], bool],
    write: Callable[[AsyncSession, list[T]], Awaitable[None]],
) -> None:
    """`write` for everything `find` says is due: those told before (only who joined since
    is told now) in the unit of work that found them, those told the first time (their
    whole audience) in units of FIRST_TIMES_PER_WORK."""
    async with context.work() as session:
        due = await find(session)
        firsts = [item for item in due if first_time(item)]
        await write(session, [item for item in due if not first_time(item)])
    for start in range(0, len(firsts), FIRST_TIMES_PER_WORK):
        async with context.work() as session:
            await write(session, firsts[start : start + FIRST_TIMES_PER_WORK])


AboutActivity = ActivityAnnounced | ActivityReminder | AnswerNudge | SilentMembers | QuorumAtRisk


async def _broadcast_about(
    session: AsyncSession, members: Select[tuple[int]], message: AboutActivity, kind: str
) -> None:
    """`message` to each of `members`, keyed by kind, activity and member, and not worth
    sending once the activity has started."""
    activity = message.activity
    unit = await get_unit(session, activity.org_unit_id)
    notify(
        session,
        Broadcast(
            members,
            message,
            unit,
            dedup_prefix=f"{kind}:{activity.id}:",
            expires_at=activity.starts_at,
        ),
    )


def _about_activity(
    telegram_id: int, message: AboutActivity, unit: OrgUnit, key: str
) -> Notification:
    """A message about an activity is not worth sending once it has started."""
    return Notification(
        telegram_id, message, unit, dedup_key=key, expires_at=message.activity.starts_at
    )


async def enqueue_reminders(context: JobContext) -> None:
    now = context.clock.now()
    async with context.work() as session:
        reminders = await due_reminders(session, now)
        for reminder in reminders:
            activity = reminder.activity
            minutes = int(reminder.offset.total_seconds() // 60)
            key = f"remind:{activity.id}:{reminder.telegram_id}:{minutes}"
            message = ActivityReminder(activity, minutes // 60)
            unit = await get_unit(session, activity.org_unit_id)
            notify(session, _about_activity(reminder.telegram_id, message, unit, key))
        await mark_reminded(session, sorted({r.activity.id for r in reminders}), now)


async def enqueue_nudges(context: JobContext) -> None:
    """One nudge to whoever has not answered an invitation; after that, their secretary hears.
    Written like the announcements."""
    now = context.clock.now()

    async def nudge(session: AsyncSession, due: list[Nudges]) -> None:
        for nudges in due:
            if nudges.members is not None:
                # Who was marked just now is who is nudged: marking first is safe.
                nudged = await mark_nudged(session, nudges.activity.id, nudges.members, now)
                await _broadcast_about(session, nudged, AnswerNudge(nudges.activity), "nudge")
        await mark_nudges_queued(session, [n.activity.id for n in due], now)

    await _in_units_of_work(
        context,
        lambda session: unanswered_for_nudge(session, now, NUDGE_AFTER),
        lambda n: n.activity.nudges_queued_at is None,
        nudge,
    )
    async with context.work() as session:
        silent: dict[int, tuple[Activity, list[str]]] = {}
        for activity, member in await unanswered_after_nudge(session, now, NUDGE_AFTER):
            silent.setdefault(activity.id, (activity, []))[1].append(member.real_name or "—")
        for activity, names in silent.values():
            unit = await get_unit(session, activity.org_unit_id)
            message = SilentMembers(activity, tuple(names))
            for secretary in await reviewers_of(session, unit.id):
                key = f"unanswered:{activity.id}:{secretary}"
                notify(session, _about_activity(secretary, message, unit, key))
        await mark_silence_reported(session, list(silent), now)


async def close_records(context: JobContext) -> None:
    """Each ended activity's record closed (the secretaries get the summary, absent members
    their note), each in its own unit of work: one that fails spares the others, and the
    next scan tries it again."""
    now = context.clock.now()
    async with context.work() as session:
        ended = await records_to_close(session, now)
    for activity_id in ended:
        try:
            async with context.work() as session:
                await close_record(session, activity_id, now)
        except Exception:
            log.exception(
                "closing the record of activity %s failed; the next scan tries again", activity_id
            )


async def warn_quorums(context: JobContext) -> None:
    """The day before a general meeting that too few will attend, its secretaries hear of
    it once each."""
    now = context.clock.now()
    async with context.work() as session:
        for activity, quorum in await quorums_at_risk(session, now):
            unit = await get_unit(session, activity.org_unit_id)
            message = QuorumAtRisk(activity, quorum.attending, quorum.expected, quorum.needed)
            for secretary in await reviewers_of(session, unit.id):
                key = f"quorum:{activity.id}:{secretary}"
                notify(session, _about_activity(secretary, message, unit, key))


async def enqueue_digests(context: JobContext) -> None:
    """At `digest_hour` (the secretary's local time) or later that day, once: a day whose
    digest was made (even one with nothing to say) is not looked at again. All that fall
    due are made together, from one reading of each figure for every unit."""
    now = context.clock.now()
    settings = context.settings
    async with context.work() as session:
        due = await digests_due(session, now, settings.digest_hour, settings.defaults.timezone)
        digests = await digests_for(session, due, now)
        for item in due:
            digest = digests[item.telegram_id]
            if digest.is_empty():
                continue  # nothing to say: no message
            key = f"digest:{item.telegram_id}:{item.day.isoformat()}"
            notify(
                session,
                Notification(
                    item.telegram_id, digest, item.unit, dedup_key=key, expires_at=item.end_of_day
                ),
            )
        await digests_made(session, due)


# --- notices -------------------------------------------------------------------------------------


async def send_scheduled_notices(context: JobContext) -> None:
    """Scheduled notices whose time has come go to their audience as it is now, each in
    its own unit of work."""
    now = context.clock.now()
    async with context.work() as session:
        due = [notice.id for notice in await due_notices(session, now)]
    for notice_id in due:
        try:
            async with context.work() as session:
                await send_notice(session, await get_notice(session, notice_id), now)
        except Exception:
            log.exception("sending notice %s failed; the next scan tries again", notice_id)


async def follow_up_notices(context: JobContext) -> None:
    """The reminder before each acknowledgement deadline, and the author's summary after it."""
    async with context.work() as session:
        await follow_up_deadlines(session, context.clock.now())


async def refresh_figures(context: JobContext) -> None:
    """Every live figures message whose figures changed, edited in place: at most one edit
    per message a pass (the pass runs with the check-in screens', every 5 seconds), one pass
    at a time."""
    async with context.figures_pass:
        now = context.clock.now()
        async with context.sessions() as session:
            due = await figures_due(session, now)
            default = context.settings.defaults.timezone
            named = {
                unit_id: await get_unit(session, unit_id)
                for unit_id in {item.notice.org_unit_id for item in due}
            }
            zones = {
                unit_id: await unit_timezone(session, unit, default)
                for unit_id, unit in named.items()
            }
        for item in due:
            watch, notice, figures = item.watch, item.notice, item.figures
            unit, zone = named[notice.org_unit_id], zones[notice.org_unit_id]
            shown: str | None = figures.key()
            try:
                assert watch.message_id is not None
                await context.bot.edit_message_text(
                    figures_text(notice, unit, figures, watch.language, zone, now),
                    chat_id=watch.chat_id,
                    message_id=watch.message_id,
                    reply_markup=figures_keyboard(watch.language, notice, figures),
                    rate_limit_args=OWN_RETRY,  # type: ignore[call-arg]
                )
            except RetryAfter:
                continue  # the next pass tries again
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    shown = None  # deleted, or too old to edit: stop
            except Forbidden:
                shown = None
            except TelegramError as exc:
                log.warning("figures message %s: not refreshed (%s)", watch.id, exc.message)
                continue
            try:
                async with context.sessions.begin() as session:
                    await figures_refreshed(session, watch.id, shown, now)
            except Exception:
                log.exception(
                    "figures message %s: not recorded; the next pass edits it again", watch.id
                )


# --- check-in screens -----------------------------------------------------------------------------


async def refresh_screens(context: JobContext) -> None:
    """Every open check-in screen that needs it: a new code, a new count, or its last
    caption when its window ended. One pass at a time (the scheduled one, a test's, the
    sandbox's catch-up), each screen on its own, at most one edit per screen a pass."""
    async with context.screens_pass:
        now = context.clock.now()
        async with context.sessions() as session:
            due = await screens_due(session, now)
            chosen = await languages(session, sorted({item.screen.opened_by for item in due}))
        default = context.settings.defaults.language
        for item in due:
            language = pick_language(*chosen.get(item.screen.opened_by, (None, None)), default)
            try:
                await _edit_screen(context, item, language, now)
            except Exception:
                log.exception(
                    "check-in screen %s: not refreshed; the next pass tries again", item.screen.id
                )


async def _edit_screen(context: JobContext, item: DueScreen, language: str, now: datetime) -> None:
    """One edit of one screen, then what it shows is recorded. A message gone or no longer
    editable (400, 403) closes the screen; a 429 waits for the next pass."""
    screen, activity, settings = item.screen, item.activity, context.settings
    purpose, count, of = screen.purpose, item.count, item.of
    code = None
    try:
        if screen.message_id is None:
            pass  # never shown (its send failed): closed without a word
        elif item.action is ScreenAction.close:
            caption = closed_caption(language, activity, purpose, count, of, ended=True)
            await context.bot.edit_message_caption(
                chat_id=screen.chat_id,
                message_id=screen.message_id,
                caption=caption,
                rate_limit_args=OWN_RETRY,  # type: ignore[call-arg]
            )
        else:
            caption = screen_caption(language, activity, purpose, count, of, settings.qr_seconds)
            markup = screen_keyboard(language, screen.id)
            if item.action is ScreenAction.refresh:
                code = new_code(
                    settings.check_in_secret, activity.id, purpose, now, settings.qr_seconds
                )
                await context.bot.edit_message_media(
                    screen_media(context.bot.username, code.token, caption),
                    chat_id=screen.chat_id,
                    message_id=screen.message_id,
                    reply_markup=markup,
                    rate_limit_args=OWN_RETRY,  # type: ignore[call-arg]
                )
            else:
                await context.bot.edit_message_caption(
                    chat_id=screen.chat_id,
                    message_id=screen.message_id,
                    caption=caption,
                    reply_markup=markup,
                    rate_limit_args=OWN_RETRY,  # type: ignore[call-arg]
                )
    except RetryAfter as exc:
        log.warning(
            "check-in screen %s: Telegram asked to wait %s s; the next pass tries again",
            screen.id,
            exc.retry_after,
        )
        return
    except (BadRequest, Forbidden) as exc:
        if "not modified" not in exc.message.lower():
            log.info(
                "check-in screen %s closed: its message cannot be edited (%s)",
                screen.id,
                exc.message,
            )
            async with context.sessions.begin() as session:
                await close_screen(session, screen.id, now)
            return
    except TelegramError as exc:  # the network: the next pass tries again
        log.warning("check-in screen %s: not refreshed (%s)", screen.id, exc.message)
        return
    async with context.sessions.begin() as session:
        if item.action is ScreenAction.close:
            await close_screen(session, screen.id, now)
        else:
            await mark_refreshed(session, screen.id, count, code)
