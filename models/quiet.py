"""Quiet hours, in the branch's time zone: what the bot sends on its own then.

- urgent messages (a cancellation today) go at once, as at any hour;
- a card one person acts on (a report to approve, a leave request, make-up study to
  confirm: models.notifications.CARD_KINDS) goes at once too, as its secretary wants it
  promptly, but without a sound: one message to one person, not a broadcast;
- everything else (notices, invitations, reminders, decisions, summaries) waits for the
  end of quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Timing:
    """How a message goes out at a given moment."""

    wait_until: datetime | None  # held by quiet hours until then; None: now
    silent: bool = False  # sent without a sound (disable_notification)


def timing(
    moment: datetime, timezone: str, start: time, end: time, *, urgent: bool, card: bool
) -> Timing:
    """When and how a message goes at `moment`: see the rules above. `card`: a card one
    person acts on."""
    until = None if urgent else quiet_until(moment, timezone, start, end)
    if until is None:
        return Timing(None)
    if card:
        return Timing(None, silent=True)
    return Timing(until)


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
