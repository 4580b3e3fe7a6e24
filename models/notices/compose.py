"""What a notice may be: its text, its attachment, its times. Checked as the author types
each, and again when it is sent (models.notices.lifecycle)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape

from models.errors import InvalidInput
from models.notices.audience import AudienceChoice
from models.notices.tables import FILE_NAME_MAX, AttachmentKind
from models.text import shows_something

# Telegram takes 4,096 characters in a message and 1,024 in a caption (counted in UTF-16);
# the bot adds a heading (the unit's name) and the line asking for acknowledgement.
TEXT_MAX = 3500
CAPTION_TEXT_MAX = 800
# Files are sent on by Telegram's file_id, so size costs the bot nothing; it costs each
# member's phone. The kinds a secretary sends a branch: documents, sheets, slides, images.
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
DOCUMENT_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "wps", "et", "dps", "odt", "ods",
     "odp", "txt", "rtf", "csv", "jpg", "jpeg", "png", "webp"}
)  # fmt: skip
SCHEDULE_AHEAD = timedelta(days=90)
DEADLINE_AHEAD = timedelta(days=90)
_TAG = re.compile(r"<[^>]+>")


def visible_length(body_html: str) -> int:
    """What Telegram counts of a text in HTML: the visible characters, in UTF-16 units."""
    shown = unescape(_TAG.sub("", body_html))
    return len(shown.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Attachment:
    kind: AttachmentKind
    file_id: str
    name: str | None = None  # a document's file name


class TooLong(InvalidInput):
    """The text is longer than a notice (or a caption) may be: the limit and its length."""

    def __init__(self, limit: int, length: int, with_attachment: bool) -> None:
        self.limit = limit
        self.length = length
        reason = "notice.caption_too_long" if with_attachment else "notice.too_long"
        super().__init__("text", reason, detail=f"{length} > {limit}")


def clean_body(body_html: str, attachment: Attachment | None) -> str:
    """The notice's text (Telegram HTML): not empty, and within the limit."""
    body = body_html.strip()
    if not shows_something(unescape(_TAG.sub("", body))):  # spaces or a zero-width one
        raise InvalidInput("text", "notice.empty")
    limit = CAPTION_TEXT_MAX if attachment is not None else TEXT_MAX
    length = visible_length(body)
    if length > limit:
        raise TooLong(limit, length, attachment is not None)
    return body


def check_attachment(
    kind: str, file_id: str, file_name: str | None, size: int | None
) -> Attachment:
    """A photo, or a document of a kind a branch sends, of at most ATTACHMENT_MAX_BYTES."""
    try:
        attachment_kind = AttachmentKind(kind)
    except ValueError:
        raise InvalidInput("attachment", "notice.attachment_kind") from None
    if size is not None and size > ATTACHMENT_MAX_BYTES:
        raise InvalidInput("attachment", "notice.attachment_too_large", detail=str(size))
    name = None
    if attachment_kind is AttachmentKind.document:
        name = (file_name or "").strip()[:FILE_NAME_MAX] or None
        extension = name.rsplit(".", 1)[-1].lower() if name and "." in name else ""
        if extension not in DOCUMENT_EXTENSIONS:
            raise InvalidInput("attachment", "notice.attachment_kind", detail=extension)
    if not file_id:
        raise InvalidInput("attachment", "notice.attachment_kind")
    return Attachment(attachment_kind, file_id, name)


def check_send_at(send_at: datetime, now: datetime) -> None:
    if send_at.tzinfo is None:
        raise InvalidInput("send_at", "time.naive")
    if send_at <= now:
        raise InvalidInput("send_at", "notice.send_at_past")
    if send_at > now + SCHEDULE_AHEAD:
        raise InvalidInput("send_at", "notice.send_at_too_far")


def check_deadline(deadline: datetime, send_at: datetime | None, now: datetime) -> None:
    """An acknowledgement deadline: after the notice goes out, within DEADLINE_AHEAD."""
    if deadline.tzinfo is None:
        raise InvalidInput("ack_deadline", "time.naive")
    start = max(send_at or now, now)
    if deadline <= start:
        raise InvalidInput("ack_deadline", "notice.deadline_past")
    if deadline > start + DEADLINE_AHEAD:
        raise InvalidInput("ack_deadline", "notice.deadline_too_far")


@dataclass(frozen=True)
class NoticeDraft:
    """A notice as composed, before it is sent or scheduled."""

    unit_id: int
    body_html: str
    audience: AudienceChoice
    attachment: Attachment | None = None
    ack_required: bool = True
    ack_deadline: datetime | None = None
    post_to_group: bool = False
    send_at: datetime | None = None  # None: now
