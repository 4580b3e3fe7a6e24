"""/notify's answers as what they make: the text of a message as Telegram HTML, the
attachment, the draft of the notice, and the notice the preview renders."""

from __future__ import annotations

from datetime import datetime

from telegram import Message, MessageEntity

from handlers.conversation import Data
from models.notices import (
    Attachment,
    AttachmentKind,
    Audience,
    AudienceChoice,
    Notice,
    NoticeDraft,
)

# Formatting Telegram would refuse from a bot, or that names a person: kept as plain text.
DROPPED_ENTITIES = frozenset({MessageEntity.CUSTOM_EMOJI, MessageEntity.TEXT_MENTION})


def html_of(message: Message) -> str:
    """The text or caption as Telegram HTML, the author's formatting kept; what Telegram
    would refuse from a bot (custom emoji) or names a person (mentions without a username)
    is kept as plain text."""
    caption = message.text is None
    entities = message.caption_entities if caption else message.entities
    kept = tuple(e for e in entities if e.type not in DROPPED_ENTITIES)
    if caption:
        copy = Message(
            0, message.date, message.chat, caption=message.caption, caption_entities=kept
        )
        return copy.caption_html or ""
    copy = Message(0, message.date, message.chat, text=message.text, entities=kept)
    return copy.text_html or ""


def choice_of(data: Data) -> AudienceChoice:
    return AudienceChoice(
        Audience(data["audience"]), data.get("activity_id"), data.get("notice_id")
    )


def draft_of(data: Data, send_at: datetime | None = None) -> NoticeDraft:
    """The notice as answered so far."""
    deadline = data.get("deadline")
    return NoticeDraft(
        unit_id=data["unit_id"],
        body_html=data["body"],
        audience=choice_of(data),
        attachment=attachment_of(data),
        ack_required=data.get("ack", True),
        ack_deadline=datetime.fromisoformat(deadline) if deadline else None,
        post_to_group=data.get("group", False),
        send_at=send_at,
    )


def as_notice(draft: NoticeDraft) -> Notice:
    """The draft dressed as a notice, to be rendered exactly as it will be sent."""
    attachment = draft.attachment
    return Notice(
        id=0,
        org_unit_id=draft.unit_id,
        body_html=draft.body_html,
        attachment_kind=attachment.kind if attachment else None,
        attachment_file_id=attachment.file_id if attachment else None,
        attachment_name=attachment.name if attachment else None,
        audience=draft.audience.audience,
        ack_required=draft.ack_required,
        ack_deadline=draft.ack_deadline,
    )


def attachment_of(data: Data) -> Attachment | None:
    found = data.get("attachment")
    if not found:
        return None
    return Attachment(AttachmentKind(found["kind"]), found["file_id"], found.get("name"))
