"""The one renderer of messages to other people, and the notifier that queues them.

`render(message, language, zone)` gives the text (HTML) and buttons of any message
the domain records (models.notifications); `OutboxNotifier` is the Telegram side's
`Notifier`: it looks up each recipient's language and each unit's time zone once,
renders, and writes the outbox row in the caller's transaction; a `Broadcast` (one
message to an audience of any size) it renders once per language, and the database
writes the copies (models.outbox.enqueue_to_members). Nothing else writes to the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from functools import singledispatch
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from models import outbox
from models.account import Account, languages
from models.activities import Activity, ActivityMode, Participation
from models.members import Member, Membership, MembershipKind, MemberType
from models.notifications import (
    AbsenceNoted,
    ActivityAnnounced,
    ActivityCancelled,
    ActivityChanged,
    ActivityReminder,
    AnswerNudge,
    Broadcast,
    Digest,
    LeaveDecided,
    LeaveRequested,
    MadeUpDecided,
    MadeUpReported,
    MembershipEnded,
    Message,
    NoticeDeadlinePassed,
    NoticePosted,
    NoticeReminder,
    NoticeSent,
    Notification,
    QuorumAtRisk,
    RecordClosed,
    ReportApproved,
    ReportRejected,
    ReportSubmitted,
    RoleGranted,
    ScheduledNoticeEmpty,
    SeatFreed,
    SilentMembers,
)
from models.org import OrgUnit, unit_display_name, unit_timezone
from models.permissions import Role
from views.activities import kind_title
from views.buttons import (
    ApproveLeave,
    ApproveReport,
    AskReportMadeUp,
    ConfirmMadeUp,
    DeclineLeave,
    DeclineMadeUp,
    ManageActivity,
    NoticeFigures,
    OpenCard,
    RejectReport,
    ShowCard,
    SilentPage,
    keyboard,
)
from views.dates import format_local, format_span, format_when
from views.i18n import LANGUAGES, Defaults, pick_language, picked_language_sql, t
from views.labels import ACTIVITY_KIND_KEYS, MEMBER_TYPE_KEYS
from views.notices import (
    notice_excerpt,
    notice_text,
    number,
    received_keyboard,
    reminder_text,
)

Rendered = tuple[str, InlineKeyboardMarkup | None]
YOU_ARE_KEYS = {
    Role.secretary: "staff.you_are_secretary",
    Role.organizer: "staff.you_are_organizer",
}
NAMES_SHOWN = 30  # of the members who have not answered


@singledispatch
def render(message: Message, language: str, zone: tzinfo) -> Rendered:
    raise TypeError(f"no renderer for {type(message).__name__}")


class OutboxNotifier:
    """Renders notifications for their recipients and queues them in the outbox."""

    def __init__(self, now: Callable[[], datetime], defaults: Defaults) -> None:
        self.now = now
        self.defaults = defaults

    async def deliver(
        self, session: AsyncSession, notifications: Sequence[Notification | Broadcast]
    ) -> None:
        """In the order they were recorded (a chat's messages go in the order queued)."""
        now = self.now()
        zones: dict[int | None, ZoneInfo] = {None: ZoneInfo(self.defaults.timezone)}
        singles: list[Notification] = []
        for notification in notifications:
            if isinstance(notification, Notification):
                singles.append(notification)
                continue
            await self._deliver_each(session, singles, zones, now)
            singles = []
            await self._broadcast(session, notification, zones, now)
        await self._deliver_each(session, singles, zones, now)

    async def _zone(
        self, session: AsyncSession, unit: OrgUnit | None, zones: dict[int | None, ZoneInfo]
    ) -> ZoneInfo:
        key = unit.id if unit is not None else None
        if unit is not None and key not in zones:
            zones[key] = await unit_timezone(session, unit, self.defaults.timezone)
        return zones[key]

    async def _deliver_each(
        self,
        session: AsyncSession,
        notifications: list[Notification],
        zones: dict[int | None, ZoneInfo],
        now: datetime,
    ) -> None:
        if not notifications:
            return
        chosen = await languages(session, [n.recipient for n in notifications])
        # One message to many (a notice) is rendered once per language and time zone.
        rendered: dict[tuple[int, str, str], tuple[str, dict[str, Any] | None]] = {}
        rows = []
        for notification in notifications:
            own, app = chosen.get(notification.recipient, (None, None))
            language = pick_language(own, app, self.defaults.language)
            zone = await self._zone(session, notification.unit, zones)
            message = notification.message
            cache_key = (id(message), language, str(zone))
            if cache_key not in rendered:
                text, markup = render(message, language, zone)
                rendered[cache_key] = text, markup.to_dict() if markup else None
            text, markup_dict = rendered[cache_key]
            rows.append(
                {
                    **self._row(message, text, markup_dict, zone, now),
                    "chat_id": notification.recipient,
                    "urgent": notification.urgent,
                    "expires_at": notification.expires_at,
                    "dedup_key": notification.dedup_key,
                }
            )
        await outbox.enqueue_many(session, rows)

    async def _broadcast(
        self,
        session: AsyncSession,
        broadcast: Broadcast,
        zones: dict[int | None, ZoneInfo],
        now: datetime,
    ) -> None:
        """The copies written by the database, each in its recipient's language."""
        zone = await self._zone(session, broadcast.unit, zones)
        rows = {}
        for language in LANGUAGES:
            text, markup = render(broadcast.message, language, zone)
            rows[language] = {
                **self._row(
                    broadcast.message, text, markup.to_dict() if markup else None, zone, now
                ),
                "urgent": broadcast.urgent,
                "expires_at": broadcast.expires_at,
            }

        def language_of(account: type[Account]) -> ColumnElement[str]:
            default = self.defaults.language
            return picked_language_sql(account.language, account.telegram_language, default)

        await outbox.enqueue_to_members(
            session,
            broadcast.members,
            rows,
            key_prefix=broadcast.dedup_prefix,
            language_of=language_of,
        )

    @staticmethod
    def _row(
        message: Message,
        text: str,
        markup: dict[str, Any] | None,
        zone: ZoneInfo,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "text": text,
            "reply_markup": markup,
            "kind": message.kind,
            "due_at": now,
            "timezone": str(zone),
            "media": message.media(),
        }


def _unit(unit: OrgUnit, language: str) -> str:
    return escape(unit_display_name(unit, language))


def _open_card(language: str, activity: Activity) -> InlineKeyboardMarkup:
    return keyboard([(t(language, "manage.open_card"), ShowCard(activity.id))])


def _manage(language: str, activity: Activity) -> InlineKeyboardMarkup:
    """For secretaries: the activity's management card (its roster, its trail), also once
    it is over and /activities lists it no more."""
    return keyboard([(t(language, "manage.open_card"), ManageActivity(activity.id))])


def _open_anew(language: str, activity: Activity) -> InlineKeyboardMarkup:
    return keyboard([(t(language, "events.open_button"), OpenCard(activity.id))])


def about_activity(language: str, activity: Activity, zone: tzinfo) -> dict[str, str]:
    """The values every message about an activity may name."""
    return {
        "kind": t(language, ACTIVITY_KIND_KEYS[activity.kind]),
        "title": escape(activity.title),
        "kind_title": escape(kind_title(activity.kind, activity.title, language)),
        "when": format_when(activity.starts_at.astimezone(zone), language),
        "place": escape(activity.place or "—"),
    }


# --- reporting and membership ----------------------------------------------------------------


def member_type_text(member: Member, language: str) -> str:
    """ "Floating member (home branch: …)", or the type alone."""
    kind = member.member_type
    text = t(language, MEMBER_TYPE_KEYS[kind]) if kind else "—"
    if kind is MemberType.floating and member.home_branch:
        text += t(language, "profile.home_branch_suffix", home=escape(member.home_branch))
    return text


def report_card_text(membership: Membership, language: str, zone: tzinfo) -> str:
    member = membership.member
    community = membership.kind is MembershipKind.community
    return t(
        language,
        "report.card_community" if community else "report.card",
        name=escape(member.real_name or "—"),
        type=member_type_text(member, language),
        phone=escape(member.phone or "—"),
        workplace=escape(member.workplace or "—"),
        unit=_unit(membership.unit, language),
        time=format_local(membership.requested_at, zone),
    )


@render.register(ReportSubmitted)
def _(message: ReportSubmitted, language: str, zone: tzinfo) -> Rendered:
    report = message.membership
    markup = keyboard(
        [
            (t(language, "report.approve_button"), ApproveReport(report.id)),
            (t(language, "report.reject_button"), RejectReport(report.id)),
        ]
    )
    return report_card_text(report, language, zone), markup


@render.register(ReportApproved)
def _(message: ReportApproved, language: str, zone: tzinfo) -> Rendered:
    return t(language, "report.approved", unit=_unit(message.unit, language)), None


@render.register(ReportRejected)
def _(message: ReportRejected, language: str, zone: tzinfo) -> Rendered:
    unit, reason = _unit(message.unit, language), escape(message.reason)
    return t(language, "report.rejected", unit=unit, reason=reason), None


@render.register(MembershipEnded)
def _(message: MembershipEnded, language: str, zone: tzinfo) -> Rendered:
    return t(language, "staff.member_told_removed", unit=_unit(message.unit, language)), None


@render.register(RoleGranted)
def _(message: RoleGranted, language: str, zone: tzinfo) -> Rendered:
    return t(language, YOU_ARE_KEYS[message.role], unit=_unit(message.unit, language)), None


# --- activities ----------------------------------------------------------------------------------


@render.register(ActivityChanged)
def _(message: ActivityChanged, language: str, zone: tzinfo) -> Rendered:
    text = t(language, "manage.told_changed", **about_activity(language, message.activity, zone))
    return text, _open_card(language, message.activity)


@render.register(ActivityCancelled)
def _(message: ActivityCancelled, language: str, zone: tzinfo) -> Rendered:
    about = about_activity(language, message.activity, zone)
    return t(language, "manage.told_cancelled", title=about["title"], when=about["when"]), None


@render.register(SeatFreed)
def _(message: SeatFreed, language: str, zone: tzinfo) -> Rendered:
    activity = message.activity
    when = format_span(activity.starts_at, activity.ends_at, zone, language)
    text = t(language, "events.promoted", title=escape(activity.title), when=when)
    return text, _open_anew(language, activity)


def leave_card_text(
    participation: Participation, activity: Activity, member: Member, language: str, zone: tzinfo
) -> str:
    return t(
        language,
        "events.leave_card",
        name=escape(member.real_name or "—"),
        title=escape(activity.title),
        when=format_when(activity.starts_at.astimezone(zone), language),
        reason=escape(participation.leave_reason or ""),
    )


@render.register(LeaveRequested)
def _(message: LeaveRequested, language: str, zone: tzinfo) -> Rendered:
    participation = message.participation
    text = leave_card_text(participation, message.activity, message.member, language, zone)
    markup = keyboard(
        [
            (t(language, "events.approve_leave_button"), ApproveLeave(participation.id)),
            (t(language, "events.decline_leave_button"), DeclineLeave(participation.id)),
        ]
    )
    return text, markup


@render.register(LeaveDecided)
def _(message: LeaveDecided, language: str, zone: tzinfo) -> Rendered:
    about = about_activity(language, message.activity, zone)
    key = "events.leave_approved" if message.approved else "events.leave_declined"
    text = t(language, key, title=about["title"], when=about["when"])
    return text, _open_anew(language, message.activity)


@render.register(ActivityAnnounced)
def _(message: ActivityAnnounced, language: str, zone: tzinfo) -> Rendered:
    activity = message.activity
    expected = activity.mode is ActivityMode.expected
    key = "remind.invitation" if expected else "remind.announcement"
    return t(language, key, **about_activity(language, activity, zone)), _open_card(
        language, activity
    )


def check_in_ways(language: str, activity: Activity) -> str:
    """How members check in at this activity, as its creator chose."""
    ways = []
    if activity.check_in_by_qr:
        ways.append(t(language, "remind.way_qr"))
    if activity.check_in_by_code:
        ways.append(t(language, "remind.way_code"))
    if activity.check_in_by_location and activity.latitude is not None:
        ways.append(t(language, "remind.way_location"))
    if not ways:
        return t(language, "remind.check_in_roster")
    return t(language, "remind.check_in_ways", ways=t(language, "remind.ways_joiner").join(ways))


@render.register(ActivityReminder)
def _(message: ActivityReminder, language: str, zone: tzinfo) -> Rendered:
    about = about_activity(language, message.activity, zone)
    text = t(
        language,
        "remind.reminder",
        hours=message.hours,
        check_in=check_in_ways(language, message.activity),
        **about,
    )
    return text, _open_card(language, message.activity)


@render.register(AnswerNudge)
def _(message: AnswerNudge, language: str, zone: tzinfo) -> Rendered:
    text = t(language, "remind.nudge", **about_activity(language, message.activity, zone))
    return text, _open_card(language, message.activity)


@render.register(SilentMembers)
def _(message: SilentMembers, language: str, zone: tzinfo) -> Rendered:
    text = t(
        language,
        "remind.unanswered",
        names=", ".join(escape(name) for name in message.names[:NAMES_SHOWN]),
        count=len(message.names),
        **about_activity(language, message.activity, zone),
    )
    return text, _open_card(language, message.activity)


# --- the attendance record ----------------------------------------------------------------------


@render.register(AbsenceNoted)
def _(message: AbsenceNoted, language: str, zone: tzinfo) -> Rendered:
    text = t(language, "record.absence_noted", **about_activity(language, message.activity, zone))
    button = AskReportMadeUp(message.activity.id)
    return text, keyboard([(t(language, "record.made_up_button"), button)])


def made_up_card_text(
    participation: Participation, activity: Activity, member: Member, language: str, zone: tzinfo
) -> str:
    return t(
        language,
        "record.made_up_card",
        name=escape(member.real_name or "—"),
        note=escape(participation.made_up_note or ""),
        **about_activity(language, activity, zone),
    )


def made_up_buttons(language: str, participation: Participation) -> InlineKeyboardMarkup:
    return keyboard(
        [
            (t(language, "record.confirm_made_up_button"), ConfirmMadeUp(participation.id)),
            (t(language, "record.decline_made_up_button"), DeclineMadeUp(participation.id)),
        ]
    )


@render.register(MadeUpReported)
def _(message: MadeUpReported, language: str, zone: tzinfo) -> Rendered:
    text = made_up_card_text(
        message.participation, message.activity, message.member, language, zone
    )
    return text, made_up_buttons(language, message.participation)


@render.register(MadeUpDecided)
def _(message: MadeUpDecided, language: str, zone: tzinfo) -> Rendered:
    key = "record.made_up_confirmed" if message.approved else "record.made_up_declined"
    return t(language, key, **about_activity(language, message.activity, zone)), None


@render.register(RecordClosed)
def _(message: RecordClosed, language: str, zone: tzinfo) -> Rendered:
    lines = [
        t(language, "record.closed_title", **about_activity(language, message.activity, zone)),
        t(
            language,
            "record.closed_counts",
            present=message.present,
            expected=message.expected,
            excused=message.excused,
            absent=len(message.absent),
        ),
    ]
    if message.walk_ins:
        lines.append(t(language, "record.closed_walk_ins", count=message.walk_ins))
    if message.absent:
        names = ", ".join(escape(name) for name in message.absent[:NAMES_SHOWN])
        if len(message.absent) > NAMES_SHOWN:
            names += t(language, "record.and_more", count=len(message.absent) - NAMES_SHOWN)
        lines.append(t(language, "record.closed_absent", names=names))
    if message.quorum_needed is not None:
        reached = message.present >= message.quorum_needed
        key = "record.quorum_reached" if reached else "record.quorum_missed"
        lines.append(t(language, key, needed=message.quorum_needed, present=message.present))
    return "\n".join(lines), _manage(language, message.activity)


@render.register(QuorumAtRisk)
def _(message: QuorumAtRisk, language: str, zone: tzinfo) -> Rendered:
    text = t(
        language,
        "record.quorum_at_risk",
        attending=message.attending,
        expected=message.expected,
        needed=message.needed,
        **about_activity(language, message.activity, zone),
    )
    return text, _manage(language, message.activity)


# --- notices -------------------------------------------------------------------------------


@render.register(NoticeSent)
def _(message: NoticeSent, language: str, zone: tzinfo) -> Rendered:
    text = notice_text(message.notice, message.unit, language, zone)
    return text, received_keyboard(language, message.notice, None, zone)


@render.register(NoticePosted)
def _(message: NoticePosted, language: str, zone: tzinfo) -> Rendered:
    return notice_text(message.notice, message.unit, language, zone, in_group=True), None


@render.register(NoticeReminder)
def _(message: NoticeReminder, language: str, zone: tzinfo) -> Rendered:
    text = reminder_text(message.notice, message.unit, language, zone)
    return text, received_keyboard(language, message.notice, None, zone)


@render.register(NoticeDeadlinePassed)
def _(message: NoticeDeadlinePassed, language: str, zone: tzinfo) -> Rendered:
    notice = message.notice
    text = t(
        language,
        "notice.deadline_passed",
        excerpt=notice_excerpt(notice),
        acknowledged=number(message.acknowledged, language),
        recipients=number(message.recipients, language),
    )
    buttons = [(t(language, "figures.open_button"), NoticeFigures(notice.id))]
    if message.acknowledged < message.recipients:
        silent = message.recipients - message.acknowledged
        label = t(language, "figures.silent_button", count=number(silent, language))
        buttons.append((label, SilentPage(notice.id, 0)))
    return text, keyboard(buttons)


@render.register(ScheduledNoticeEmpty)
def _(message: ScheduledNoticeEmpty, language: str, zone: tzinfo) -> Rendered:
    return t(language, "notice.scheduled_empty", excerpt=notice_excerpt(message.notice)), None


# --- the digest ------------------------------------------------------------------------------


@render.register(Digest)
def _(message: Digest, language: str, zone: tzinfo) -> Rendered:
    sections = [t(language, "digest.title")]
    if message.pending_reports:
        sections.append(t(language, "digest.pending_reports", count=message.pending_reports))
    if message.leave_requests:
        sections.append(t(language, "digest.leave_requests", count=message.leave_requests))
    if message.tomorrow:
        lines = [
            f"• {activity.starts_at.astimezone(zone):%H:%M} {escape(activity.title)}"
            for activity in message.tomorrow
        ]
        sections.append("\n".join([t(language, "digest.tomorrow"), *lines]))
    if message.unreachable:
        names = ", ".join(escape(name) for name in message.unreachable_names)
        sections.append(t(language, "digest.unreachable", count=message.unreachable, names=names))
    return "\n\n".join(sections), None
