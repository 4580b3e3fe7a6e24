"""Catalog keys for the values of domain enums, shared by handlers and the scheduler.

Literal keys (not f-strings), so that the catalog test sees each one.
"""

from __future__ import annotations

from models.activities import ActivityKind, CheckInMethod, ParticipationStatus, PledgeKind
from models.attendance import AttendanceAction, Correction, Outcome
from models.members import MembershipStatus, MemberType, RosterFilter
from models.outbox import DeliveryStatus
from models.permissions import Role
from models.stats.period import Preset

ACTIVITY_KIND_KEYS = {
    ActivityKind.general_meeting: "activity.kind.general_meeting",
    ActivityKind.committee_meeting: "activity.kind.committee_meeting",
    ActivityKind.group_meeting: "activity.kind.group_meeting",
    ActivityKind.lecture: "activity.kind.lecture",
    ActivityKind.theme_day: "activity.kind.theme_day",
    ActivityKind.volunteer: "activity.kind.volunteer",
    ActivityKind.tree_planting: "activity.kind.tree_planting",
    ActivityKind.other: "activity.kind.other",
}

MEMBER_TYPE_KEYS = {
    MemberType.regular: "member_type.regular",
    MemberType.floating: "member_type.floating",
    MemberType.undeclared: "member_type.undeclared",
}

MEMBERSHIP_STATUS_KEYS = {
    MembershipStatus.pending: "membership.status.pending",
    MembershipStatus.active: "membership.status.active",
    MembershipStatus.rejected: "membership.status.rejected",
    MembershipStatus.left: "membership.status.left",
    MembershipStatus.transferred: "membership.status.transferred",
}

PARTICIPATION_KEYS = {
    ParticipationStatus.signed_up: "events.status.signed_up",
    ParticipationStatus.waitlisted: "events.status.waitlisted",
    ParticipationStatus.cancelled: "events.status.cancelled",
    ParticipationStatus.expected: "events.status.expected",
    ParticipationStatus.attending: "events.status.attending",
    ParticipationStatus.leave_requested: "events.status.leave_requested",
    ParticipationStatus.excused: "events.status.excused",
    ParticipationStatus.leave_declined: "events.status.leave_declined",
    ParticipationStatus.absent: "events.status.absent",
    ParticipationStatus.made_up: "events.status.made_up",
}

OUTCOME_KEYS = {
    Outcome.attended: "events.outcome.attended",
    Outcome.excused: "events.outcome.excused",
    Outcome.absent: "events.outcome.absent",
    Outcome.made_up: "events.outcome.made_up",
    Outcome.unconfirmed: "events.outcome.unconfirmed",
}

PLEDGE_CHOICE_KEYS = {
    PledgeKind.none: "new.pledge.none",
    PledgeKind.saplings: "new.pledge.saplings",
    PledgeKind.money: "new.pledge.money",
}

PLEDGE_QUESTION_KEYS = {
    PledgeKind.saplings: "events.ask_pledge_saplings",
    PledgeKind.money: "events.ask_pledge_money",
}

PLEDGE_LINE_KEYS = {
    PledgeKind.saplings: "events.pledge_saplings",
    PledgeKind.money: "events.pledge_money",
}

ROSTER_FILTER_KEYS = {
    RosterFilter.all: "staff.filter.all",
    RosterFilter.floating: "staff.filter.floating",
    RosterFilter.regular: "staff.filter.regular",
    RosterFilter.undeclared: "staff.filter.undeclared",
}

# A copy's delivery as the acknowledgement sheets show it (waiting to go out is "queued").
DELIVERY_STATUS_KEYS = {
    DeliveryStatus.pending: "sheet.status_queued",
    DeliveryStatus.sending: "sheet.status_queued",
    DeliveryStatus.sent: "sheet.status_delivered",
    DeliveryStatus.failed: "sheet.status_failed",
    DeliveryStatus.expired: "sheet.status_withdrawn",
    DeliveryStatus.unreachable: "sheet.status_blocked",
}

PRESET_KEYS = {
    Preset.month: "stats.preset.month",
    Preset.quarter: "stats.preset.quarter",
    Preset.year: "stats.preset.year",
    Preset.last_month: "stats.preset.last_month",
    Preset.last_quarter: "stats.preset.last_quarter",
    Preset.last_year: "stats.preset.last_year",
}

ROLE_KEYS = {Role.secretary: "role.secretary", Role.organizer: "role.organizer"}

# The roster (点名): a member's state at the activity, as the secretary reads it.
ROLL_STATUS_KEYS = {
    ParticipationStatus.signed_up: "roll.status.signed_up",
    ParticipationStatus.waitlisted: "roll.status.waitlisted",
    ParticipationStatus.cancelled: "roll.status.cancelled",
    ParticipationStatus.expected: "roll.status.expected",
    ParticipationStatus.attending: "roll.status.attending",
    ParticipationStatus.leave_requested: "roll.status.leave_requested",
    ParticipationStatus.excused: "roll.status.excused",
    ParticipationStatus.leave_declined: "roll.status.leave_declined",
    ParticipationStatus.absent: "roll.status.absent",
    ParticipationStatus.made_up: "roll.status.made_up",
}

CHECK_IN_METHOD_KEYS = {
    CheckInMethod.qr: "roll.method.qr",
    CheckInMethod.location: "roll.method.location",
    CheckInMethod.code: "roll.method.code",
    CheckInMethod.secretary: "roll.method.secretary",
}

CORRECTION_KEYS = {
    Correction.present: "roll.mark_present",
    Correction.absent: "roll.mark_absent",
    Correction.excused: "roll.mark_excused",
}

TRAIL_ACTION_KEYS = {
    AttendanceAction.checked_in: "roll.action.checked_in",
    AttendanceAction.walked_in: "roll.action.walked_in",
    AttendanceAction.roster: "roll.action.roster",
    AttendanceAction.present: "roll.action.present",
    AttendanceAction.absent: "roll.action.absent",
    AttendanceAction.excused: "roll.action.excused",
    AttendanceAction.checked_out: "roll.action.checked_out",
    AttendanceAction.planted: "roll.action.planted",
    AttendanceAction.made_up_reported: "roll.action.made_up_reported",
    AttendanceAction.made_up: "roll.action.made_up",
    AttendanceAction.made_up_declined: "roll.action.made_up_declined",
    AttendanceAction.closed: "roll.action.closed",
}
