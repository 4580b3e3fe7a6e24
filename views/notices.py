"""How a notice reads: the copy members receive (and the author's preview, which is the
same), the reminder, the line in /notices, and the live figures."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from html import escape, unescape

from babel.numbers import format_decimal
from telegram import InlineKeyboardMarkup

from models.notices import Figures, Notice, NoticeRecipient
from models.org import OrgUnit, unit_display_name
from views.buttons import (
    AckNotice,
    AskWithdraw,
    Button,
    NoticeSheet,
    RefreshFigures,
    RemindNotice,
    SilentPage,
    keyboard,
)
from views.dates import format_when
from views.i18n import t

EXCERPT = 40  # characters of the notice that name it in lists and reminders


def number(value: int, language: str) -> str:
    """1,000 (and 1,000 in Chinese too: 1,000 of 1,000 delivered)."""
    return format_decimal(value, locale="zh_CN" if language == "zh" else "en")


def plain_excerpt(body_html: str) -> str:
    """The first words of a notice, as plain text: what names it in lists and sheets."""
    shown = " ".join(unescape(re.sub(r"<[^>]+>", "", body_html)).split())
    return shown if len(shown) <= EXCERPT else shown[: EXCERPT - 1] + "…"


def notice_excerpt(notice: Notice) -> str:
    """The first words of the notice, escaped for a message, to name it."""
    return escape(plain_excerpt(notice.body_html))


def notice_text(
    notice: Notice, unit: OrgUnit, language: str, zone: tzinfo, *, in_group: bool = False
) -> str:
    """The notice as its recipients read it: the heading, the author's text as typed
    (Telegram HTML), and what to do about it."""
    parts = [
        t(language, "notice.heading", unit=escape(unit_display_name(unit, language))),
        notice.body_html,
    ]
    if notice.ack_required:
        if in_group:
            key = "notice.ack_in_private"
        else:
            key = "notice.ack_by" if notice.ack_deadline is not None else "notice.ack_please"
        deadline = notice.ack_deadline
        when = format_when(deadline.astimezone(zone), language) if deadline else ""
        parts.append(t(language, key, deadline=when))
    return "\n\n".join(parts)


def received_keyboard(
    language: str, notice: Notice, acknowledged_at: datetime | None, zone: tzinfo
) -> InlineKeyboardMarkup | None:
    """Received (收到) under a copy; once pressed, when it was."""
    if not notice.ack_required:
        return None
    if acknowledged_at is None:
        label = t(language, "notice.received_button")
    else:
        when = format_when(acknowledged_at.astimezone(zone), language)
        label = t(language, "notice.received_at", when=when)
    return keyboard([(label, AckNotice(notice.id))])


def reminder_text(notice: Notice, unit: OrgUnit, language: str, zone: tzinfo) -> str:
    deadline = notice.ack_deadline
    key = "notice.reminder_by" if deadline is not None else "notice.reminder"
    return t(
        language,
        key,
        unit=escape(unit_display_name(unit, language)),
        excerpt=notice_excerpt(notice),
        deadline=format_when(deadline.astimezone(zone), language) if deadline else "",
    )


def status_of(
    language: str, notice: Notice, recipient: NoticeRecipient | None, figures: Figures | None
) -> str:
    """One notice's state in /notices: withdrawn, scheduled, the person's own
    acknowledgement, or (for those managing it) how many acknowledged."""
    if notice.withdrawn_at is not None:
        return t(language, "notices.state_withdrawn")
    if notice.sent_at is None:
        return t(language, "notices.state_scheduled")
    if figures is not None and notice.ack_required:
        return t(
            language,
            "notices.state_figures",
            acknowledged=number(figures.acknowledged, language),
            recipients=number(figures.recipients, language),
        )
    if recipient is not None and notice.ack_required:
        done = recipient.acknowledged_at is not None
        return t(language, "notices.state_acknowledged" if done else "notices.state_to_acknowledge")
    return t(language, "notices.state_sent")


def figures_text(
    notice: Notice, unit: OrgUnit, figures: Figures, language: str, zone: tzinfo, now: datetime
) -> str:
    """The live figures: delivery, then acknowledgement."""
    n = lambda value: number(value, language)  # noqa: E731
    lines = [
        t(language, "figures.title", unit=escape(unit_display_name(unit, language))),
        t(language, "figures.excerpt", excerpt=notice_excerpt(notice)),
    ]
    if notice.withdrawn_at is not None:
        lines.append(t(language, "figures.withdrawn"))
    if notice.sent_at is None:
        when = format_when(notice.send_at.astimezone(zone), language)
        lines.append(t(language, "figures.scheduled", when=when))
    else:
        lines.append(
            t(
                language,
                "figures.delivered",
                delivered=n(figures.delivered),
                recipients=n(figures.recipients),
            )
        )
        lines.append(
            t(
                language,
                "figures.detail",
                queued=n(figures.queued),
                failed=n(figures.failed),
                blocked=n(figures.blocked),
            )
        )
        if notice.ack_required:
            share = (
                round(100 * figures.acknowledged / figures.recipients) if figures.recipients else 0
            )
            lines.append(
                t(
                    language,
                    "figures.acknowledged",
                    acknowledged=n(figures.acknowledged),
                    recipients=n(figures.recipients),
                    share=share,
                )
            )
    if notice.ack_deadline is not None:
        when = format_when(notice.ack_deadline.astimezone(zone), language)
        lines.append(t(language, "figures.deadline", deadline=when))
    lines.append(t(language, "figures.updated", when=f"{now.astimezone(zone):%H:%M:%S}"))
    return "\n".join(lines)


def figures_keyboard(language: str, notice: Notice, figures: Figures) -> InlineKeyboardMarkup:
    """Under the live figures: refresh, who has not acknowledged, Remind, the sheet, withdraw."""
    rows: list[list[tuple[str, Button]]] = [
        [(t(language, "figures.refresh_button"), RefreshFigures(notice.id))]
    ]
    live = notice.withdrawn_at is None
    if notice.sent_at is not None and notice.ack_required:
        silent = figures.recipients - figures.acknowledged
        rows[0].append(
            (
                t(language, "figures.silent_button", count=number(silent, language)),
                SilentPage(notice.id, 0),
            )
        )
        if live:
            rows.append([(t(language, "figures.remind_button"), RemindNotice(notice.id))])
    if notice.sent_at is not None:
        rows.append([(t(language, "figures.sheet_button"), NoticeSheet(notice.id))])
    if live:
        rows.append([(t(language, "figures.withdraw_button"), AskWithdraw(notice.id))])
    return keyboard(*rows)
