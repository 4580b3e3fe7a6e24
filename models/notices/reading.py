"""The recipient's side: acknowledging (签阅) a notice, and /notices, the list of the
notices one received (and, for secretaries, those of the units they manage)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidState, NotFound
from models.members import Member, active_unit_ids, get_member
from models.notices.lifecycle import get_notice
from models.notices.tables import Notice, NoticeRecipient
from models.org import ancestor_ids_from, parent_map
from models.paging import Page, page_of_rows
from models.permissions import Permission, managed_unit_ids


@dataclass(frozen=True)
class AcknowledgementCounts:
    asked: int  # notices sent to the member that asked to be acknowledged (not withdrawn)
    acknowledged: int  # of those, how many they acknowledged


async def acknowledgements_of(
    session: AsyncSession,
    member_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AcknowledgementCounts:
    """How many notices sent from `since` to `until` asked the member to acknowledge them,
    and how many they did: one query, counted by the database."""
    query = (
        select(func.count(), func.count(NoticeRecipient.acknowledged_at))
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .where(
            NoticeRecipient.member_id == member_id,
            Notice.ack_required.is_(True),
            Notice.withdrawn_at.is_(None),
            Notice.sent_at.is_not(None),
        )
    )
    if since is not None:
        query = query.where(Notice.sent_at >= since)
    if until is not None:
        query = query.where(Notice.sent_at < until)
    asked, acknowledged = (await session.execute(query)).one()
    return AcknowledgementCounts(asked=asked, acknowledged=acknowledged)


@dataclass(frozen=True)
class Acknowledged:
    notice: Notice
    recipient: NoticeRecipient
    already: bool  # it had been acknowledged before this press


async def _covering_units(session: AsyncSession, member: Member) -> set[int]:
    """The units whose notices concern the member: theirs and every unit above them."""
    parents = await parent_map(session)
    units = await active_unit_ids(session, member.id)
    return units | {up for unit in units for up in ancestor_ids_from(parents, unit)}


async def recipient_of(
    session: AsyncSession, telegram_id: int, notice_id: int
) -> tuple[Notice, NoticeRecipient, Member]:
    """The notice as sent to this person, who must still belong to its unit's tree."""
    notice = await get_notice(session, notice_id)
    member = await get_member(session, telegram_id)
    recipient = (
        await session.scalar(
            select(NoticeRecipient).where(
                NoticeRecipient.notice_id == notice.id, NoticeRecipient.member_id == member.id
            )
        )
        if member is not None
        else None
    )
    if member is None or recipient is None:
        raise NotFound("notice.not_a_recipient", str(notice_id))
    if notice.org_unit_id not in await _covering_units(session, member):
        raise InvalidState("notice.unit_left", str(notice_id))
    return notice, recipient, member


async def acknowledge(
    session: AsyncSession, telegram_id: int, notice_id: int, now: datetime
) -> Acknowledged:
    """Received (收到): the time is recorded once; a second press changes nothing."""
    notice, recipient, _ = await recipient_of(session, telegram_id, notice_id)
    if notice.withdrawn_at is not None:
        raise InvalidState("notice.withdrawn", str(notice_id))
    if not notice.ack_required:
        raise InvalidState("notice.no_ack", str(notice_id))
    done = await session.execute(
        update(NoticeRecipient)
        .where(NoticeRecipient.id == recipient.id, NoticeRecipient.acknowledged_at.is_(None))
        .values(acknowledged_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount:
        recipient.acknowledged_at = now
        return Acknowledged(notice, recipient, already=False)
    await session.refresh(recipient)
    return Acknowledged(notice, recipient, already=True)


@dataclass(frozen=True)
class NoticeItem:
    notice: Notice
    recipient: NoticeRecipient | None  # the person's own copy, if they were sent one
    manages: bool  # the person may follow it up


async def notices_page(
    session: AsyncSession, telegram_id: int, page: int, page_size: int
) -> Page[NoticeItem]:
    """The notices the person received from units they still belong to, and those of the
    units they manage (broadcast), newest first; withdrawn ones only to those managing."""
    member = await get_member(session, telegram_id)
    managed = await managed_unit_ids(session, telegram_id, Permission.broadcast)
    mine = (
        select(NoticeRecipient.notice_id)
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .where(
            NoticeRecipient.member_id == member.id,
            Notice.org_unit_id.in_(await _covering_units(session, member)),
            Notice.withdrawn_at.is_(None),
        )
        if member is not None
        else None
    )
    conditions = []
    if mine is not None:
        conditions.append(Notice.id.in_(mine))
    if managed is None:
        conditions.append(Notice.id.is_not(None))
    elif managed:
        conditions.append(Notice.org_unit_id.in_(managed))
    if not conditions:
        return Page([], 0, 1, 1, page_size)
    query = select(Notice).where(or_(*conditions)).order_by(Notice.send_at.desc(), Notice.id.desc())
    notices = await page_of_rows(session, query, page, page_size)
    own: dict[int, NoticeRecipient] = {}
    if member is not None and notices.items:
        rows = await session.scalars(
            select(NoticeRecipient).where(
                NoticeRecipient.member_id == member.id,
                NoticeRecipient.notice_id.in_([n.id for n in notices.items]),
            )
        )
        own = {row.notice_id: row for row in rows}
    return notices.with_items(
        [
            NoticeItem(n, own.get(n.id), managed is None or n.org_unit_id in managed)
            for n in notices.items
        ]
    )
