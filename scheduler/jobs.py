"""Periodic jobs. Each is a scan over the database that enqueues what has come due,
with a dedup key per message, so running one late or twice sends nothing twice."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.dates import format_when
from bot.i18n import pick_language, t
from bot.labels import ACTIVITY_KIND_KEYS
from models import inbox, outbox
from models.account import languages
from models.activities import (
    Activity,
    ActivityMode,
    ActivitySeries,
    ActivityStatus,
    activities_for_units,
    expected_members,
    generate_occurrences,
    mode_of,
)
from models.attendance import (
    due_reminders,
    mark_nudged,
    unanswered_after_nudge,
    unanswered_for_nudge,
)
from models.members import Member, pending_reports
from models.org import get_unit, unit_timezone
from models.permissions import Permission, RoleGrant, managed_unit_ids
from models.staff import reviewers_of, unreachable_members

if TYPE_CHECKING:
    from scheduler.service import JobContext

log = logging.getLogger(__name__)


async def scan(context: JobContext) -> None:
    """Everything time-driven, in one pass; each part on its own, so one failing spares the rest."""
    parts = (
        generate_series,
        enqueue_announcements,
        enqueue_reminders,
        enqueue_nudges,
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
        updates = await inbox.prune(session)
        deliveries = await outbox.prune(session, context.clock.now())
    log.info("pruned %d old update(s) and %d old deliveries", updates, deliveries)


# --- the secretaries' daily digest ---------------------------------------------------


async def _staff_timezones(context: JobContext) -> dict[int, str]:
    """Each staff member's time zone: that of their first unit, or the default (admins)."""
    default = context.config.bot.timezone
    zones: dict[int, str] = {}
    async with context.sessions() as session:
        grants = list(await session.scalars(select(RoleGrant).order_by(RoleGrant.id)))
        for grant in grants:
            if grant.telegram_id in zones:
                continue
            if grant.org_unit_id is None:
                zones[grant.telegram_id] = default
            else:
                unit = await get_unit(session, grant.org_unit_id)
                zones[grant.telegram_id] = str(await unit_timezone(session, unit, default))
    return zones


async def enqueue_digests(context: JobContext) -> None:
    """At `scheduler.digest_hour` (the secretary's local time) or later that day, once."""
    now = context.clock.now()
    digest_time = time(context.config.scheduler.digest_hour)
    zones = await _staff_timezones(context)
    default_language = context.config.bot.language
    for telegram_id, zone in zones.items():
        local = now.astimezone(ZoneInfo(zone))
        if local.time() < digest_time:
            continue
        key = f"digest:{telegram_id}:{local.date().isoformat()}"
        async with context.sessions.begin() as session:
            chosen, app = (await languages(session, [telegram_id])).get(telegram_id, (None, None))
            language = pick_language(chosen, app, default_language)
            text = await _digest_text(session, telegram_id, language, now, ZoneInfo(zone))
            if text is None:
                continue  # nothing to say: no message
            end_of_day = datetime.combine(local.date() + timedelta(days=1), time(), local.tzinfo)
            await outbox.enqueue(
                session,
                telegram_id,
                text,
                kind="digest",
                due_at=now,
                timezone=zone,
                expires_at=end_of_day,
                dedup_key=key,
            )


async def _digest_text(
    session: AsyncSession, telegram_id: int, language: str, now: datetime, zone: ZoneInfo
) -> str | None:
    sections: list[str] = []
    pending = await pending_reports(session, telegram_id)
    if pending:
        sections.append(t(language, "digest.pending_reports", count=len(pending)))
    units = await managed_unit_ids(session, telegram_id, Permission.manage_activities)
    if units is None or units:
        upcoming = (await activities_for_units(session, units, now, 1, DIGEST_ACTIVITIES)).items
        leave = sum(c.leave_requested for c in upcoming)
        if leave:
            sections.append(t(language, "digest.leave_requests", count=leave))
        tomorrow = (now.astimezone(zone) + timedelta(days=1)).date()
        lines = [
            f"• {c.activity.starts_at.astimezone(zone):%H:%M} {escape(c.activity.title)}"
            for c in upcoming
            if c.activity.starts_at.astimezone(zone).date() == tomorrow
            and c.activity.status is ActivityStatus.scheduled
        ]
        if lines:
            sections.append("\n".join([t(language, "digest.tomorrow"), *lines]))
    unreachable = await unreachable_members(session, telegram_id)
    if unreachable:
        names = ", ".join(escape(m.real_name or "—") for m, _ in unreachable[:20])
        sections.append(t(language, "digest.unreachable", count=len(unreachable), names=names))
    if not sections:
        return None
    return "\n\n".join([t(language, "digest.title"), *sections])


# --- activities: occurrences, announcements, reminders, nudges ------------------------

DIGEST_ACTIVITIES = 50  # the soonest activities a digest looks at
ANNOUNCE_AHEAD = timedelta(days=14)  # members hear of an activity at most this early
GENERATE_AHEAD = timedelta(days=92)
NUDGE_AFTER = timedelta(hours=24)  # an unanswered invitation gets one nudge after this


class _Recipients:
    """Languages and time zones, looked up once per scan."""

    def __init__(self, context: JobContext, session: AsyncSession) -> None:
        self.context, self.session = context, session
        self._zones: dict[int, ZoneInfo] = {}

    async def language(self, telegram_id: int) -> str:
        chosen, app = (await languages(self.session, [telegram_id])).get(telegram_id, (None, None))
        return pick_language(chosen, app, self.context.config.bot.language)

    async def zone(self, activity: Activity) -> ZoneInfo:
        unit_id = activity.org_unit_id
        if unit_id not in self._zones:
            unit = await get_unit(self.session, unit_id)
            self._zones[unit_id] = await unit_timezone(
                self.session, unit, self.context.config.bot.timezone
            )
        return self._zones[unit_id]

    async def enqueue(
        self, telegram_id: int, activity: Activity, key: str, text: str, kind: str
    ) -> None:
        open_card = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t(await self.language(telegram_id), "manage.open_card"),
                        callback_data=f"ev:v:{activity.id}",
                    )
                ]
            ]
        )
        await outbox.enqueue(
            self.session,
            telegram_id,
            text,
            kind=kind,
            due_at=self.context.clock.now(),
            timezone=str(await self.zone(activity)),
            reply_markup=open_card.to_dict(),
            expires_at=activity.starts_at,
            dedup_key=key,
        )


def _about(language: str, activity: Activity, zone: ZoneInfo) -> dict[str, str]:
    return {
        "kind": t(language, ACTIVITY_KIND_KEYS[activity.kind]),
        "title": escape(activity.title),
        "when": format_when(activity.starts_at.astimezone(zone), language),
        "place": escape(activity.place or "—"),
    }


async def generate_series(context: JobContext) -> None:
    """Recurring organisational life always exists some months ahead."""
    now = context.clock.now()
    async with context.sessions.begin() as session:
        for series in await session.scalars(select(ActivitySeries)):
            await generate_occurrences(session, series, now + GENERATE_AHEAD, now)


async def enqueue_announcements(context: JobContext) -> None:
    """Each member of the audience hears of an activity once, from ANNOUNCE_AHEAD before it."""
    now = context.clock.now()
    async with context.sessions.begin() as session:
        recipients = _Recipients(context, session)
        activities = await session.scalars(
            select(Activity).where(
                Activity.status == ActivityStatus.scheduled,
                Activity.starts_at > now,
                Activity.starts_at <= now + ANNOUNCE_AHEAD,
            )
        )
        for activity in list(activities):
            # Nobody is written to who blocked the bot: their secretary has them in /unreachable.
            members = [
                m
                for m in await expected_members(session, activity)
                if m.telegram_id and m.unreachable_at is None
            ]
            keys = {m.telegram_id: f"announce:{activity.id}:{m.id}" for m in members}
            done = await outbox.existing_keys(session, list(keys.values()))
            zone = await recipients.zone(activity)
            expected = mode_of(activity.kind) is ActivityMode.expected
            template = "remind.invitation" if expected else "remind.announcement"
            for telegram_id, key in keys.items():
                if key in done:
                    continue
                language = await recipients.language(telegram_id)
                text = t(language, template, **_about(language, activity, zone))
                await recipients.enqueue(telegram_id, activity, key, text, "announcement")


async def enqueue_reminders(context: JobContext) -> None:
    now = context.clock.now()
    async with context.sessions.begin() as session:
        recipients = _Recipients(context, session)
        unreachable = set(
            await session.scalars(
                select(Member.telegram_id).where(Member.unreachable_at.is_not(None))
            )
        )
        reminders = [
            r for r in await due_reminders(session, now) if r.telegram_id not in unreachable
        ]
        keys = [
            f"remind:{r.activity.id}:{r.telegram_id}:{int(r.offset.total_seconds() // 60)}"
            for r in reminders
        ]
        done = await outbox.existing_keys(session, keys)
        for reminder, key in zip(reminders, keys, strict=True):
            if key in done:
                continue
            language = await recipients.language(reminder.telegram_id)
            about = _about(language, reminder.activity, await recipients.zone(reminder.activity))
            hours = int(reminder.offset.total_seconds() // 3600)
            text = t(language, "remind.reminder", hours=hours, **about)
            await recipients.enqueue(reminder.telegram_id, reminder.activity, key, text, "reminder")


async def enqueue_nudges(context: JobContext) -> None:
    """One nudge to whoever has not answered an invitation; after that, their secretary hears."""
    now = context.clock.now()
    async with context.sessions.begin() as session:
        recipients = _Recipients(context, session)
        for activity, member in await unanswered_for_nudge(session, now, NUDGE_AFTER):
            if member.telegram_id is None:
                continue
            language = await recipients.language(member.telegram_id)
            text = t(
                language,
                "remind.nudge",
                **_about(language, activity, await recipients.zone(activity)),
            )
            key = f"nudge:{activity.id}:{member.id}"
            await recipients.enqueue(member.telegram_id, activity, key, text, "nudge")
            await mark_nudged(session, activity.id, member.id, now)
        silent: dict[int, tuple[Activity, list[str]]] = {}
        for activity, member in await unanswered_after_nudge(session, now, NUDGE_AFTER):
            silent.setdefault(activity.id, (activity, []))[1].append(member.real_name or "—")
        for activity, names in silent.values():
            for secretary in await reviewers_of(session, activity.org_unit_id):
                key = f"unanswered:{activity.id}:{secretary}"
                language = await recipients.language(secretary)
                about = _about(language, activity, await recipients.zone(activity))
                text = t(
                    language,
                    "remind.unanswered",
                    names=", ".join(escape(n) for n in names[:30]),
                    count=len(names),
                    **about,
                )
                await recipients.enqueue(secretary, activity, key, text, "unanswered")
