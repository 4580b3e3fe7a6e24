"""Answers, leave, check-in, attendance records, and what the scheduler reminds of.

Organisational life: members answer Attend or Request leave (请假, with a reason);
a secretary approves (excused) or declines it. Check-in (签到) opens 30 minutes
before the start and closes at the end; by location it must be within 300 m.
Rows are created under the activity's row lock (see models/activities/locking.py),
so a double press never makes two.

The modules, each re-exported here (`from models.attendance import X`):
- rows: the member's participation row, made on demand;
- answers: respond_attend, request_leave, decide_leave, mark_nudged;
- checkin: check_in, mark_attendance, mark_made_up;
- record: member_record, a member's outcomes and totals;
- reminders: due_reminders and the nudges, for the scheduler.
"""

from models.attendance.answers import (
    LEAVE_REASON_MAX,
    decide_leave,
    get_participation,
    leave_allowed,
    mark_nudged,
    request_leave,
    respond_attend,
)
from models.attendance.checkin import (
    CHECK_IN_OPENS_BEFORE,
    CHECK_IN_RADIUS_M,
    EARTH_RADIUS_M,
    CheckInTooFar,
    check_in,
    check_in_allowed,
    check_in_open,
    distance_m,
    mark_attendance,
    mark_made_up,
)
from models.attendance.record import (
    MemberRecord,
    Outcome,
    RecordEntry,
    member_record,
)
from models.attendance.reminders import (
    ANNOUNCE_AHEAD,
    DEFAULT_OFFSETS,
    NOT_COMING,
    Reminder,
    due_reminders,
    reachable_audience,
    to_announce,
    unanswered_after_nudge,
    unanswered_for_nudge,
)
from models.attendance.rows import (
    participation_row,
    require_expected,
)

__all__ = [
    "ANNOUNCE_AHEAD",
    "CHECK_IN_OPENS_BEFORE",
    "CHECK_IN_RADIUS_M",
    "DEFAULT_OFFSETS",
    "EARTH_RADIUS_M",
    "LEAVE_REASON_MAX",
    "NOT_COMING",
    "CheckInTooFar",
    "MemberRecord",
    "Outcome",
    "RecordEntry",
    "Reminder",
    "check_in",
    "check_in_allowed",
    "check_in_open",
    "decide_leave",
    "distance_m",
    "due_reminders",
    "get_participation",
    "leave_allowed",
    "mark_attendance",
    "mark_made_up",
    "mark_nudged",
    "member_record",
    "participation_row",
    "reachable_audience",
    "request_leave",
    "require_expected",
    "respond_attend",
    "to_announce",
    "unanswered_after_nudge",
    "unanswered_for_nudge",
]
