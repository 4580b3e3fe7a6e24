"""What the domain tells people other than the one acting: the one notification path.

A domain operation decides who is told what, when and how urgently, and records it
with `notify(session, Notification(...))` on the session of its unit of work. The
unit of work (a handler's update, a scheduled job) hands what was recorded to its
`Notifier` before it commits, so the messages are written in the same transaction
as the change they announce. The Telegram side implements `Notifier` (rendering in
the recipient's language and the unit's time zone, then the delivery outbox); domain
tests read what was recorded with `take_pending`.

Messages carry the records they are about, not text: wording is the renderer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from models.activities import Activity, Participation
    from models.members import Member, Membership
    from models.notices.tables import Notice
    from models.org import OrgUnit
    from models.permissions import Role

PENDING = "branchbot.notifications"  # the key in Session.info


class Message:
    """Base of every message kind; `kind` names it in the outbox and the logs."""

    kind: ClassVar[str]

    def media(self) -> tuple[str, str] | None:
        """A photo or document the text is the caption of: ("photo" | "document", file_id)."""
        return None


@dataclass(frozen=True)
class Notification:
    recipient: int  # a Telegram user id
    message: Message
    # Its time zone is the message's, and its quiet hours are kept; None: the default's.
    unit: OrgUnit | None
    urgent: bool = False  # ignores quiet hours (a cancellation today)
    dedup_key: str | None = None  # at most one message per key, ever
    expires_at: datetime | None = None  # not worth sending after this


@dataclass(frozen=True)
class Broadcast:
    """One message to every member a query selects, however many: the outbox writes the
    copies with one statement, each in its member's language (a CASE per differing field;
    models.outbox.enqueue_to_members)."""

    members: Select[tuple[int]]  # member ids; those the bot cannot write to are left out
    message: Message
    unit: OrgUnit | None
    dedup_prefix: str  # each copy's key: the prefix and the member's id
    urgent: bool = False
    expires_at: datetime | None = None


class Notifier(Protocol):
    async def deliver(
        self, session: AsyncSession, notifications: Sequence[Notification | Broadcast]
    ) -> None:
        """Queue the messages in `session`'s transaction."""


def notify(session: AsyncSession, notification: Notification | Broadcast) -> None:
    session.info.setdefault(PENDING, []).append(notification)


def notify_each(
    session: AsyncSession,
    recipients: Sequence[int | None],
    message: Message,
    unit: OrgUnit | None,
    **how: Any,
) -> None:
    """The same message to several people; None (a forgotten member) is nobody."""
    for recipient in dict.fromkeys(recipients):
        if recipient is not None:
            notify(session, Notification(recipient, message, unit, **how))


def pending_count(session: AsyncSession) -> int:
    return len(session.info.get(PENDING, []))


def forget_since(session: AsyncSession, count: int) -> None:
    """Drop what was recorded after `pending_count` gave `count` (a rolled-back savepoint)."""
    del session.info.setdefault(PENDING, [])[count:]


def take_pending(session: AsyncSession) -> list[Notification | Broadcast]:
    """What was recorded since the last call, in order; the session forgets it."""
    return session.info.pop(PENDING, [])


# --- reporting (报到) and membership ---------------------------------------------------------


@dataclass(frozen=True)
class ReportSubmitted(Message):
    """To the unit's reviewers: a card with Approve / Reject."""

    kind = "report_card"
    membership: Membership


@dataclass(frozen=True)
class ReportApproved(Message):
    kind = "report_decided"
    unit: OrgUnit


@dataclass(frozen=True)
class ReportRejected(Message):
    kind = "report_decided"
    unit: OrgUnit
    reason: str


@dataclass(frozen=True)
class MembershipEnded(Message):
    """Removed or transferred out by the secretary."""

    kind = "membership_ended"
    unit: OrgUnit


@dataclass(frozen=True)
class RoleGranted(Message):
    kind = "appointed"
    role: Role
    unit: OrgUnit


# --- activities ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityChanged(Message):
    kind = "activity_changed"
    activity: Activity


@dataclass(frozen=True)
class ActivityCancelled(Message):
    kind = "activity_cancelled"
    activity: Activity


@dataclass(frozen=True)
class SeatFreed(Message):
    """To the first on the waitlist, who now has the seat."""

    kind = "seat_freed"
    activity: Activity


@dataclass(frozen=True)
class LeaveRequested(Message):
    """To the unit's reviewers: a card with Approve / Decline."""

    kind = "leave_request"
    participation: Participation
    activity: Activity
    member: Member


@dataclass(frozen=True)
class LeaveDecided(Message):
    kind = "leave_decided"
    activity: Activity
    approved: bool


@dataclass(frozen=True)
class ActivityAnnounced(Message):
    """An invitation to a meeting, or news of an event one can sign up for."""

    kind = "announcement"
    activity: Activity


@dataclass(frozen=True)
class ActivityReminder(Message):
    kind = "reminder"
    activity: Activity
    hours: int


@dataclass(frozen=True)
class AnswerNudge(Message):
    """The one reminder to answer an invitation."""

    kind = "nudge"
    activity: Activity


@dataclass(frozen=True)
class SilentMembers(Message):
    """To the secretary: who has not answered even after the nudge."""

    kind = "unanswered"
    activity: Activity
    names: tuple[str, ...]


# --- the attendance record ---------------------------------------------------------------------


@dataclass(frozen=True)
class AbsenceNoted(Message):
    """To a member marked absent when a meeting's record closed: they may report 补学."""

    kind = "absence_noted"
    activity: Activity


@dataclass(frozen=True)
class MadeUpReported(Message):
    """To the unit's reviewers: a member's report of make-up study, with Confirm / Decline."""

    kind = "made_up_report"
    participation: Participation
    activity: Activity
    member: Member


@dataclass(frozen=True)
class MadeUpDecided(Message):
    kind = "made_up_decided"
    activity: Activity
    approved: bool


@dataclass(frozen=True)
class RecordClosed(Message):
    """To the unit's secretaries when an activity's record closes: the summary."""

    kind = "record_closed"
    activity: Activity
    present: int
    excused: int
    absent: tuple[str, ...]  # names
    walk_ins: int
    expected: int  # expected, or holding a seat
    quorum_needed: int | None  # general meetings: more than half of those expected


@dataclass(frozen=True)
class QuorumAtRisk(Message):
    """To the unit's secretaries the day before a general meeting that too few will attend."""

    kind = "quorum_at_risk"
    activity: Activity
    attending: int
    expected: int
    needed: int


# --- notices (通知) ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NoticeSent(Message):
    """A notice to one of its recipients (one instance for all of them: rendered once per
    language); with Received (收到) when it asks for acknowledgement."""

    kind = "notice"
    notice: Notice
    unit: OrgUnit

    def media(self) -> tuple[str, str] | None:
        notice = self.notice
        if notice.attachment_kind is None or notice.attachment_file_id is None:
            return None
        return notice.attachment_kind.value, notice.attachment_file_id


@dataclass(frozen=True, eq=False)
class NoticePosted(NoticeSent):
    """The notice in the unit's linked group chat: acknowledged in private chats."""

    kind = "notice_group"


@dataclass(frozen=True, eq=False)
class NoticeReminder(Message):
    """To a recipient who has not acknowledged: by the author's Remind, or before the deadline."""

    kind = "notice_reminder"
    notice: Notice
    unit: OrgUnit


@dataclass(frozen=True)
class NoticeDeadlinePassed(Message):
    """To the author at the deadline: how many acknowledged, with the list of the others."""

    kind = "notice_deadline"
    notice: Notice
    acknowledged: int
    recipients: int


@dataclass(frozen=True)
class ScheduledNoticeEmpty(Message):
    """To the author: at its time, a scheduled notice's audience was nobody."""

    kind = "notice_empty"
    notice: Notice


# The cards a secretary acts on, one to each of them: sent at once even in quiet hours,
# silently (models.quiet). The outbox sender tells them by their kind.
CARD_KINDS = frozenset(kind.kind for kind in (ReportSubmitted, LeaveRequested, MadeUpReported))


# --- the secretaries' daily digest ----------------------------------------------------------------

UNREACHABLE_NAMED = 20  # of the members who blocked the bot, the digest names this many


@dataclass(frozen=True)
class Digest(Message):
    kind = "digest"
    pending_reports: int = 0
    leave_requests: int = 0
    tomorrow: tuple[Activity, ...] = ()
    unreachable: int = 0  # members who blocked the bot
    unreachable_names: tuple[str, ...] = ()  # the first UNREACHABLE_NAMED, by name

    def is_empty(self) -> bool:
        return not (
            self.pending_reports or self.leave_requests or self.tomorrow or self.unreachable
        )
