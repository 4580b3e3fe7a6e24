"""Which table holds what about a person, and what /mydata and /forget do with it.

Every table with a column that names a member or a Telegram user or chat (PERSON_COLUMNS)
is listed here, in EXPORTED (the section of the file that holds its rows) or in
NOT_EXPORTED (why not, and what forgetting does). tests/domain/test_privacy.py reads the
tables from the models and fails on one that is in neither, so a new table cannot hold
a person's data without a decision about it.

Columns that say which member of staff acted for the branch (created_by, decided_by,
changed_by, author_id, granted_by, ...) are the branch's record of its own decisions:
they are neither exported (the secretary's data, not the member's) nor erased, except
where the person acted on their own record (a check-in, leaving a unit), which
forgetting clears.
"""

from __future__ import annotations

PERSON_COLUMNS = frozenset({"member_id", "telegram_id", "chat_id"})

# table → the section of export_member_data that holds its rows. What forgetting does with
# each is in models.privacy.forget (and the README's privacy paragraph).
EXPORTED: dict[str, str] = {
    "members": "profile",
    "accounts": "account",  # keyed by the Telegram id itself (accounts.id)
    "memberships": "memberships",
    "role_grants": "roles",
    "participations": "participations",
    "attendance_changes": "attendance_changes",
    "notice_recipients": "notices",
    "deliveries": "messages",  # the outbox: to their chat (chat_id)
    "check_in_code_attempts": "check_in_code_attempts",
    "inbound_updates": "updates_received",  # their sender id is inside the raw update
}

# table → why its rows are not in the file.
NOT_EXPORTED: dict[str, str] = {
    "check_in_screens": (
        "a secretary's check-in screen in their own chat: what it shows is the activity's; "
        "forgetting closes those still open"
    ),
    "notice_figures_messages": (
        "a secretary's live figures of a notice in their own chat: the notice's figures; "
        "forgetting deletes them, so they are no longer edited"
    ),
    "group_links": "a group chat linked to a unit: the group's id, not a person's",
    "digest_days": (
        "the days a secretary's daily digest was made, nothing of what it said, kept a week; "
        "forgetting deletes them"
    ),
}
