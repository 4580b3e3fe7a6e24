"""/forget: erase a person's personal data and close what was waiting on them.

All of it in the caller's unit of work (one transaction), and forgetting twice is a
no-op. What stays is anonymous, for the branch's statistics: the member row without a
name or Telegram id (its member type kept), their memberships ended, their past
attendance (what was signed up for, attended, excused, missed, made up) and the notices
they acknowledged. What goes:

- the profile fields, the account (language, open question), role grants;
- every free text about them: leave reasons, what they studied (补学), the reasons of
  attendance changes, the reason a report was rejected; and where they checked in from;
- what was pending: open reports end (they leave the secretaries' queue); pending leave
  requests and make-up reports close (no longer shown to decide); places at activities
  not yet over are given up, a seat through the sign-up path (the first on the waitlist
  gets it and is told), and their rows at organisational life still to come are
  cancelled (they are not expected there any more); copies of notices still waiting
  for their acknowledgement are removed, so nobody waits for them;
- the outbox: messages not yet sent to them expire (a notice's figures count those as
  not delivered), then every message to their chat is deleted; the updates received
  from them; their wrong check-in codes; a secretary's check-in screens and live
  figures in their chat (closed, deleted).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.account import Account
from models.activities import (
    EXPECTED_KINDS,
    Activity,
    ActivityStatus,
    Participation,
    ParticipationStatus,
    give_up_place,
    lock_activity,
    participation_of,
)
from models.attendance.tables import (
    AttendanceAction,
    AttendanceChange,
    CheckInScreen,
    CodeAttempts,
)
from models.inbox import delete_updates_from
from models.members import OPEN_STATUSES, Member, Membership, MembershipStatus, get_member
from models.notices.tables import FiguresMessage, Notice, NoticeRecipient
from models.outbox import Delivery, DeliveryStatus
from models.permissions import RoleGrant
from models.staff import DigestDay

# Rows at organisational life still to come that only say what the member meant to do.
_INTENDED = (
    ParticipationStatus.expected,
    ParticipationStatus.attending,
    ParticipationStatus.leave_requested,
    ParticipationStatus.excused,
    ParticipationStatus.leave_declined,
)


async def forget_user(session: AsyncSession, telegram_id: int, now: datetime) -> None:
    """/forget confirmed: the member of this Telegram user forgotten, or, without a member
    row (staff named by the command line), what is kept under their Telegram id."""
    member = await get_member(session, telegram_id)
    if member is not None:
        await forget_member(session, member, now)
    else:
        await _forget_telegram_user(session, telegram_id, None, now)


async def forget_member(session: AsyncSession, member: Member, now: datetime) -> None:
    """Erase the member's personal data (right to be forgotten); forgetting twice is a no-op.
    See the module's docstring for what stays and what goes."""
    if member.forgotten_at is not None:
        return
    telegram_id = member.telegram_id
    await _give_up_places(session, member, now)
    await _close_participations(session, member, now)
    await _clear_trail(session, member, telegram_id)
    await session.execute(delete(CodeAttempts).where(CodeAttempts.member_id == member.id))
    await _end_memberships(session, member, telegram_id, now)
    await _drop_awaited_copies(session, member, now)
    if telegram_id is not None:
        await _forget_telegram_user(session, telegram_id, member, now)
    member.telegram_id = None
    member.consent_at = None
    member.real_name = None
    member.phone = None
    member.home_branch = None
    member.workplace = None
    member.unreachable_at = None
    member.forgotten_at = now
    member.updated_at = now
    await session.flush()


def _not_over(now: datetime):  # type: ignore[no-untyped-def]
    """Activities still to come or under way (their places still matter)."""
    return select(Activity.id).where(
        Activity.status == ActivityStatus.scheduled, Activity.ends_at > now
    )


async def _give_up_places(session: AsyncSession, member: Member, now: datetime) -> None:
    """Seats and waitlist places at activities not yet over, each as cancelling gives it up
    (the activity's row locked, in id order so that two at once cannot deadlock)."""
    activity_ids = list(
        await session.scalars(
            select(Participation.activity_id)
            .where(
                Participation.member_id == member.id,
                Participation.status.in_(
                    (ParticipationStatus.signed_up, ParticipationStatus.waitlisted)
                ),
                Participation.activity_id.in_(_not_over(now)),
            )
            .order_by(Participation.activity_id)
        )
    )
    for activity_id in activity_ids:
        activity = await lock_activity(session, activity_id)
        row = await participation_of(session, activity_id, member.id)
        if row is not None and row.status in (
            ParticipationStatus.signed_up,
            ParticipationStatus.waitlisted,
        ):
            await give_up_place(session, activity, row, now)


async def _close_participations(session: AsyncSession, member: Member, now: datetime) -> None:
    coming_life = _not_over(now).where(Activity.kind.in_(list(EXPECTED_KINDS)))
    await session.execute(
        update(Participation)
        .where(
            Participation.member_id == member.id,
            Participation.checked_in_at.is_(None),
            or_(
                # A leave request, whatever the activity: nobody is to decide it now.
                Participation.status == ParticipationStatus.leave_requested,
                Participation.status.in_(_INTENDED) & Participation.activity_id.in_(coming_life),
            ),
        )
        .values(status=ParticipationStatus.cancelled, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    # The free text and the place: gone from every row, past ones included. A make-up
    # report not yet decided closes with its note.
    await session.execute(
        update(Participation)
        .where(Participation.member_id == member.id)
        .values(
            leave_reason=None,
            made_up_note=None,
            made_up_reported_at=None,
            checked_in_latitude=None,
            checked_in_longitude=None,
        )
        .execution_options(synchronize_session="fetch")
    )


async def _clear_trail(session: AsyncSession, member: Member, telegram_id: int | None) -> None:
    """The reasons of the changes of their record (a planting's reason is only its number),
    and their own name as the one who changed it (a check-in, a make-up report)."""
    await session.execute(
        update(AttendanceChange)
        .where(
            AttendanceChange.member_id == member.id,
            AttendanceChange.action != AttendanceAction.planted,
            AttendanceChange.reason.is_not(None),
        )
        .values(reason=None)
        .execution_options(synchronize_session="fetch")
    )
    if telegram_id is not None:
        await session.execute(
            update(AttendanceChange)
            .where(
                AttendanceChange.member_id == member.id,
                AttendanceChange.changed_by == telegram_id,
            )
            .values(changed_by=None)
            .execution_options(synchronize_session="fetch")
        )


async def _end_memberships(
    session: AsyncSession, member: Member, telegram_id: int | None, now: datetime
) -> None:
    """Open memberships end (a pending report leaves the secretaries' queue); a rejection's
    reason goes; and that they left a unit themselves."""
    await session.execute(
        update(Membership)
        .where(Membership.member_id == member.id, Membership.status.in_(OPEN_STATUSES))
        .values(status=MembershipStatus.left, ended_at=now)
        .execution_options(synchronize_session="fetch")
    )
    await session.execute(
        update(Membership)
        .where(Membership.member_id == member.id, Membership.reject_reason.is_not(None))
        .values(reject_reason=None)
        .execution_options(synchronize_session="fetch")
    )
    if telegram_id is not None:
        await session.execute(
            update(Membership)
            .where(Membership.member_id == member.id, Membership.ended_by == telegram_id)
            .values(ended_by=None)
            .execution_options(synchronize_session="fetch")
        )


async def _drop_awaited_copies(session: AsyncSession, member: Member, now: datetime) -> None:
    """Their copies of notices whose acknowledgement is still awaited (sent, not withdrawn,
    the deadline not passed) and that they have not acknowledged: nobody waits for them,
    reminds them or lists them as not acknowledged. Acknowledged copies, and those of
    notices whose deadline passed, stay in the notices' figures."""
    awaited = select(Notice.id).where(
        Notice.ack_required.is_(True),
        Notice.sent_at.is_not(None),
        Notice.withdrawn_at.is_(None),
        or_(Notice.ack_deadline.is_(None), Notice.ack_deadline > now),
    )
    await session.execute(
        delete(NoticeRecipient)
        .where(
            NoticeRecipient.member_id == member.id,
            NoticeRecipient.acknowledged_at.is_(None),
            NoticeRecipient.notice_id.in_(awaited),
        )
        .execution_options(synchronize_session="fetch")
    )


async def _forget_telegram_user(
    session: AsyncSession, telegram_id: int, member: Member | None, now: datetime
) -> None:
    await _empty_outbox(session, telegram_id, member)
    await delete_updates_from(session, telegram_id)
    await session.execute(delete(FiguresMessage).where(FiguresMessage.chat_id == telegram_id))
    await session.execute(
        update(CheckInScreen)
        .where(CheckInScreen.chat_id == telegram_id, CheckInScreen.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    await session.execute(delete(RoleGrant).where(RoleGrant.telegram_id == telegram_id))
    await session.execute(delete(DigestDay).where(DigestDay.telegram_id == telegram_id))
    await session.execute(delete(Account).where(Account.id == telegram_id))


async def _empty_outbox(session: AsyncSession, telegram_id: int, member: Member | None) -> None:
    """Nothing more goes to their chat, and the outbox keeps nothing of it: what was waiting
    expires, each of their notice copies keeps what became of it (as models.notices'
    settle_deliveries copies it before the outbox forgets a row), then the rows go."""
    to_them = Delivery.chat_id == telegram_id
    await session.execute(
        update(Delivery)
        .where(to_them, Delivery.status.in_((DeliveryStatus.pending, DeliveryStatus.sending)))
        .values(status=DeliveryStatus.expired)
        .execution_options(synchronize_session=False)
    )
    if member is not None:
        copy = select(Delivery).where(Delivery.dedup_key == NoticeRecipient.delivery_key)
        await session.execute(
            update(NoticeRecipient)
            .where(
                NoticeRecipient.member_id == member.id,
                NoticeRecipient.delivery_key.in_(
                    select(Delivery.dedup_key).where(to_them, Delivery.dedup_key.is_not(None))
                ),
            )
            .values(
                outcome=copy.with_only_columns(Delivery.status).scalar_subquery(),
                delivered_at=copy.with_only_columns(Delivery.sent_at).scalar_subquery(),
            )
            .execution_options(synchronize_session="fetch")
        )
    await session.execute(
        delete(Delivery).where(to_them).execution_options(synchronize_session=False)
    )
