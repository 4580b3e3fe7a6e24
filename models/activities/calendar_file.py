"""The "Add to calendar" iCalendar file of an activity (ics_for)."""

from __future__ import annotations

from datetime import UTC

import icalendar

from models.activities.tables import Activity, ActivityStatus


def ics_for(activity: Activity, timezone: str = "Asia/Shanghai") -> bytes:
    """An iCalendar file with the activity ("Add to calendar"); times in UTC.

    The UID is stable per activity, so importing an edited activity again updates it.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", "-//branchbot//activities//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-timezone", timezone)
    if activity.status is ActivityStatus.cancelled:
        cal.add("method", "CANCEL")
    event = icalendar.Event()
    event.add("uid", f"activity-{activity.id}@branchbot")
    event.add("dtstamp", activity.updated_at.astimezone(UTC))
    event.add("dtstart", activity.starts_at.astimezone(UTC))
    event.add("dtend", activity.ends_at.astimezone(UTC))
    event.add("summary", activity.title)
    if activity.place:
        event.add("location", activity.place)
    if activity.description:
        event.add("description", activity.description)
    if activity.latitude is not None and activity.longitude is not None:
        event.add("geo", (activity.latitude, activity.longitude))
    if activity.status is ActivityStatus.cancelled:
        event.add("status", "CANCELLED")
    cal.add_component(event)
    return cal.to_ical()
