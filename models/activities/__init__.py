"""Activities: organisational life (every member expected) and opt-in events with sign-up.

Two modes, derived from the kind:
- expected: 三会一课 and the theme day (主题党日). Every active member of the audience
  is expected; they answer Attend or Request leave (see models/attendance/).
- signup: volunteer service, tree planting, other. Members sign up for a seat; when
  the seats are gone they are waitlisted, first come first served.

The audience is the activity's unit, and with `include_subunits` every unit below it.

Seats and the waitlist under concurrency (the same on SQLite and PostgreSQL):
every operation that changes who holds a seat first locks the activity's row
(`lock_activity`). On PostgreSQL SELECT ... FOR UPDATE takes the row lock; on SQLite
every transaction holds the database's write lock from its BEGIN IMMEDIATE on
(models.db), so the others wait their turn already. Everything
after it runs one at a time per activity and reads fresh state, so a member cannot
take two places and the counters on the row (`seats_taken`, `waitlist_counter`)
stay exact. The seat itself is claimed with a conditional UPDATE
(`... WHERE capacity IS NULL OR seats_taken < capacity`) whose rowcount decides
seat or waitlist, and a CHECK constraint keeps `seats_taken <= capacity` whatever
happens. Waitlist order is `queue_number`, handed out from `waitlist_counter` under
that lock: the order in which sign-ups were accepted, stored, so it survives restarts.

Organisational life is not materialised per member: a member's participation row
appears when they answer, check in, are nudged or marked by a secretary; who is
expected is computed from the memberships.

The modules, each re-exported here (`from models.activities import X`):
- tables: the enums, limits and the three tables (ActivitySeries, Activity, Participation);
- drafts: ActivityDraft and its validation;
- lookup: one activity by id or share code, one member's participation;
- locking: lock_activity and check_open, which every change of places starts with;
- audience: audience units, expected members, whom to tell of a change;
- lifecycle: create_activity, update_activity, cancel_activity;
- listings: what members and secretaries see (upcoming, counts, participants);
- signup: sign_up, the waitlist, cancel_signup (give_up_place), seats;
- recurrence: series (SeriesDraft, create_series) and generate_occurrences;
- calendar_file: the iCalendar files: ics_for, the "Add to calendar" file; calendar_file;
- calendar: a member's own calendar (member_calendar), each entry's event.
"""

from models.activities.audience import (
    affected_telegram_ids,
    audience_unit_ids,
    audience_units_from,
    check_audience,
    concerned_member_ids,
    covering_member,
    expected_count,
    expected_members,
    in_audience,
)
from models.activities.calendar import (
    CALENDAR_AHEAD,
    CALENDAR_PAST,
    MemberCalendar,
    calendar_around,
    calendar_event_of,
    event_status,
    member_calendar,
)
from models.activities.calendar_file import (
    CalendarEvent,
    EventStatus,
    calendar_event,
    calendar_file,
    ics_for,
    uid_of,
)
from models.activities.drafts import (
    CHECK_IN_FIELDS,
    EDITABLE_FIELDS,
    ActivityDraft,
    check_draft_time,
    check_location,
    clean_capacity,
    clean_description,
    clean_place,
    clean_texts,
    clean_title,
    parse_capacity,
    validate_draft,
)
from models.activities.lifecycle import (
    URGENT_WITHIN,
    ActivityUpdate,
    cancel_activity,
    create_activity,
    new_activity,
    update_activity,
)
from models.activities.listings import (
    ActivityCounts,
    MemberActivity,
    MemberView,
    activities_for_units,
    activity_counts,
    managed_activities,
    managed_activity,
    member_view,
    not_answered,
    participations_of,
    participations_page,
    upcoming_for_member,
)
from models.activities.locking import check_open, lock_activity
from models.activities.lookup import (
    activity_by_share_code,
    get_activity,
    participation_of,
    share_payload,
)
from models.activities.recurrence import (
    GENERATE_AHEAD,
    SeriesDraft,
    create_series,
    extend_all_series,
    generate_occurrences,
    occurrence_dates,
    publish_draft,
    series_starts,
)
from models.activities.signup import (
    cancel_signup,
    claim_seat,
    fill_seats,
    give_up_place,
    join_waitlist,
    places_of,
    position_of,
    seats_left,
    sign_up,
    sign_up_allowed,
    waitlist_length,
    waitlist_position,
)
from models.activities.tables import (
    CANCEL_CUTOFF_MAX_HOURS,
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    EXPECTED_KINDS,
    PLACE_MAX,
    PLEDGE_MAX,
    SAPLINGS_MAX,
    SEAT_STATUSES,
    SERVICE_KINDS,
    SHARE_PAYLOAD_PREFIX,
    TITLE_MAX,
    Activity,
    ActivityKind,
    ActivityMode,
    ActivitySeries,
    ActivityStatus,
    CheckInMethod,
    Participation,
    ParticipationStatus,
    PledgeKind,
    RecurrenceRule,
    mode_of,
)

__all__ = [
    "CALENDAR_AHEAD",
    "CALENDAR_PAST",
    "CANCEL_CUTOFF_MAX_HOURS",
    "CAPACITY_MAX",
    "CHECK_IN_FIELDS",
    "DESCRIPTION_MAX",
    "EDITABLE_FIELDS",
    "EXPECTED_KINDS",
    "GENERATE_AHEAD",
    "PLACE_MAX",
    "PLEDGE_MAX",
    "SAPLINGS_MAX",
    "SEAT_STATUSES",
    "SERVICE_KINDS",
    "SHARE_PAYLOAD_PREFIX",
    "TITLE_MAX",
    "URGENT_WITHIN",
    "Activity",
    "ActivityCounts",
    "ActivityDraft",
    "ActivityKind",
    "ActivityMode",
    "ActivitySeries",
    "ActivityStatus",
    "ActivityUpdate",
    "CalendarEvent",
    "CheckInMethod",
    "EventStatus",
    "MemberActivity",
    "MemberCalendar",
    "MemberView",
    "Participation",
    "ParticipationStatus",
    "PledgeKind",
    "RecurrenceRule",
    "SeriesDraft",
    "activities_for_units",
    "activity_by_share_code",
    "activity_counts",
    "affected_telegram_ids",
    "audience_unit_ids",
    "audience_units_from",
    "calendar_around",
    "calendar_event",
    "calendar_event_of",
    "calendar_file",
    "cancel_activity",
    "cancel_signup",
    "check_audience",
    "check_draft_time",
    "check_location",
    "check_open",
    "claim_seat",
    "clean_capacity",
    "clean_description",
    "clean_place",
    "clean_texts",
    "clean_title",
    "concerned_member_ids",
    "covering_member",
    "create_activity",
    "create_series",
    "event_status",
    "expected_count",
    "expected_members",
    "extend_all_series",
    "fill_seats",
    "generate_occurrences",
    "get_activity",
    "give_up_place",
    "ics_for",
    "in_audience",
    "join_waitlist",
    "lock_activity",
    "managed_activities",
    "managed_activity",
    "member_calendar",
    "member_view",
    "mode_of",
    "new_activity",
    "not_answered",
    "occurrence_dates",
    "parse_capacity",
    "participation_of",
    "participations_of",
    "participations_page",
    "places_of",
    "position_of",
    "publish_draft",
    "seats_left",
    "series_starts",
    "share_payload",
    "sign_up",
    "sign_up_allowed",
    "uid_of",
    "upcoming_for_member",
    "update_activity",
    "validate_draft",
    "waitlist_length",
    "waitlist_position",
]
