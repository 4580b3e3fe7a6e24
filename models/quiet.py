"""Quiet hours: non-urgent messages wait until morning in the branch's time zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def quiet_until(moment: datetime, timezone: str, start: time, end: time) -> datetime | None:
    """When quiet hours that contain `moment` end, or None if `moment` is not in them.

    The window may span midnight (22:00-08:00) or not (13:00-14:00); start == end
    means no quiet hours.
    """
    if start == end:
        return None
    local = moment.astimezone(ZoneInfo(timezone))
    now = local.time()
    spans_midnight = start > end
    quiet = (now >= start or now < end) if spans_midnight else (start <= now < end)
    if not quiet:
        return None
    day = local.date()
    if spans_midnight and now >= start:
        day += timedelta(days=1)
    # Built from the wall clock, so the end is right across a DST change.
    return datetime.combine(day, end, tzinfo=local.tzinfo).astimezone(moment.tzinfo)
