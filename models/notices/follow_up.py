"""Following a notice up: its figures, who has not acknowledged, Remind, the reminder
before the deadline, the acknowledgement sheet, and the live figures messages.

A recipient's delivery is read from the outbox while the outbox has it (joined on the
dedup key), and from what `settle_deliveries` copied onto the recipient after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.errors import InvalidState
from models.members import Member, Membership, MembershipStatus
from models.notices.lifecycle import managed_notice
from models.notices.tables import FiguresMessage, Notice, NoticeRecipient
from models.notifications import (
    NoticeDeadlinePassed,
    NoticeReminder,
    Notification,
    notify,
)
from models.org import OrgUnit, get_unit, unit_display_name
from models.outbox import Delivery, DeliveryStatus
from models.paging import Page, clamp

# A figures message is kept up to date this long after it was opened.
FIGURES_LIVE_FOR = timedelta(hours=24)
# The reminder before a deadline: a day before it, or halfway there for a nearer one.
DEADLINE_REMINDER_BEFORE = timedelta(hours=24)


class RemindTooSoon(InvalidState):
    """Remind was pressed again before the period was over: when it may be pressed."""

    def __init__(self, retry_at: datetime) -> None:
        self.retry_at = retry_at
        super().__init__("notice.remind_too_soon", retry_at.isoformat())


@dataclass(frozen=True)
class Figures:
    recipients: int
    queued: int  # waiting in the outbox, or being sent
    delivered: int
    failed: int  # refused by Telegram, or given up (withdrawn before it went)
    blocked: int  # the member blocked the bot
    acknowledged: int

    @property
    def finished(self) -> bool:
        return self.queued == 0

    def key(self) -> str:
        """What a figures message shows, to tell whether it needs an edit."""
        return ":".join(
            str(n)
            for n in (self.recipients, self.queued, self.delivered, self.failed, self.blocked,
                      self.acknowledged)
        )  # fmt: skip


def delivery_status():  # type: ignore[no-untyped-def]
    """A recipient's delivery status: the outbox's while it has the row, else the copy."""
    return func.coalesce(Delivery.status, NoticeRecipient.outcome)


def with_delivery(query):  # type: ignore[no-untyped-def]
    return query.outerjoin(Delivery, Delivery.dedup_key == NoticeRecipient.delivery_key)


async def figures_of(session: AsyncSession, notice_ids: list[int]) -> dict[int, Figures]:
    """The figures of these notices, counted by the database in one query."""
    if not notice_ids:
        return {}
    status = delivery_status()
    count_of = lambda *states: func.count(case((status.in_(states), 1)))  # noqa: E731
    query = (
        with_delivery(
            select(
                NoticeRecipient.notice_id,
                func.count(),
                # No outbox row yet: the copy is written as the sending update commits.
                func.count(
                    case(
                        (
                            or_(
                                status.in_((DeliveryStatus.pending, DeliveryStatus.sending)),
                                status.is_(None),
                            ),
                            1,
                        )
                    )
                ),
                count_of(DeliveryStatus.sent),
                count_of(DeliveryStatus.failed, DeliveryStatus.expired),
                count_of(DeliveryStatus.unreachable),
                func.count(NoticeRecipient.acknowledged_at),
            )
        )
        .where(NoticeRecipient.notice_id.in_(notice_ids))
        .group_by(NoticeRecipient.notice_id)
    )
    found = {row[0]: Figures(*row[1:]) for row in await session.execute(query)}
    return {n: found.get(n, Figures(0, 0, 0, 0, 0, 0)) for n in notice_ids}


async def notice_figures(session: AsyncSession, notice_id: int) -> Figures:
    return (await figures_of(session, [notice_id]))[notice_id]


@dataclass(frozen=True)
class Silent:
    """A recipient who has not acknowledged, and what became of their copy."""

    member: Member
    status: DeliveryStatus | None


async def not_acknowledged_page(
    session: AsyncSession, telegram_id: int, notice_id: int, page: int, page_size: int
) -> tuple[Notice, Page[Silent]]:
    notice = await managed_notice(session, telegram_id, notice_id)
    query = with_delivery(
        select(Member, delivery_status())
        .join(NoticeRecipient, NoticeRecipient.member_id == Member.id)
        .where(NoticeRecipient.notice_id == notice.id, NoticeRecipient.acknowledged_at.is_(None))
    ).order_by(Member.real_name, Member.id)
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    shown, pages = clamp(total or 0, page, page_size)
    rows = await session.execute(query.offset((shown - 1) * page_size).limit(page_size))
    items = [Silent(member, DeliveryStatus(status) if status else None) for member, status in rows]
    return notice, Page(items, total or 0, shown, pages, page_size)


def _unacknowledged_delivered(notice: Notice):  # type: ignore[no-untyped-def]
    """Recipients who have the notice in their chat and have not acknowledged it."""
    return with_delivery(
        select(NoticeRecipient, Member.telegram_id).join(
            Member, Member.id == NoticeRecipient.member_id
        )
    ).where(
        NoticeRecipient.notice_id == notice.id,
        NoticeRecipient.acknowledged_at.is_(None),
        delivery_status() == DeliveryStatus.sent,
        Member.telegram_id.is_not(None),
        Member.forgotten_at.is_(None),
        Member.unreachable_at.is_(None),
    )


async def _remind(
    session: AsyncSession, notice: Notice, unit: OrgUnit, now: datetime, key: str
) -> int:
    rows = (await session.execute(_unacknowledged_delivered(notice))).all()
    message = NoticeReminder(notice, unit)
    for recipient, telegram_id in rows:
        dedup = f"notice:{notice.id}:{key}:{recipient.member_id}"
        expires = notice.ack_deadline
        notify(
            session, Notification(telegram_id, message, unit, dedup_key=dedup, expires_at=expires)
        )
    if rows:
        await session.execute(
            update(NoticeRecipient)
            .where(NoticeRecipient.id.in_([recipient.id for recipient, _ in rows]))
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(rows)


async def remind(
    session: AsyncSession, telegram_id: int, notice_id: int, now: datetime, every: timedelta
) -> int:
    """Remind those who have the notice and have not acknowledged it, at most once per
    `every`; how many were reminded."""
    notice = await managed_notice(session, telegram_id, notice_id)
    if notice.withdrawn_at is not None:
        raise InvalidState("notice.withdrawn", str(notice_id))
    if not notice.ack_required:
        raise InvalidState("notice.no_ack", str(notice_id))
    if notice.sent_at is None:
        raise InvalidState("notice.not_sent", str(notice_id))
    if notice.last_reminded_at is not None and now < notice.last_reminded_at + every:
        raise RemindTooSoon(notice.last_reminded_at + every)
    if not (await session.execute(_unacknowledged_delivered(notice).limit(1))).first():
        raise InvalidState("notice.nobody_to_remind", str(notice_id))
    claimed = await session.execute(
        update(Notice)
        .where(
            Notice.id == notice.id,
            or_(Notice.last_reminded_at.is_(None), Notice.last_reminded_at <= now - every),
        )
        .values(last_reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # pressed twice at once: the other press reminds
        await session.refresh(notice)
        raise RemindTooSoon((notice.last_reminded_at or now) + every)
    notice.last_reminded_at = now
    unit = await get_unit(session, notice.org_unit_id)
    return await _remind(session, notice, unit, now, f"r{int(now.timestamp())}")


def deadline_reminder_at(notice: Notice) -> datetime | None:
    """When the reminder before the deadline goes: a day before it, or halfway between
    sending and a deadline nearer than two days."""
    if notice.ack_deadline is None or notice.sent_at is None:
        return None
    span = notice.ack_deadline - notice.sent_at
    return notice.ack_deadline - min(DEADLINE_REMINDER_BEFORE, span / 2)


async def follow_up_deadlines(session: AsyncSession, now: datetime) -> int:
    """The scheduler's part: the reminder before each deadline, and the author's summary
    once it has passed. Keyed, so a scan that runs twice sends nothing twice."""
    notices = await session.scalars(
        select(Notice).where(
            Notice.ack_deadline.is_not(None),
            Notice.sent_at.is_not(None),
            Notice.withdrawn_at.is_(None),
            Notice.ack_deadline > now - timedelta(days=1),
        )
    )
    reminded = 0
    for notice in list(notices):
        assert notice.ack_deadline is not None
        unit = await get_unit(session, notice.org_unit_id)
        remind_at = deadline_reminder_at(notice)
        if now >= notice.ack_deadline:
            figures = await notice_figures(session, notice.id)
            passed = NoticeDeadlinePassed(notice, figures.acknowledged, figures.recipients)
            key = f"notice:{notice.id}:deadline"
            notify(session, Notification(notice.author_id, passed, unit, dedup_key=key))
        elif remind_at is not None and now >= remind_at:
            reminded += await _remind(session, notice, unit, now, "due")
    return reminded


@dataclass(frozen=True)
class SheetRow:
    name: str
    unit: str
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    status: DeliveryStatus | None


async def acknowledgement_sheet(
    session: AsyncSession, telegram_id: int, notice_id: int, language: str
) -> tuple[Notice, list[SheetRow]]:
    """Every recipient: name, unit, delivered at, acknowledged at (for the spreadsheet)."""
    notice = await managed_notice(session, telegram_id, notice_id)
    membership_unit = (
        select(Membership.member_id, func.min(Membership.org_unit_id).label("unit_id"))
        .where(Membership.status == MembershipStatus.active)
        .group_by(Membership.member_id)
        .subquery()
    )
    query = (
        with_delivery(
            select(
                Member.real_name,
                OrgUnit,
                func.coalesce(Delivery.sent_at, NoticeRecipient.delivered_at),
                NoticeRecipient.acknowledged_at,
                delivery_status(),
            )
            .join(NoticeRecipient, NoticeRecipient.member_id == Member.id)
            .outerjoin(membership_unit, membership_unit.c.member_id == Member.id)
            .outerjoin(OrgUnit, OrgUnit.id == membership_unit.c.unit_id)
        )
        .where(NoticeRecipient.notice_id == notice.id)
        .order_by(Member.real_name, Member.id)
    )
    rows = [
        SheetRow(
            name or "—",
            unit_display_name(unit, language) if unit is not None else "—",
            delivered,
            acknowledged,
            DeliveryStatus(status) if status else None,
        )
        for name, unit, delivered, acknowledged, status in await session.execute(query)
    ]
    return notice, rows


async def settle_deliveries(session: AsyncSession) -> int:
    """Copy what became of each finished copy onto its recipient, before the outbox
    forgets it (the prune job calls this first)."""
    finished = select(Delivery.dedup_key).where(
        Delivery.status.not_in((DeliveryStatus.pending, DeliveryStatus.sending)),
        Delivery.dedup_key.like("notice:%"),
    )
    sent_at = (
        select(Delivery.sent_at).where(Delivery.dedup_key == NoticeRecipient.delivery_key)
    ).scalar_subquery()
    status = (
        select(Delivery.status).where(Delivery.dedup_key == NoticeRecipient.delivery_key)
    ).scalar_subquery()
    result = await session.execute(
        update(NoticeRecipient)
        .where(
            NoticeRecipient.delivery_key.in_(finished),
            or_(NoticeRecipient.outcome.is_(None), NoticeRecipient.outcome != status),
        )
        .values(outcome=status, delivered_at=sent_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# --- live figures messages -------------------------------------------------------------------


async def open_figures(
    session: AsyncSession, telegram_id: int, notice_id: int, language: str, now: datetime
) -> tuple[Notice, Figures, FiguresMessage]:
    """A new live figures message of the notice in this person's chat (it replaces the
    last one there, which stops changing)."""
    notice = await managed_notice(session, telegram_id, notice_id)
    figures = await notice_figures(session, notice.id)
    watch = await session.scalar(
        select(FiguresMessage).where(
            FiguresMessage.notice_id == notice.id, FiguresMessage.chat_id == telegram_id
        )
    )
    if watch is None:
        watch = FiguresMessage(notice_id=notice.id, chat_id=telegram_id, language=language)
        session.add(watch)
    watch.message_id, watch.language, watch.opened_at = None, language, now
    watch.shown, watch.refreshed_at = figures.key(), now
    await session.flush()
    return notice, figures, watch


async def figures_shown(session: AsyncSession, watch_id: int, message_id: int) -> None:
    await session.execute(
        update(FiguresMessage).where(FiguresMessage.id == watch_id).values(message_id=message_id)
    )


@dataclass(frozen=True)
class DueFigures:
    watch: FiguresMessage
    notice: Notice
    figures: Figures


async def figures_due(session: AsyncSession, now: datetime) -> list[DueFigures]:
    """The live figures messages whose figures changed since they were last edited."""
    watches = list(
        await session.scalars(
            select(FiguresMessage).where(
                FiguresMessage.message_id.is_not(None),
                FiguresMessage.opened_at > now - FIGURES_LIVE_FOR,
            )
        )
    )
    if not watches:
        return []
    notices = {
        n.id: n
        for n in await session.scalars(
            select(Notice).where(Notice.id.in_({w.notice_id for w in watches}))
        )
    }
    figures = await figures_of(session, list(notices))
    return [
        DueFigures(w, notices[w.notice_id], figures[w.notice_id])
        for w in watches
        if figures[w.notice_id].key() != w.shown
    ]


async def figures_refreshed(
    session: AsyncSession, watch_id: int, shown: str | None, now: datetime
) -> None:
    """Record what a figures message shows now; None: it is gone, stop editing it."""
    values: dict[str, object] = {"shown": shown, "refreshed_at": now}
    if shown is None:
        values["message_id"] = None
    await session.execute(
        update(FiguresMessage).where(FiguresMessage.id == watch_id).values(**values)
    )
