"""Catalog keys for the values of domain enums, shared by handlers and the scheduler.

Literal keys (not f-strings), so that the catalog test sees each one.
"""

from __future__ import annotations

from models.activities import ActivityKind

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
