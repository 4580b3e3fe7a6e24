"""What a secretary typed for a new activity (ActivityDraft), and its validation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from models.activities.tables import (
    CANCEL_CUTOFF_MAX_HOURS,
    CAPACITY_MAX,
    CHECK_IN_RADIUS_DEFAULT_M,
    CHECK_IN_RADIUS_MAX_M,
    CHECK_IN_RADIUS_MIN_M,
    DESCRIPTION_MAX,
    PLACE_MAX,
    SERVICE_KINDS,
    TITLE_MAX,
    ActivityKind,
    ActivityMode,
    PledgeKind,
    mode_of,
)
from models.errors import InvalidInput
from models.text import clean_text


@dataclass(frozen=True)
class ActivityDraft:
    """The fields of a new activity, as collected by the guided conversation."""

    kind: ActivityKind | str
    title: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    place: str = ""
    latitude: float | None = None
    longitude: float | None = None
    signup_deadline: datetime | None = None
    capacity: int | None = None
    pledge_kind: PledgeKind | str = PledgeKind.none
    cancel_cutoff_hours: int = 2
    include_subunits: bool = False
    # How members check in (see models.attendance.checkin); the roster always works.
    check_in_by_qr: bool = True
    check_in_by_code: bool = True
    check_in_by_location: bool = False
    check_in_radius_m: int = CHECK_IN_RADIUS_DEFAULT_M
    check_out_required: bool = False
    walk_ins_allowed: bool = False


EDITABLE_FIELDS = frozenset(f.name for f in fields(ActivityDraft)) - {"kind"}
# How members check in: chosen by the activity's creator, not shown to members.
CHECK_IN_FIELDS = (
    "check_in_by_qr",
    "check_in_by_code",
    "check_in_by_location",
    "check_in_radius_m",
    "check_out_required",
    "walk_ins_allowed",
)


# Longer typed numbers are refused unread: int() of a long string is slow, and past
# 4,300 digits it raises ValueError. Every maximum here (CAPACITY_MAX, PLEDGE_MAX) is shorter.
TYPED_DIGITS_MAX = 12


def typed_whole_number(text: str) -> int | None:
    """What a person typed as a whole number, or None: digits only (of any script: Chinese
    keyboards type full-width ones), at most TYPED_DIGITS_MAX of them."""
    text = text.strip()
    if not text.isdecimal() or len(text) > TYPED_DIGITS_MAX:
        return None
    return int(text)


def parse_capacity(text: str) -> int | None:
    """A typed capacity: empty means unlimited; else 1..10000, or InvalidInput capacity.invalid."""
    if not text.strip():
        return None
    capacity = typed_whole_number(text)
    if capacity is None:
        raise InvalidInput("capacity", "capacity.invalid", detail="not a whole number")
    return _check_capacity(capacity)


def _check_capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= CAPACITY_MAX:
        raise InvalidInput("capacity", "capacity.invalid", detail=f"1..{CAPACITY_MAX}")
    return value


def clean_capacity(text: str) -> int:
    """A capacity typed where a number was asked for: 1..10000 (no limit is a button)."""
    capacity = parse_capacity(text)
    if capacity is None:
        raise InvalidInput("capacity", "capacity.invalid", detail="empty")
    return capacity


def clean_title(title: str) -> str:
    """1-100 characters (models.text.clean_text): title.empty, title.too_long, title.invalid."""
    return clean_text(title, "title", TITLE_MAX, required=True)


def clean_description(description: str, *, required: bool = True) -> str:
    """Up to 2000 characters over several lines, as typed (models.text.clean_text); a typed
    one that shows nothing is description.empty (the question has its Skip button)."""
    return clean_text(
        description, "description", DESCRIPTION_MAX, required=required, multiline=True
    )


def clean_place(place: str, *, required: bool = True) -> str:
    """Up to 200 characters (models.text.clean_text); a typed one that shows nothing is
    place.empty (the question has its Skip button, or the venue's location)."""
    return clean_text(place, "place", PLACE_MAX, required=required)


# What update_activity cleans as typed: a change to a text that shows nothing is refused.
TYPED_TEXTS: dict[str, Callable[[str], str]] = {
    "title": clean_title,
    "description": clean_description,
    "place": clean_place,
}


def clean_texts(title: str, description: str, place: str) -> tuple[str, str, str]:
    """Title (1-100), description (0-2000) and place (0-200) as stored: the description and
    the place may be left out."""
    return (
        clean_title(title),
        clean_description(description, required=False),
        clean_place(place, required=False),
    )


def check_draft_time(
    field: str, moment: datetime, now: datetime, starts_at: datetime | None = None
) -> None:
    """One of the times of a draft (`starts_at`, `ends_at`, `signup_deadline`) as it is
    typed: in the future, an end after the start, a deadline not after it."""
    if moment <= now:
        raise InvalidInput(field, "starts_at.past")
    if field == "ends_at" and starts_at is not None and moment <= starts_at:
        raise InvalidInput("ends_at", "ends_at.before_start")
    if field == "signup_deadline" and starts_at is not None and moment > starts_at:
        raise InvalidInput("signup_deadline", "signup_deadline.after_start")


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(name, "time.naive", detail="give a timezone-aware time")
    return value.astimezone(UTC)


def check_location(latitude: float | None, longitude: float | None) -> None:
    """Both coordinates within range, or neither; else InvalidInput location.invalid.
    Also for a location shared before the rest of the draft is known."""
    for name, value, limit in (
        ("latitude", latitude, 90),
        ("longitude", longitude, 180),
    ):
        if value is not None and (isinstance(value, bool) or not -limit <= value <= limit):
            raise InvalidInput(name, "location.invalid", detail=f"-{limit}..{limit}")
    if (latitude is None) != (longitude is None):
        raise InvalidInput("latitude", "location.invalid", detail="give both or neither")


def _check_check_in(draft: ActivityDraft, kind: ActivityKind) -> None:
    """The check-in settings: location needs the venue's coordinates, a radius within
    bounds, check-out for volunteer service and tree planting only."""
    radius = draft.check_in_radius_m
    if isinstance(radius, bool) or not isinstance(radius, int):
        raise InvalidInput("check_in_radius_m", "radius.invalid")
    if not CHECK_IN_RADIUS_MIN_M <= radius <= CHECK_IN_RADIUS_MAX_M:
        raise InvalidInput(
            "check_in_radius_m",
            "radius.invalid",
            detail=f"{CHECK_IN_RADIUS_MIN_M}..{CHECK_IN_RADIUS_MAX_M} m",
        )
    if draft.check_in_by_location and draft.latitude is None:
        raise InvalidInput("check_in_by_location", "checkin.location_needs_venue")
    if draft.check_out_required and kind not in SERVICE_KINDS:
        raise InvalidInput("check_out_required", "check_out.not_for_kind")


def _check_cancel_cutoff(cutoff: Any) -> None:
    """A whole number of hours, 0..CANCEL_CUTOFF_MAX_HOURS; else cancel_cutoff.invalid."""
    if isinstance(cutoff, bool) or not isinstance(cutoff, int):
        raise InvalidInput("cancel_cutoff_hours", "cancel_cutoff.invalid")
    if not 0 <= cutoff <= CANCEL_CUTOFF_MAX_HOURS:
        raise InvalidInput("cancel_cutoff_hours", "cancel_cutoff.invalid")


def validate_draft(
    draft: ActivityDraft, now: datetime, *, check_past: bool = True
) -> ActivityDraft:
    """The draft cleaned (stripped text, UTC times, enums), or InvalidInput with the reason."""
    try:
        kind = ActivityKind(draft.kind)
    except ValueError:
        raise InvalidInput(
            "kind", "kind.invalid", detail=f"one of {', '.join(ActivityKind)}"
        ) from None
    try:
        pledge_kind = PledgeKind(draft.pledge_kind)
    except ValueError:
        raise InvalidInput("pledge_kind", "pledge_kind.invalid") from None
    starts_at = _aware(draft.starts_at, "starts_at")
    ends_at = _aware(draft.ends_at, "ends_at")
    if check_past and starts_at <= now:
        raise InvalidInput("starts_at", "starts_at.past")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "ends_at.before_start")
    deadline = draft.signup_deadline
    if deadline is not None:
        deadline = _aware(deadline, "signup_deadline")
        if deadline > starts_at:
            raise InvalidInput("signup_deadline", "signup_deadline.after_start")
    capacity = draft.capacity
    if mode_of(kind) is ActivityMode.expected:
        # Everyone in the audience is expected: seats, deadlines and pledges make no sense.
        if capacity is not None:
            raise InvalidInput("capacity", "capacity.not_for_expected")
        if pledge_kind is not PledgeKind.none:
            raise InvalidInput("pledge_kind", "pledge_kind.not_for_expected")
        deadline = None
    elif capacity is not None:
        capacity = _check_capacity(capacity)
    check_location(draft.latitude, draft.longitude)
    _check_check_in(draft, kind)
    _check_cancel_cutoff(draft.cancel_cutoff_hours)
    title, description, place = clean_texts(draft.title, draft.description, draft.place)
    return replace(
        draft,
        kind=kind,
        title=title,
        description=description,
        place=place,
        starts_at=starts_at,
        ends_at=ends_at,
        signup_deadline=deadline,
        capacity=capacity,
        pledge_kind=pledge_kind,
        latitude=None if draft.latitude is None else float(draft.latitude),
        longitude=None if draft.longitude is None else float(draft.longitude),
    )
