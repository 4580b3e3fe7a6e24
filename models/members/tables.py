"""The members and memberships tables, their enums, and the limits of their fields."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TelegramId, stored_enum, utcnow
from models.org import OrgUnit


class MemberType(enum.StrEnum):
    regular = "regular"
    # 流动党员: the membership record is held by a home branch elsewhere.
    floating = "floating"
    # Has not declared membership anywhere yet (亮明身份).
    undeclared = "undeclared"


class MembershipKind(enum.StrEnum):
    primary = "primary"  # managed by a branch (or a group in it)
    community = "community"  # 双报到 to the residential community


class MembershipStatus(enum.StrEnum):
    pending = "pending"
    active = "active"
    rejected = "rejected"
    left = "left"
    transferred = "transferred"


class Via(enum.StrEnum):
    invite = "invite"  # the unit's reporting-point link or QR code
    tree = "tree"  # picked from the tree in the bot
    secretary = "secretary"  # entered by a secretary


OPEN_STATUSES = (MembershipStatus.pending, MembershipStatus.active)
_OPEN_SQL = "status IN ('pending', 'active')"
_OPEN_PRIMARY_SQL = f"kind = 'primary' AND {_OPEN_SQL}"

NAME_MAX = 50
HOME_BRANCH_MAX = 100
WORKPLACE_MAX = 100
REASON_MAX = 200


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL once the member is forgotten.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    consent_at: Mapped[datetime | None]
    real_name: Mapped[str | None] = mapped_column(String(NAME_MAX), index=True)  # rosters sort
    phone: Mapped[str | None] = mapped_column(String(16))
    member_type: Mapped[MemberType | None] = mapped_column(stored_enum(MemberType, "member_type"))
    home_branch: Mapped[str | None] = mapped_column(String(HOME_BRANCH_MAX))
    workplace: Mapped[str | None] = mapped_column(String(WORKPLACE_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    forgotten_at: Mapped[datetime | None]
    # Set when Telegram says the user blocked the bot.
    unreachable_at: Mapped[datetime | None] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<Member {self.id} tg={self.telegram_id}>"


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        Index(
            "uq_memberships_open_per_unit",
            "member_id",
            "org_unit_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        Index(
            "uq_memberships_open_primary",
            "member_id",
            unique=True,
            sqlite_where=text(_OPEN_PRIMARY_SQL),
            postgresql_where=text(_OPEN_PRIMARY_SQL),
        ),
        # /stats: the reports and members of the units of a scope, from the index alone.
        Index(
            "ix_memberships_unit_kind_status",
            "org_unit_id",
            "kind",
            "status",
            "member_id",
            "requested_at",
            "decided_at",
        ),
        # Audiences: the active members of a set of units.
        Index("ix_memberships_status_unit", "status", "org_unit_id", "member_id"),
        # The announcement and nudge scans: who became a member since they last looked
        # (with the status first, SQLite's planner takes it over the index above).
        Index("ix_memberships_status_decided", "status", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[MembershipKind] = mapped_column(stored_enum(MembershipKind, "membership_kind"))
    status: Mapped[MembershipStatus] = mapped_column(
        stored_enum(MembershipStatus, "membership_status")
    )
    via: Mapped[Via] = mapped_column(stored_enum(Via, "membership_via"))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[TelegramId | None]
    reject_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    ended_at: Mapped[datetime | None]
    # Who removed or transferred the member; NULL when they left on their own.
    ended_by: Mapped[TelegramId | None]

    # Loaded explicitly (selectinload) or from the identity map, never lazily.
    member: Mapped[Member] = relationship(lazy="raise_on_sql")
    unit: Mapped[OrgUnit] = relationship(lazy="raise_on_sql")

    def __repr__(self) -> str:
        return f"<Membership {self.id} m={self.member_id} u={self.org_unit_id} {self.status}>"
