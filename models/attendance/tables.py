"""The attendance tables: the audit trail of every change, wrong-code attempts, and the
check-in screens the scheduler keeps fresh."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TelegramId, stored_enum

REASON_MAX = 200


def _stored_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    return stored_enum(enum_class, name, length=24)


class AttendanceAction(enum.StrEnum):
    """What one change of the record did (AttendanceChange.action)."""

    checked_in = "checked_in"  # by the member: QR, location or code
    walked_in = "walked_in"  # checked in without being expected or signed up
    roster = "roster"  # the secretary checked the member in from the roster
    present = "present"  # corrections, each with a reason
    absent = "absent"
    excused = "excused"
    checked_out = "checked_out"
    planted = "planted"  # saplings planted
    made_up_reported = "made_up_reported"  # the member says they did 补学
    made_up = "made_up"  # a secretary confirmed it
    made_up_declined = "made_up_declined"
    closed = "closed"  # the record closed at the end: absent where nobody came


class AttendanceChange(Base):
    """One change of one member's attendance at one activity: who, when, what and why."""

    __tablename__ = "attendance_changes"
    __table_args__ = (Index("ix_attendance_changes_activity", "activity_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    action: Mapped[AttendanceAction] = mapped_column(
        _stored_enum(AttendanceAction, "attendance_action")
    )
    # The member's outcome before and after, as views.labels names them (may be None).
    before: Mapped[str | None] = mapped_column(String(24))
    after: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    # The Telegram id of who made the change; None for the bot itself (closing the record).
    changed_by: Mapped[TelegramId | None]
    changed_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<AttendanceChange a={self.activity_id} m={self.member_id} {self.action}>"


class CodeAttempts(Base):
    """Wrong check-in codes in a row, per member: each after the first few waits longer."""

    __tablename__ = "check_in_code_attempts"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime]


class ScreenPurpose(enum.StrEnum):
    check_in = "check_in"
    check_out = "check_out"


class CheckInScreen(Base):
    """A secretary's check-in screen: a photo of the rotating QR code with the live count,
    edited in place by the scheduler until it closes."""

    __tablename__ = "check_in_screens"
    __table_args__ = (Index("ix_check_in_screens_open", "closed_at", "refresh_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    purpose: Mapped[ScreenPurpose] = mapped_column(_stored_enum(ScreenPurpose, "screen_purpose"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # Set once the photo was sent; until then the screen is not refreshed.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    opened_by: Mapped[TelegramId]
    opened_at: Mapped[datetime]
    # When the code shown must be replaced (it expires a while after).
    refresh_due_at: Mapped[datetime]
    # The token shown expires then; and the count shown, so that a change is edited in.
    token_expires_at: Mapped[datetime]
    count_shown: Mapped[int] = mapped_column(Integer, default=0)
    # The screen is refreshed until this (the end of the window), or until closed.
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<CheckInScreen {self.id} a={self.activity_id} {self.purpose}>"
