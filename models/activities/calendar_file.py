"""iCalendar files of activities: the card's "Add to calendar" (ics_for) and a member's own
calendar (models.activities.calendar). Both build their events with `calendar_event`.

Times are in UTC; the calendar names the unit's zone in X-WR-TIMEZONE. Each activity's
UID is stable (`activity-{id}@branchbot`), so importing a file again updates the entry.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar

from models.activities.tables import Activity, ActivityStatus


class EventStatus(enum.StrEnum):
    """The STATUS of a calendar event."""

    confirmed = "CONFIRMED"
    tentative = "TENTATIVE"  # on the waitlist: a seat may come
    cancelled = "CANCELLED"  # the activity was cancelled, or the member withdrew


@dataclass(frozen=True)
class CalendarEvent:
    activity: Activity
    status: EventStatus
    # False: the time stays free in the calendar (TRANSP:TRANSPARENT), e.g. leave approved.
    busy: bool = True
    # A line put before the description: the member's status, in their language.
    note: str = ""
    # DTSTAMP: when what the event says last changed (None: the activity's updated_at).
    changed_at: datetime | None = None


def uid_of(activity: Activity) -> str:
    return f"activity-{activity.id}@branchbot"


def calendar_event(item: CalendarEvent) -> icalendar.Event:
    activity = item.activity
    event = icalendar.Event()
    event.add("uid", uid_of(activity))
    event.add("dtstamp", (item.changed_at or activity.updated_at).astimezone(UTC))
    event.add("dtstart", activity.starts_at.astimezone(UTC))
    event.add("dtend", activity.ends_at.astimezone(UTC))
    event.add("summary", activity.title)
    if activity.place:
        event.add("location", activity.place)
    description = "\n\n".join(text for text in (item.note, activity.description) if text)
    if description:
        event.add("description", description)
    if activity.latitude is not None and activity.longitude is not None:
        event.add("geo", (activity.latitude, activity.longitude))
    # Always said: a waitlisted entry that got a seat becomes CONFIRMED when imported again.
    event.add("status", str(item.status))
    if not item.busy:
        event.add("transp", "TRANSPARENT")
    return event


def calendar_file(
    events: Sequence[CalendarEvent],
    timezone: str,
    *,
    name: str | None = None,
    method: str | None = None,
) -> bytes:
    """One iCalendar file of these events."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//branchbot//activities//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-timezone", timezone)
    if name:
        cal.add("x-wr-calname", name)
    if method:
        cal.add("method", method)
    for item in events:
        cal.add_component(calendar_event(item))
    return cal.to_ical()


def ics_for(activity: Activity, timezone: str = "Asia/Shanghai") -> bytes:
    """An iCalendar file with the activity ("Add to calendar"); times in UTC."""
    if activity.status is ActivityStatus.cancelled:
        return calendar_file(
            [CalendarEvent(activity, EventStatus.cancelled)], timezone, method="CANCEL"
        )
    return calendar_file([CalendarEvent(activity, EventStatus.confirmed)], timezone)
