"""Answers, leave, check-in, the attendance record, and what the scheduler reminds of.

Organisational life: members answer Attend or Request leave (请假, with a reason);
a secretary approves (excused) or declines it. Members check in (签到) by the methods
the activity's creator chose: the rotating QR code of the secretary's check-in
screen, their location within the activity's radius, or the code read out; the
secretary checks in those without a phone from the roster, and corrects the record
with a reason. Every change of attendance is one domain operation, in one
transaction, with the permission check here, and one entry in the audit trail.
Rows are created under the activity's row lock (see models/activities/locking.py),
so a double press never makes two.

The modules, each re-exported here (`from models.attendance import X`):
- rows: the member's participation row, made on demand;
- answers: respond_attend, request_leave, decide_leave, mark_nudged;
- tokens: the signed, short-lived tokens of the rotating QR codes;
- checkin: check_in (QR, location), enter_code, check_out, by the member;
- corrections: the secretary's roster check-in, corrections, check-out, saplings, 补学;
- closing: closing the record at the end, the live count, the quorum;
- screens: the secretary's check-in and check-out screens, and the scan of their codes;
- audit: the trail of every change;
- roll_call: whom the record is about, for the secretary's roster;
- record: member_record, a member's outcomes and totals;
- reminders: announcements, due_reminders and the nudges, for the scheduler;
- tables: AttendanceChange, CodeAttempts, CheckInScreen.
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
from models.attendance.audit import TrailEntry, changes_page, clean_reason, record_change
from models.attendance.checkin import (
    CHECK_OUT_CLOSES_AFTER,
    CODE_FREE_FAILURES,
    EARTH_RADIUS_M,
    CheckInNotOpen,
    CheckInTooFar,
    CodeSlowDown,
    WrongCode,
    admission,
    check_in,
    check_in_allowed,
    check_in_open,
    check_out,
    check_out_allowed,
    check_out_open,
    check_token,
    check_window,
    clean_saplings,
    code_retry_at,
    distance_m,
    enter_code,
    method_enabled,
    typed_saplings,
)
from models.attendance.closing import (
    CLOSE_WITHIN,
    QUORUM_WARN_AHEAD,
    Quorum,
    attendance_count,
    close_record,
    quorum_needed,
    quorum_of,
    quorums_at_risk,
    records_to_close,
)
from models.attendance.corrections import (
    CORRECTED_TO,
    Correction,
    correct_attendance,
    correction_allowed,
    decide_made_up,
    made_up_allowed,
    mark_made_up,
    planting_allowed,
    record_planted,
    report_made_up,
    report_made_up_allowed,
    roster_check_in,
    roster_check_out,
)
from models.attendance.record import (
    MemberRecord,
    Outcome,
    RecordEntry,
    Totals,
    member_record,
    outcome_of,
    service_hours,
)
from models.attendance.reminders import (
    ANNOUNCE_AHEAD,
    DEFAULT_OFFSETS,
    NOT_COMING,
    Announcement,
    Reminder,
    announcements_due,
    due_reminders,
    mark_announced,
    mark_reminded,
    mark_silence_reported,
    unanswered_after_nudge,
    unanswered_for_nudge,
)
from models.attendance.roll_call import RollEntry, roll_call
from models.attendance.rows import (
    participation_row,
    require_expected,
)
from models.attendance.screens import (
    Code,
    DueScreen,
    OpenedScreen,
    ScreenAction,
    check_scan,
    check_screen_window,
    close_screen,
    managed_screen,
    mark_refreshed,
    new_code,
    open_screen,
    screen_closes_at,
    screen_count,
    screen_shown,
    screens_due,
)
from models.attendance.tables import (
    AttendanceAction,
    AttendanceChange,
    CheckInScreen,
    CodeAttempts,
    ScreenPurpose,
)
from models.attendance.tokens import (
    CONFIRM_GRACE,
    TOKEN_PREFIX,
    Token,
    check_fresh,
    make_token,
    read_token,
    signed_token,
)

__all__ = [
    "ANNOUNCE_AHEAD",
    "CHECK_OUT_CLOSES_AFTER",
    "CLOSE_WITHIN",
    "CODE_FREE_FAILURES",
    "CONFIRM_GRACE",
    "CORRECTED_TO",
    "DEFAULT_OFFSETS",
    "EARTH_RADIUS_M",
    "LEAVE_REASON_MAX",
    "NOT_COMING",
    "QUORUM_WARN_AHEAD",
    "TOKEN_PREFIX",
    "Announcement",
    "AttendanceAction",
    "AttendanceChange",
    "CheckInNotOpen",
    "CheckInScreen",
    "CheckInTooFar",
    "Code",
    "CodeAttempts",
    "CodeSlowDown",
    "Correction",
    "DueScreen",
    "MemberRecord",
    "OpenedScreen",
    "Outcome",
    "Quorum",
    "RecordEntry",
    "Reminder",
    "RollEntry",
    "ScreenAction",
    "ScreenPurpose",
    "Token",
    "Totals",
    "TrailEntry",
    "WrongCode",
    "admission",
    "announcements_due",
    "attendance_count",
    "changes_page",
    "check_fresh",
    "check_in",
    "check_in_allowed",
    "check_in_open",
    "check_out",
    "check_out_allowed",
    "check_out_open",
    "check_scan",
    "check_screen_window",
    "check_token",
    "check_window",
    "clean_reason",
    "clean_saplings",
    "close_record",
    "close_screen",
    "code_retry_at",
    "correct_attendance",
    "correction_allowed",
    "decide_leave",
    "decide_made_up",
    "distance_m",
    "due_reminders",
    "enter_code",
    "get_participation",
    "leave_allowed",
    "made_up_allowed",
    "make_token",
    "managed_screen",
    "mark_announced",
    "mark_made_up",
    "mark_nudged",
    "mark_refreshed",
    "mark_reminded",
    "mark_silence_reported",
    "member_record",
    "method_enabled",
    "new_code",
    "open_screen",
    "outcome_of",
    "participation_row",
    "planting_allowed",
    "quorum_needed",
    "quorum_of",
    "quorums_at_risk",
    "read_token",
    "record_change",
    "record_planted",
    "records_to_close",
    "report_made_up",
    "report_made_up_allowed",
    "request_leave",
    "require_expected",
    "respond_attend",
    "roll_call",
    "roster_check_in",
    "roster_check_out",
    "screen_closes_at",
    "screen_count",
    "screen_shown",
    "screens_due",
    "service_hours",
    "signed_token",
    "typed_saplings",
    "unanswered_after_nudge",
    "unanswered_for_nudge",
]
