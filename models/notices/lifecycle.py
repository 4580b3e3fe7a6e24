"""A notice's life: created (sent now, or scheduled), sent to its audience, withdrawn.

Sending fixes the recipients (the audience at that moment) in `notice_recipients` and
records one NoticeSent per reachable recipient on the one notification path, each with
the recipient's row key as its dedup key: the outbox holds at most one copy per member,
ever, however often sending is attempted. Only one attempt gets that far: the notice is
marked sent by a conditional UPDATE first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidInput, InvalidState, NotFound
from models.members import Member
from models.notices.audience import AudienceChoice, AudienceSize, audience_query, audience_size
from models.notices.compose import (
    NoticeDraft,
    check_deadline,
    check_send_at,
    clean_body,
)
from models.notices.groups import linked_group
from models.notices.tables import Notice, NoticeRecipient
from models.notifications import (
    NoticePosted,
    NoticeSent,
    Notification,
    ScheduledNoticeEmpty,
    notify,
)
from models.org import get_unit
from models.outbox import Delivery, DeliveryStatus
from models.permissions import Permission, require


def delivery_key(notice_id: int, member_id: int) -> str:
    """The outbox dedup key of one recipient's copy."""
    return f"notice:{notice_id}:{member_id}"


def group_key(notice_id: int) -> str:
    return f"notice:{notice_id}:group"


async def check_draft(
    session: AsyncSession, author: int, draft: NoticeDraft, now: datetime
) -> AudienceSize:
    """Everything about a draft that can be refused: the permission, the text, the times,
    an audience of nobody, a group post without a linked group. The audience's size."""
    await require(session, author, Permission.broadcast, draft.unit_id)
    clean_body(draft.body_html, draft.attachment)
    if draft.send_at is not None:
        check_send_at(draft.send_at, now)
    if draft.ack_deadline is not None:
        if not draft.ack_required:
            raise InvalidInput("ack_deadline", "notice.deadline_without_ack")
        check_deadline(draft.ack_deadline, draft.send_at, now)
    if draft.post_to_group and await linked_group(session, draft.unit_id) is None:
        raise InvalidInput("post_to_group", "notice.no_group")
    size = await audience_size(session, author, draft.unit_id, draft.audience)
    if not size.recipients:
        raise InvalidInput("audience", "notice.audience_empty")
    return size


async def create_notice(
    session: AsyncSession, author: int, draft: NoticeDraft, now: datetime
) -> Notice:
    """The notice, sent at once (its copies queued in this transaction) or scheduled."""
    await check_draft(session, author, draft, now)
    attachment = draft.attachment
    notice = Notice(
        org_unit_id=draft.unit_id,
        author_id=author,
        body_html=clean_body(draft.body_html, attachment),
        attachment_kind=attachment.kind if attachment else None,
        attachment_file_id=attachment.file_id if attachment else None,
        attachment_name=attachment.name if attachment else None,
        audience=draft.audience.audience,
        audience_activity_id=draft.audience.activity_id,
        audience_notice_id=draft.audience.notice_id,
        ack_required=draft.ack_required,
        ack_deadline=draft.ack_deadline,
        post_to_group=draft.post_to_group,
        created_at=now,
        send_at=draft.send_at or now,
    )
    session.add(notice)
    await session.flush()
    if draft.send_at is None:
        await send_notice(session, notice, now)
    return notice


def choice_of(notice: Notice) -> AudienceChoice:
    return AudienceChoice(notice.audience, notice.audience_activity_id, notice.audience_notice_id)


async def send_notice(session: AsyncSession, notice: Notice, now: datetime) -> int:
    """Send the notice to its audience as it is now; the number of recipients. A notice
    sent (or withdrawn) already is left alone: 0."""
    claimed = await session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.sent_at.is_(None), Notice.withdrawn_at.is_(None))
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        return 0
    notice.sent_at = now
    unit = await get_unit(session, notice.org_unit_id)
    members = await audience_query(session, notice.author_id, notice.org_unit_id, choice_of(notice))
    rows = (
        await session.execute(
            select(Member.id, Member.telegram_id, Member.unreachable_at)
            .where(Member.id.in_(members))
            .order_by(Member.id)
        )
    ).all()
    if rows:
        await session.execute(
            insert(NoticeRecipient),
            [
                {
                    "notice_id": notice.id,
                    "member_id": member_id,
                    "delivery_key": delivery_key(notice.id, member_id),
                    # Nobody is written to who blocked the bot (their secretary has them
                    # in /unreachable); they can still read it in /notices once back.
                    "outcome": DeliveryStatus.unreachable if unreachable_at else None,
                }
                for member_id, _, unreachable_at in rows
            ],
        )
    message = NoticeSent(notice, unit)
    for member_id, telegram_id, unreachable_at in rows:
        if unreachable_at is None and telegram_id is not None:
            key = delivery_key(notice.id, member_id)
            notify(session, Notification(telegram_id, message, unit, dedup_key=key))
    notice.recipient_count = len(rows)
    if notice.post_to_group:
        group = await linked_group(session, notice.org_unit_id)
        if group is not None:
            notice.group_chat_id = group.chat_id
            posted = NoticePosted(notice, unit)
            notify(
                session, Notification(group.chat_id, posted, unit, dedup_key=group_key(notice.id))
            )
    if not rows:
        notify(session, Notification(notice.author_id, ScheduledNoticeEmpty(notice), unit))
    await session.flush()
    return len(rows)


async def due_notices(session: AsyncSession, now: datetime) -> list[Notice]:
    """Scheduled notices whose time has come."""
    rows = await session.scalars(
        select(Notice)
        .where(Notice.sent_at.is_(None), Notice.withdrawn_at.is_(None), Notice.send_at <= now)
        .order_by(Notice.send_at, Notice.id)
    )
    return list(rows)


async def get_notice(session: AsyncSession, notice_id: int) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("notice.not_found", str(notice_id))
    return notice


async def managed_notice(session: AsyncSession, telegram_id: int, notice_id: int) -> Notice:
    """A notice this person may follow up (broadcast on its unit)."""
    notice = await get_notice(session, notice_id)
    await require(session, telegram_id, Permission.broadcast, notice.org_unit_id)
    return notice


async def withdraw_notice(
    session: AsyncSession, telegram_id: int, notice_id: int, now: datetime
) -> Notice:
    """Withdraw a notice: a scheduled one is never sent; copies not yet delivered are not
    delivered; Received is refused from now on. What was delivered stays in the chats."""
    notice = await managed_notice(session, telegram_id, notice_id)
    done = await session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.withdrawn_at.is_(None))
        .values(withdrawn_at=now, withdrawn_by=telegram_id)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:
        raise InvalidState("notice.withdrawn", str(notice_id))
    notice.withdrawn_at, notice.withdrawn_by = now, telegram_id
    # Everything about it still waiting: the copies, the group post, reminders (their
    # Received would be refused) and the author's summary; every key is notice:<id>:….
    await session.execute(
        update(Delivery)
        .where(
            Delivery.dedup_key.like(f"notice:{notice.id}:%"),
            Delivery.status == DeliveryStatus.pending,
        )
        .values(status=DeliveryStatus.expired, last_error="the notice was withdrawn")
        .execution_options(synchronize_session=False)
    )
    return notice
