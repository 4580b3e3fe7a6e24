"""An activity as people read it: its kind with its title, its button in a list, and the
part of its card that is the same for every member (what /new's preview shows before it
is published).

These take an Activity or the ActivityDraft it will be made from: both have the fields.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from models.activities import Activity, ActivityDraft, ActivityKind, ActivityMode, PledgeKind
from models.activities import mode_of as activity_mode
from models.org import OrgUnit, unit_display_name
from views.buttons import short
from views.dates import format_day, format_span, format_when
from views.i18n import LANGUAGES, t
from views.labels import ACTIVITY_KIND_KEYS

DESCRIPTION_SHOWN = 300  # the card is a summary; the calendar file has the whole text
CARD_PLEDGE_KEYS = {
    PledgeKind.saplings: "events.card_pledge_saplings",
    PledgeKind.money: "events.card_pledge_money",
}


def kind_name(kind: ActivityKind | str, language: str) -> str:
    return t(language, ACTIVITY_KIND_KEYS[ActivityKind(kind)])


def begins_with_kind(kind: ActivityKind | str, title: str, language: str) -> bool:
    """Whether the title begins with its kind's name in `language` ("党课：…")."""
    return title.casefold().startswith(kind_name(kind, language).casefold())


def names_its_kind(kind: ActivityKind | str, title: str) -> bool:
    """Whether the title begins with its kind's name, in any language ("党课：…")."""
    return any(begins_with_kind(kind, title, lang) for lang in LANGUAGES)


def kind_title(kind: ActivityKind | str, title: str, language: str) -> str:
    """ "党课：学习二十大精神" (plain text: escape it for HTML): the kind, then the title,
    unless the title begins with the kind already. The one place where a title is
    prefixed with its kind."""
    if names_its_kind(kind, title):
        return title
    return t(language, "activity.kind_title", kind=kind_name(kind, language), title=title)


def list_label(starts_local: datetime, title: str, language: str) -> str:
    """An activity's button in a list: "3月12日 周四 09:00 每月主题党日", so that the
    occurrences of a series (one title) are told apart."""
    day = format_day(starts_local.date(), language)
    return short(f"{day} {starts_local:%H:%M} {title}")


def card_lines(
    language: str, activity: Activity | ActivityDraft, unit: OrgUnit, zone: tzinfo
) -> list[str]:
    """What the card says of the activity itself, the same for every member: its title and
    kind, unit, time, place, sign-up deadline, pledges, description."""
    kind = ActivityKind(activity.kind)
    signup = activity_mode(kind) is ActivityMode.signup
    when = format_span(activity.starts_at, activity.ends_at, zone, language)
    title = escape(activity.title)
    lines = [
        t(language, "events.card_title", title=title, kind=kind_name(kind, language)),
        t(language, "events.card_unit", unit=escape(unit_display_name(unit, language))),
        t(language, "events.card_when", when=when),
    ]
    if activity.place:
        lines.append(t(language, "events.card_place", place=escape(activity.place)))
    if signup and activity.signup_deadline is not None:
        deadline = format_when(activity.signup_deadline.astimezone(zone), language)
        lines.append(t(language, "events.card_deadline", when=deadline))
    pledge = CARD_PLEDGE_KEYS.get(PledgeKind(activity.pledge_kind))
    if signup and pledge is not None:
        lines.append(t(language, pledge))
    if activity.description:
        text = activity.description
        if len(text) > DESCRIPTION_SHOWN:
            text = text[: DESCRIPTION_SHOWN - 1] + "…"
        lines += ["", escape(text)]
    return lines


def seats_line(
    language: str, activity: Activity | ActivityDraft, seats_left: int | None, waiting: int
) -> str | None:
    """The seats of an activity with sign-up (None for organisational life)."""
    if activity_mode(activity.kind) is not ActivityMode.signup:
        return None
    if seats_left is None:
        return t(language, "events.seats_unlimited")
    if seats_left > 0:
        return t(language, "events.seats_left", left=seats_left, capacity=activity.capacity or 0)
    return t(language, "events.seats_full", waiting=waiting)
