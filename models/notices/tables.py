"""The notice tables: a notice (通知), who it went to and who acknowledged it (签阅), the
secretaries' live figures messages, and the group chats linked to units."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TelegramId, stored_enum, utcnow
from models.outbox import DeliveryStatus

FILE_ID_MAX = 200
FILE_NAME_MAX = 255
GROUP_TITLE_MAX = 255


def _stored_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    return stored_enum(enum_class, name, length=24)


class Audience(enum.StrEnum):
    """Who a notice is for (Notice.audience)."""

    unit = "unit"  # active members of the unit
    unit_tree = "unit_tree"  # of the unit and every unit below it
    floating = "floating"  # floating members (流动党员) of the unit and below
    activity = "activity"  # signed up for, or expected at, an activity
    activity_absent = "activity_absent"  # absent from an activity (its record)
    not_acknowledged = "not_acknowledged"  # have not acknowledged an earlier notice


class AttachmentKind(enum.StrEnum):
    photo = "photo"
    document = "document"


class Notice(Base):
    """One notice. Scheduled while `sent_at` is None; its recipients are fixed when it is
    sent (the audience of that moment); withdrawn notices are not delivered further."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_unit_created", "org_unit_id", "created_at"),
        # /stats: the notices a scope sent in a period.
        Index("ix_notices_unit_sent", "org_unit_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    author_id: Mapped[TelegramId]
    # The text as Telegram HTML, with the author's formatting (bold, italic, links).
    body_html: Mapped[str] = mapped_column(Text)
    attachment_kind: Mapped[AttachmentKind | None] = mapped_column(
        _stored_enum(AttachmentKind, "notice_attachment")
    )
    attachment_file_id: Mapped[str | None] = mapped_column(String(FILE_ID_MAX))
    attachment_name: Mapped[str | None] = mapped_column(String(FILE_NAME_MAX))
    audience: Mapped[Audience] = mapped_column(_stored_enum(Audience, "notice_audience"))
    audience_activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL")
    )
    audience_notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("notices.id", ondelete="SET NULL")
    )
    ack_required: Mapped[bool] = mapped_column(default=True)
    ack_deadline: Mapped[datetime | None]
    post_to_group: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    send_at: Mapped[datetime]  # now, or the time it was scheduled for
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    recipient_count: Mapped[int] = mapped_column(default=0)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[TelegramId | None]
    last_reminded_at: Mapped[datetime | None]
    # The group chat it was posted to, and the outbox key of that post.
    group_chat_id: Mapped[TelegramId | None]

    def __repr__(self) -> str:
        return f"<Notice {self.id} unit={self.org_unit_id} {self.audience}>"


class NoticeRecipient(Base):
    """One member a notice was sent to: its delivery (the outbox row with `delivery_key`)
    and the acknowledgement. What became of the delivery is copied here (`outcome`,
    `delivered_at`) before the outbox forgets it (models.outbox.prune)."""

    __tablename__ = "notice_recipients"
    __table_args__ = (
        UniqueConstraint("notice_id", "member_id"),
        Index("ix_notice_recipients_member", "member_id", "notice_id"),
        # /stats: copies and acknowledgements of a notice counted from the index alone.
        Index("ix_notice_recipients_notice_ack", "notice_id", "acknowledged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    delivery_key: Mapped[str] = mapped_column(String(160), unique=True)
    outcome: Mapped[DeliveryStatus | None] = mapped_column(
        stored_enum(DeliveryStatus, "notice_delivery_status")
    )
    delivered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<NoticeRecipient n={self.notice_id} m={self.member_id}>"


class FiguresMessage(Base):
    """A secretary's live figures message of a notice, which the scheduler edits in place
    while its figures change (scheduler.jobs.refresh_figures)."""

    __tablename__ = "notice_figures_messages"
    __table_args__ = (UniqueConstraint("notice_id", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    chat_id: Mapped[TelegramId]
    message_id: Mapped[int | None]  # None until the message is sent
    language: Mapped[str] = mapped_column(String(8))
    shown: Mapped[str | None] = mapped_column(String(200))  # the figures it shows, as a key
    opened_at: Mapped[datetime]
    refreshed_at: Mapped[datetime | None]


class GroupLink(Base):
    """A Telegram group linked to a unit by its secretary: notices may be posted there."""

    __tablename__ = "group_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), unique=True
    )
    chat_id: Mapped[TelegramId] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(GROUP_TITLE_MAX))
    linked_by: Mapped[TelegramId]
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<GroupLink unit={self.org_unit_id} chat={self.chat_id}>"
