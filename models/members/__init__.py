"""Members, their profile, reporting to a branch (报到), rosters, and their own data.

A report is a membership in state `pending`; the secretary approves it (纳入管理,
`active`) or rejects it. Leaving, being removed and being transferred out end
an active membership (`left`, `transferred`). Rows are never deleted, so the
branch's history and statistics survive; forgetting a member erases who they
were, not that someone was there.

Rules kept by partial unique indexes (so a double press or a race cannot break
them) and checked first for a clear error:
- at most one pending-or-active membership per member and unit;
- at most one pending-or-active primary membership per member: moving to
  another branch means leaving (or being transferred out) and reporting again.
A community membership (双报到) may stand beside the primary one.

The modules, each re-exported here (`from models.members import X`):
- tables: Member and Membership, their enums and field limits;
- profile: consent and the profile fields, with their validation;
- reporting: report (报到), approving, rejecting, leaving, transferring, memberships_of;
- roster: roster pages and the floating-member register.

A member's own data (/mydata) and forgetting them (/forget) reach into every other part
of the domain, so they live in models.privacy, above all of it.
"""

from models.members.profile import (
    NAME_PUNCTUATION,
    PHONE_DIGITS_MAX,
    PHONE_DIGITS_MIN,
    PHONE_SEPARATORS,
    check_not_forgotten,
    clean_phone,
    clean_real_name,
    clean_text,
    get_member,
    give_consent,
    member_of,
    missing_profile_fields,
    profile_complete,
    read_account_and_member,
    set_member_type,
    set_phone,
    set_real_name,
    set_workplace,
    start_profile,
)
from models.members.reporting import (
    active_member,
    active_unit_ids,
    approve_report,
    get_membership,
    leave,
    leave_unit,
    memberships_of,
    pending_page,
    pending_reports,
    reject_report,
    remove_member,
    report,
    report_reviewer,
    report_to_decide,
    submit_report,
    transfer_out,
)
from models.members.roster import (
    FloatingRecord,
    RosterFilter,
    RosterPage,
    floating_register,
    roster,
)
from models.members.tables import (
    HOME_BRANCH_MAX,
    NAME_MAX,
    OPEN_STATUSES,
    REASON_MAX,
    WORKPLACE_MAX,
    Member,
    Membership,
    MembershipKind,
    MembershipStatus,
    MemberType,
    Via,
)

__all__ = [
    "HOME_BRANCH_MAX",
    "NAME_MAX",
    "NAME_PUNCTUATION",
    "OPEN_STATUSES",
    "PHONE_DIGITS_MAX",
    "PHONE_DIGITS_MIN",
    "PHONE_SEPARATORS",
    "REASON_MAX",
    "WORKPLACE_MAX",
    "FloatingRecord",
    "Member",
    "MemberType",
    "Membership",
    "MembershipKind",
    "MembershipStatus",
    "RosterFilter",
    "RosterPage",
    "Via",
    "active_member",
    "active_unit_ids",
    "approve_report",
    "check_not_forgotten",
    "clean_phone",
    "clean_real_name",
    "clean_text",
    "floating_register",
    "get_member",
    "get_membership",
    "give_consent",
    "leave",
    "leave_unit",
    "member_of",
    "memberships_of",
    "missing_profile_fields",
    "pending_page",
    "pending_reports",
    "profile_complete",
    "read_account_and_member",
    "reject_report",
    "remove_member",
    "report",
    "report_reviewer",
    "report_to_decide",
    "roster",
    "set_member_type",
    "set_phone",
    "set_real_name",
    "set_workplace",
    "start_profile",
    "submit_report",
    "transfer_out",
]
