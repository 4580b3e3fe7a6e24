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

from bot.i18n import pick_language, t
from models import inbox, outbox
from models.account import languages
from models.members import pending_reports
from models.org import get_unit, unit_timezone
from models.permissions import RoleGrant
from models.staff import unreachable_members

if TYPE_CHECKING:
    from scheduler.service import JobContext

log = logging.getLogger(__name__)


async def scan(context: JobContext) -> None:
    """Everything time-driven, in one pass."""
    try:
        await enqueue_digests(context)
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
            text = await _digest_text(session, telegram_id, language)
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


async def _digest_text(session: AsyncSession, telegram_id: int, language: str) -> str | None:
    sections: list[str] = []
    pending = await pending_reports(session, telegram_id)
    if pending:
        sections.append(t(language, "digest.pending_reports", count=len(pending)))
    unreachable = await unreachable_members(session, telegram_id)
    if unreachable:
        names = ", ".join(escape(m.real_name or "—") for m, _ in unreachable[:20])
        sections.append(t(language, "digest.unreachable", count=len(unreachable), names=names))
    if not sections:
        return None
    return "\n\n".join([t(language, "digest.title"), *sections])
